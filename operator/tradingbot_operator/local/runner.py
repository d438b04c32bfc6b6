"""The local shell around the operator's planner: one bot as child processes on this machine.

Each turn of the loop is the reconciler's: observe (processes as pods, workloads as Deployments) ->
`plan_bot()` (the operator's pure planner, unchanged) -> apply (the ConfigMap becomes the config file the
children watch, Deployments become processes) -> events and status. Ordering, gating, retries, rollback,
health, recovery, safe mode and alerts are all the planner's; nothing here decides them. Teardown on
`stop()` is the planner's delete: reverse phase order, each phase gone before the next stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from tradingbot_operator.api.constants import Annotations, Labels
from tradingbot_operator.api.status import TradingBotStatus
from tradingbot_operator.local import configsync
from tradingbot_operator.local.alerts import EventSink, LocalEvent, local_event
from tradingbot_operator.local.document import DocumentProblem, LocalBot, load
from tradingbot_operator.local.processes import Pod
from tradingbot_operator.local.report import runner_report, with_rejection
from tradingbot_operator.local.spec import assign_ports, component_names, local_spec
from tradingbot_operator.local.statedir import BotLock, StateDir, write_atomic
from tradingbot_operator.local.workloads import Host, Workload, launch_spec, observe_pod, pod_name
from tradingbot_operator.planner.bot import BotInput, Plan, plan_bot
from tradingbot_operator.planner.observed import group_snapshots
from tradingbot_operator.planner.timefmt import format_time

log = logging.getLogger(__name__)

NAMESPACE = "local"
TICK = 1.0  # the slow safety period; changes of a process wake the loop at once
FILE_POLL = 0.5


class LocalRunner:
    """`await start()`, then the loop runs until `await stop()`; `status` is the planner's last status."""

    def __init__(
        self,
        bot: LocalBot,
        state: StateDir,
        *,
        environ: Mapping[str, str] | None = None,
        watch_file: bool = True,
        grace_period: float = 10.0,
    ) -> None:
        self.bot = bot
        self.state = state
        self.environ = dict(os.environ if environ is None else environ)
        self.watch_file = watch_file
        self.grace_period = grace_period
        self.events = EventSink(bot.name, state.events_file, state.alerts_file)
        self.status: dict[str, Any] = {}
        self.generation = 1
        self.ports: dict[str, int] = {}
        self.workloads: dict[str, Workload] = {}
        self.suspended = bool(bot.spec.get("suspend"))
        self.overrides: dict[str, Any] = {}
        self.restart_request: str | None = None
        self.rejection: str | None = None  # why the file's latest version is not in force
        self.document: dict[str, Any] = {}  # the effective config the components run
        self.config_generation = 0
        self.deleting = False
        self.finished = asyncio.Event()
        self.listeners: list[Callable[[LocalRunner], None]] = []
        self._wake = asyncio.Event()
        self._seen_ready: dict[str, int] = {}
        self._spec: dict[str, Any] = {}
        self._lock = BotLock(state)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._file_signature = _signature(bot.source)
        self._credentials: Path | None = None
        self._respec()

    # -- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the bot's lock (raises AlreadyRunning) and begin reconciling."""
        self.state.create()
        self._lock.acquire()
        for pid in self.state.reap_orphans():
            log.warning("killed %d, a component left running by an earlier run that was killed", pid)
        for stale in (self.state.status_file, self.state.config_file):
            stale.unlink(missing_ok=True)
        self._credentials = (
            self.bot.credentials if self.bot.mode.value == "live" else self.state.paper_credentials()
        )
        self._session = aiohttp.ClientSession()
        self._tasks = [asyncio.create_task(self._loop(), name="local-reconcile")]
        if self.watch_file:
            self._tasks.append(asyncio.create_task(self._watch_file(), name="local-config-file"))
        self._tasks.append(
            asyncio.create_task(configsync.track(self, self._session), name="local-config-generations")
        )

    async def stop(self, timeout: float | None = None) -> bool:
        """Stop every component in reverse phase order; True when all are gone in time (else they are killed)."""
        self.deleting = True
        self.wake()
        clean = True
        try:
            await asyncio.wait_for(self.finished.wait(), timeout)
        except TimeoutError:
            clean = False
            self.kill_all()
            await asyncio.wait_for(self.finished.wait(), 30)
        return clean

    def kill_all(self) -> None:
        for workload in self.workloads.values():
            for pod in workload.live_pods():
                pod.kill()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.kill_all()
        for workload in self.workloads.values():
            for pod in workload.pods:
                await pod.wait_gone(10)
        if self._session is not None:
            await self._session.close()
        self.state.runner_file.unlink(missing_ok=True)
        self._lock.release()

    def wake(self) -> None:
        self._wake.set()

    # -- requests (the dashboard, the control API, the embedding API) -------------------------------

    def request_restart(self, component: str) -> None:
        """Like `kubectl tradingbot restart`: the planner carries it out and clears it."""
        parts = [p for p in (self.restart_request or "").split(",") if p]
        if component not in parts:
            parts.append(component)
        self.restart_request = "all" if "all" in parts else ",".join(parts)
        self.wake()

    def suspend(self, suspended: bool = True) -> None:
        self.suspended = suspended
        self._respec()
        self.wake()

    def set_override(self, path: str, value: Any) -> None:
        """A config value set from Python, on top of the file (validated before it is planned)."""
        candidate = {**self.overrides, path: value}
        spec = local_spec(self.bot, self.ports, self.state.data, suspend=self.suspended, overrides=candidate)
        problem = configsync.invalid(spec)
        if problem:
            raise ValueError(problem)
        self.overrides = candidate
        self._respec()
        self.wake()

    @property
    def report(self) -> dict[str, Any]:
        """What status.json holds: the planner's status plus where each component runs."""
        return runner_report(self)

    def typed_status(self) -> TradingBotStatus:
        return TradingBotStatus.model_validate(self.status or {})

    # -- the loop ------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        try:
            while True:
                plan = self._reconcile(datetime.now(UTC))
                if self.deleting and plan.finished_teardown and not self._live_pods():
                    break
                delay = TICK if plan.requeue_after is None else min(TICK, plan.requeue_after)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                self._wake.clear()
        except Exception:
            log.exception("the local reconcile loop failed; stopping every component")
            self.kill_all()
            raise
        finally:
            self._write_status()
            self.finished.set()

    def _live_pods(self) -> list[Pod]:
        return [p for w in self.workloads.values() for p in w.live_pods()]

    def _reconcile(self, now: datetime) -> Plan:
        observed = group_snapshots(
            [w.observe() for w in self.workloads.values()],
            [observe_pod(p) for w in self.workloads.values() for p in w.live_pods()],
            credentials_present=self._credentials is not None,
            seen_ready=self._seen_ready,
        )
        bot = BotInput(
            name=self.bot.name,
            namespace=NAMESPACE,
            generation=self.generation,
            spec=self._spec,
            status=self.status,
            deleting=self.deleting,
            restart_request=None if self.deleting else self.restart_request,
        )
        plan = plan_bot(bot, observed, "local", now)
        if plan.valid:
            self._apply(plan, now)
        for event in plan.events:
            self.events.emit(local_event(event, now))
        status = with_rejection(plan.status, self.status, self.rejection, self.generation, now)
        if plan.clear_restart_request:
            self.restart_request = None
        if status != self.status:
            self.status = status
            self._write_status()
            for listener in list(self.listeners):
                try:
                    listener(self)
                except Exception:  # a watcher's bug must not stop the bot's reconcile
                    log.exception("status listener %r failed", listener)
        return plan

    def _apply(self, plan: Plan, now: datetime) -> None:
        for obj in plan.objects:
            if obj["kind"] == "ConfigMap":
                self._write_config(obj)
            elif obj["kind"] == "Deployment":
                component = obj["metadata"]["labels"][Labels.COMPONENT]
                workload = self.workloads.get(component)
                if workload is None:
                    self.workloads[component] = Workload(
                        component, obj, rollout_since=now if obj["spec"]["replicas"] else None
                    )
                else:
                    workload.apply(obj, now)
            # Services, RBAC and the NetworkPolicy have no local counterpart: ports and one user stand in;
            # the data claim is the state directory, which outlives the run (storage.sqlite_path points there).
        for component in plan.prune:
            if component in self.workloads:
                self.workloads[component].body["spec"]["replicas"] = 0
        for component, workload in list(self.workloads.items()):
            self._sync_pods(workload)
            workload.pods = [p for p in workload.pods if not p.gone]
            workload.track_progress(now)
            if component in plan.prune and not workload.pods:
                del self.workloads[component]

    def _sync_pods(self, workload: Workload) -> None:
        """The Deployment controller with the Recreate strategy: old pods go before the new one starts."""
        wanted = workload.template_hash
        for pod in workload.current():
            if workload.replicas == 0 or pod.spec.template_hash != wanted:
                pod.terminate()
        if workload.replicas == 0 or workload.current() or workload.live_pods():
            return
        assert self._session is not None
        spec = launch_spec(workload.body, self._host())
        pod = Pod(pod_name(self.bot.name, workload.component, wanted), workload.component, spec, self.wake)
        workload.pods.append(pod)
        pod.start(self._session)

    def _host(self) -> Host:
        return Host(
            config_file=self.state.config_file,
            credentials=self._credentials,
            ports=self.ports,
            logs=self.state.path / "logs",
            runtime=self.state.runtime,
            environ=self.environ,
            grace_period=self.grace_period,
        )

    def _write_config(self, config_map: Mapping[str, Any]) -> None:
        text = config_map["data"]["config.json"]
        generation = int(config_map["metadata"]["annotations"][Annotations.CONFIG_GENERATION])
        if generation == self.config_generation and self.state.config_file.exists():
            return
        write_atomic(self.state.config_file, text + "\n")
        self.document = json.loads(text)
        self.config_generation = generation

    def _write_status(self) -> None:
        with contextlib.suppress(OSError):
            write_atomic(self.state.status_file, json.dumps(self.report, indent=1, sort_keys=True) + "\n")

    # -- the config file -----------------------------------------------------------------------------

    def _respec(self) -> None:
        assign_ports(self.ports, component_names(self.bot.spec))
        spec = local_spec(
            self.bot, self.ports, self.state.data, suspend=self.suspended, overrides=self.overrides
        )
        if spec != self._spec:
            if self._spec:
                self.generation += 1
            self._spec = spec

    def reload(self) -> bool:
        """Read the config file again: a valid version becomes the spec, a broken one is reported and the
        running bot keeps the last good one. True when the new version was taken."""
        try:
            bot = load(self.bot.source, name=self.bot.name, credentials=self.bot.credentials)
        except DocumentProblem as problem:
            text = "; ".join(problem.problems)
            if text != self.rejection:
                self.rejection = text
                self.events.emit(
                    LocalEvent(
                        format_time(datetime.now(UTC)),
                        "Warning",
                        "InvalidSpec",
                        f"config file rejected, still running generation {self.generation}: {text}",
                        severity="warning",
                    )
                )
            self.wake()
            return False
        if bot.mode != self.bot.mode:
            self.rejection = "exchange.mode cannot change while the bot runs; stop it and run it again"
            self.wake()
            return False
        self.rejection = None
        self.bot = bot
        self._respec()
        self.wake()
        return True

    async def _watch_file(self) -> None:
        while True:
            await asyncio.sleep(FILE_POLL)
            signature = _signature(self.bot.source)
            if signature != self._file_signature:
                self._file_signature = signature
                if signature is not None:
                    self.reload()


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
