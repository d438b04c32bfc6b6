"""Execute a Dockerfile without Docker: each stage in its own rootfs, RUN chrooted, COPY from the context
(.dockerignore applied) or from another stage, the final stage written as an OCI archive.

Like Docker's layer cache, the rootfs after every RUN is kept under a key chained from everything before it
(instructions, build args, the bytes COPY took), so a source change re-runs only what comes after its COPY.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from imagebuild import dockerfile as df
from imagebuild.context import BuildContext
from imagebuild.oci import ImageConfig, write_archive
from imagebuild.rootfs import (
    BaseImage,
    build_mounts,
    copy_tree,
    discard_tree,
    ensure_base,
    log,
    remove_tree,
    run_in,
)

KEEP_SNAPSHOTS = 8  # the newest RUN snapshots kept (about 0.2-0.3 GB each)


@dataclass
class StageState:
    """What a stage has built so far: its rootfs and the image config its instructions set."""

    root: Path
    env: dict[str, str]
    args: dict[str, str] = field(default_factory=dict)
    workdir: str = ""
    user: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    exposed: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    cmd_set_here: bool = False

    @property
    def variables(self) -> dict[str, str]:
        return {**self.args, **self.env}

    def config(self) -> ImageConfig:
        return ImageConfig(
            user=self.user,
            env=[f"{k}={v}" for k, v in self.env.items()],
            entrypoint=self.entrypoint,
            cmd=self.cmd,
            working_dir=self.workdir,
            exposed_ports=self.exposed,
            labels=self.labels,
        )


class Builder:
    def __init__(
        self,
        dockerfile: df.Dockerfile,
        context: BuildContext,
        bases: dict[str, BaseImage],
        cache: Path,
        build_args: dict[str, str],
    ) -> None:
        self.dockerfile, self.context, self.bases, self.cache = dockerfile, context, bases, cache
        self.build_args = build_args
        self.work = cache / "imagebuild" / "work"
        self.snapshots = cache / "imagebuild" / "steps"
        self.trash = cache / "imagebuild" / "trash"
        self.global_args = {}
        for instruction in dockerfile.global_args:
            name, default = df.arg(instruction.text)
            self.global_args[name] = build_args.get(name, default or "")
        self._keys: dict[int, list[str]] = {}

    # --- planning: keys per step, without touching a rootfs ----------------------------------------
    def _start(
        self, stage: df.Stage, configs: dict[int, StageState], keys: dict[int, list[str]]
    ) -> tuple[str, StageState]:
        """The key and config a stage starts from: a base image the builder provides, or an earlier stage."""
        image = df.substitute(stage.base, self.global_args)
        for other in self.dockerfile.stages[: stage.index]:
            if other.name == image:
                parent = keys[other.index][-1] if keys[other.index] else f"stage:{other.index}"
                return f"stage:{parent}", _config_copy(configs[other.index])
        if image not in self.bases:
            raise SystemExit(
                f"FROM {image}: the image builder can only provide {', '.join(sorted(self.bases))} "
                "(or an earlier stage)"
            )
        base = self.bases[image]
        return f"base:{base.identity}", StageState(Path("/nonexistent"), env=dict(base.env), cmd=base.cmd)

    def plan(self) -> tuple[dict[int, list[str]], dict[int, StageState]]:
        """Each stage's step keys and final config, by stage index."""
        keys: dict[int, list[str]] = {}
        configs: dict[int, StageState] = {}
        for stage in self.dockerfile.stages:
            parent, state = self._start(stage, configs, keys)
            keys[stage.index] = []
            for instruction in stage.instructions:
                parent = self._step_key(parent, instruction, state, keys)
                keys[stage.index].append(parent)
                self._apply(instruction, state, effects=False)
            if not keys[stage.index]:
                keys[stage.index].append(parent)
            configs[stage.index] = state
        return keys, configs

    def final_key(self) -> str:
        """The last stage's key: an archive built under this key is up to date (nothing is built)."""
        keys, _ = self.plan()
        return keys[len(self.dockerfile.stages) - 1][-1]

    def _step_key(
        self, parent: str, instruction: df.Instruction, state: StageState, keys: dict[int, list[str]]
    ) -> str:
        # Build args are in every key, as they can change what any later step sees (Docker does the same).
        extra = json.dumps(state.args, sort_keys=True)
        if instruction.keyword == "COPY":
            sources = df.substitute(instruction.text, state.variables).split()[:-1]
            if "from" in instruction.flags:
                extra += keys[self.dockerfile.stage(instruction.flags["from"]).index][-1]
            else:
                extra += self.context.digest(sources)
        return hashlib.sha256(f"{parent}\n{instruction}\n{extra}".encode()).hexdigest()

    # --- instructions --------------------------------------------------------------------------
    def _apply(self, instruction: df.Instruction, state: StageState, effects: bool) -> None:
        """Apply one instruction; with effects=False only its config changes (the rootfs came from cache)."""
        keyword, text, variables = instruction.keyword, instruction.text, state.variables
        if keyword == "ARG":
            name, default = df.arg(text)
            value = self.build_args.get(name)
            if value is None:
                value = (
                    self.global_args.get(name, "") if default is None else df.substitute(default, variables)
                )
            state.args[name] = value
        elif keyword == "ENV":
            for key, value in df.key_values(text, variables):
                state.env[key] = value
        elif keyword == "LABEL":
            state.labels.update(df.key_values(text, variables))
        elif keyword == "USER":
            state.user = df.substitute(text, variables)
        elif keyword == "EXPOSE":
            state.exposed += [p for p in df.exposed_ports(text, variables) if p not in state.exposed]
        elif keyword in ("ENTRYPOINT", "CMD"):
            value = df.command(text)
            argv = value if isinstance(value, list) else ["/bin/sh", "-c", value]
            if keyword == "ENTRYPOINT":
                state.entrypoint = argv
                if not state.cmd_set_here:
                    state.cmd = None  # Docker: a new ENTRYPOINT drops the CMD inherited from the base
            else:
                state.cmd, state.cmd_set_here = argv, True
        elif keyword == "WORKDIR":
            path = df.substitute(text, variables)
            state.workdir = _image_path(state.workdir, path)
            if effects:
                (state.root / state.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif keyword == "RUN" and effects:
            value = df.command(text)
            argv = value if isinstance(value, list) else ["/bin/sh", "-c", value]
            with build_mounts(state.root) as extra:
                run_in(state.root, argv, {**state.args, **extra, **state.env}, state.workdir, state.user)
        elif keyword == "COPY" and effects:
            self._copy(instruction, state)

    def _copy(self, instruction: df.Instruction, state: StageState) -> None:
        words = df.substitute(instruction.text, state.variables).split()
        sources, dest = words[:-1], words[-1]
        chown = instruction.flags.get("chown", "0:0")
        uid, _, gid = chown.partition(":")
        if not (uid.isdigit() and (gid or uid).isdigit()):
            raise SystemExit(f"line {instruction.line}: COPY --chown needs numeric uid:gid, got {chown!r}")
        owner = (int(uid), int(gid or uid))
        target = state.root / _image_path(state.workdir, dest).lstrip("/")
        into_dir = dest.endswith("/") or len(sources) > 1
        if "from" in instruction.flags:
            other = self._stage_root(self.dockerfile.stage(instruction.flags["from"]).index)
            for source in sources:
                src = other / source.lstrip("/")
                if not src.exists():
                    raise SystemExit(f"line {instruction.line}: COPY --from: {source} does not exist")
                if src.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    subprocess.run(["cp", "-a", f"{src}/.", f"{target}/"], check=True)
                    _chown_tree(target, owner)
                else:
                    final = target / src.name if into_dir or target.is_dir() else target
                    final.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, final)
                    os.lchown(final, *owner)
            return
        for source in sources:
            base = self.context.root / source.rstrip("/")
            for rel in self.context.files_under(source):
                src = self.context.root / rel
                if base.is_dir():
                    dst = target / src.relative_to(base)
                else:
                    dst = target / src.name if into_dir else target
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
                os.chown(dst, *owner)

    # --- stages --------------------------------------------------------------------------------
    def _stage_root(self, index: int) -> Path:
        return self.work / f"stage-{index}"

    def _build_stage(self, stage: df.Stage, keys: list[str], configs: dict[int, StageState]) -> StageState:
        parent, state = self._start(stage, configs, {i: k for i, k in self._keys.items()})
        state.root = self._stage_root(stage.index)
        cached = max(
            (
                i
                for i, ins in enumerate(stage.instructions)
                if ins.keyword == "RUN" and self._snapshot(keys[i])
            ),
            default=-1,
        )
        start = time.monotonic()
        if cached >= 0:
            snapshot = self.snapshots / keys[cached]
            copy_tree(snapshot / "rootfs", state.root)
            os.utime(snapshot)  # pruning keeps the most recently used
        elif parent.startswith("stage:"):
            copy_tree(
                self._stage_root(self.dockerfile.stage(df.substitute(stage.base, self.global_args)).index),
                state.root,
            )
        else:
            copy_tree(
                ensure_base(self.bases[df.substitute(stage.base, self.global_args)], self.cache), state.root
            )
        label = stage.name or str(stage.index)
        for i, instruction in enumerate(stage.instructions):
            fresh = i > cached
            if instruction.keyword in ("RUN", "COPY"):
                log(f"[{label}] {'' if fresh else 'cached: '}{str(instruction)[:100]}")
            self._apply(instruction, state, effects=fresh)
            if fresh and instruction.keyword == "RUN":
                self._save(keys[i], state.root)
        log(f"[{label}] done in {time.monotonic() - start:.0f}s")
        return state

    def _snapshot(self, key: str) -> bool:
        return (self.snapshots / key / "complete").exists()

    def _save(self, key: str, root: Path) -> None:
        partial = self.snapshots / f"{key}.partial"
        copy_tree(root, partial / "rootfs")
        (partial / "complete").touch()
        final = self.snapshots / key
        remove_tree(final)
        partial.rename(final)

    def _prune(self) -> None:
        for partial in self.snapshots.glob("*.partial"):
            remove_tree(partial)
        snapshots = sorted(
            (p for p in self.snapshots.iterdir() if (p / "complete").exists()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in snapshots[KEEP_SNAPSHOTS:]:
            discard_tree(old, self.trash)

    def build(self, out: Path) -> str:
        """Build every stage and write the last one to `out`; returns the manifest digest."""
        self._keys, _ = self.plan()
        discard_tree(self.work, self.trash)
        self.work.mkdir(parents=True)
        self.snapshots.mkdir(parents=True, exist_ok=True)
        built: dict[int, StageState] = {}
        try:
            for stage in self.dockerfile.stages:
                built[stage.index] = self._build_stage(stage, self._keys[stage.index], built)
            last = self.dockerfile.stages[-1]
            state = built[last.index]
            log(f"writing {out.name}")
            start = time.monotonic()
            history = [str(i) for i in last.instructions]
            digest = write_archive(
                state.root, state.config(), out, history, created=_created(self.build_args)
            )
            log(f"{out.name}: {out.stat().st_size / 2**20:.0f} MiB in {time.monotonic() - start:.0f}s")
            return digest
        finally:
            discard_tree(self.work, self.trash)
            self._prune()


def _config_copy(state: StageState) -> StageState:
    """A stage built FROM an earlier stage starts with that stage's config (not its ARGs)."""
    return StageState(
        Path("/nonexistent"),
        env=dict(state.env),
        workdir=state.workdir,
        user=state.user,
        labels=dict(state.labels),
        exposed=list(state.exposed),
        entrypoint=state.entrypoint,
        cmd=state.cmd,
    )


def _image_path(workdir: str, path: str) -> str:
    """An absolute path in the image: `path` relative to the WORKDIR (Docker's rule)."""
    return posixpath.normpath(str(PurePosixPath(workdir or "/") / path))


def _chown_tree(path: Path, owner: tuple[int, int]) -> None:
    os.lchown(path, *owner)
    for directory, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(Path(directory) / name, *owner)


def _created(build_args: dict[str, str]) -> str:
    created = build_args.get("CREATED", "")
    return created if created and created != "unknown" else "1970-01-01T00:00:00Z"
