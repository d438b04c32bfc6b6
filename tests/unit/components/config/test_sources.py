"""Config sources without a cluster: parsing documents, the polling file source (in-place rewrites and
the kubelet's `..data` swap), and the feed that prefers the ConfigMap watch over the mounted file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.waiting import async_wait_until
from tests.unit.components.config.kubelet import KubeletConfigMapDir
from tradingbot_components.config.feed import ConfigFeed
from tradingbot_components.config.manager import ConfigManager, ConfigRejected
from tradingbot_components.config.sources import (
    ConfigMapSource,
    DocumentError,
    FileSource,
    SourceDocument,
    parse_document,
)


def profit(value: float) -> str:
    return json.dumps({"trading": {"profit_target": value}})


def test_parse_document_reads_json_and_yaml_and_names_the_problem() -> None:
    assert parse_document('{"system": {"debug": true}}', name="config.json") == {"system": {"debug": True}}
    assert parse_document("system:\n  debug: true\n", name="config.yaml") == {"system": {"debug": True}}
    assert parse_document("", name="config.yaml") == {}
    with pytest.raises(DocumentError, match=r"config\.json is not valid JSON"):
        parse_document("{", name="config.json")
    with pytest.raises(DocumentError, match="must hold a mapping"):
        parse_document("[1]", name="config.json")


class Collector:
    def __init__(self) -> None:
        self.seen: list[SourceDocument] = []

    async def __call__(self, document: SourceDocument) -> None:
        self.seen.append(document)

    def values(self) -> list[float | None]:
        return [d.document["trading"]["profit_target"] if d.document else None for d in self.seen]


async def until(condition: object, what: str) -> None:
    async def probe() -> bool:
        return bool(condition())  # type: ignore[operator]

    await async_wait_until(probe, timeout=5, what=what)


@dataclass
class Watched:
    path: Path
    sink: Collector
    source: FileSource

    async def polls_pass(self, count: int, what: str) -> None:
        polls = self.source.polls
        await until(lambda: self.source.polls >= polls + count, what)


@pytest.fixture
async def watched(tmp_path: Path) -> AsyncIterator[Watched]:
    """config.json holding profit_target 0.001, watched by a started FileSource polling every 20 ms."""
    path = tmp_path / "config.json"
    path.write_text(profit(0.001))
    sink = Collector()
    source = FileSource(path, sink, interval=0.02)
    assert (await source.read()).document == {"trading": {"profit_target": 0.001}}
    await source.start()
    try:
        yield Watched(path, sink, source)
    finally:
        await source.stop()


async def test_file_source_sees_in_place_rewrites(watched: Watched) -> None:
    watched.path.write_text(profit(0.002))
    await until(lambda: watched.sink.values() == [0.002], "the rewrite")
    watched.path.write_text(profit(0.0031))  # a different size and mtime
    await until(lambda: watched.sink.values() == [0.002, 0.0031], "the second rewrite")


async def test_file_source_sees_the_kubelet_symlink_swap(tmp_path: Path) -> None:
    mount = KubeletConfigMapDir(tmp_path / "mount", {"config.json": profit(0.001)})
    sink = Collector()
    source = FileSource(mount.path("config.json"), sink, interval=0.02)
    await source.start()
    try:
        mount.update({"config.json": profit(0.002)})
        await until(lambda: sink.values() == [0.002], "the ..data swap")
        mount.update({"config.json": profit(0.002)})  # same content, new version: delivered, a no-op later
        await until(lambda: len(sink.seen) == 2, "the second swap")
    finally:
        await source.stop()


async def test_an_unparsable_version_is_reported_once_after_it_settles(watched: Watched) -> None:
    watched.path.write_text("{ not json")
    await until(lambda: len(watched.sink.seen) == 1, "the error")
    await watched.polls_pass(5, "more polls of the same broken version")
    (reported,) = watched.sink.seen
    assert reported.error is not None and "not valid JSON" in reported.error
    watched.path.write_text(profit(0.004))
    await until(lambda: watched.sink.values() == [None, 0.004], "the fixed file")


async def test_a_missing_file_keeps_the_last_good_config(watched: Watched) -> None:
    watched.path.unlink()
    await watched.polls_pass(5, "polls of the missing file")
    assert watched.sink.seen == []
    watched.path.write_text(profit(0.002))
    await until(lambda: watched.sink.values() == [0.002], "the file to come back")


async def test_feed_loads_the_file_and_applies_its_changes(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(profit(0.001))
    manager = ConfigManager(environ={})
    feed = ConfigFeed(manager, file=path, file_interval=0.02)
    await feed.load()
    assert (manager.generation, manager.get("trading.profit_target")) == (1, 0.001)
    await feed.start()
    try:
        path.write_text(profit(0.002))
        await until(lambda: manager.get("trading.profit_target") == 0.002, "the change")
        path.write_text(json.dumps({"trading": {"profit_target": 3}}))
        await until(lambda: not manager.valid, "the rejection")
        assert manager.get("trading.profit_target") == 0.002
    finally:
        await feed.stop()


async def test_feed_fails_the_start_on_an_invalid_or_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"trading": {"profit_target": 3}}))
    with pytest.raises(ConfigRejected, match=r"trading\.profit_target"):
        await ConfigFeed(ConfigManager(environ={}), file=path).load()
    with pytest.raises(ConfigRejected, match="cannot read config file"):
        await ConfigFeed(ConfigManager(environ={}), file=tmp_path / "missing.json").load()


async def test_feed_without_sources_runs_on_defaults() -> None:
    manager = ConfigManager(environ={"TRADINGBOT_SYSTEM_DEBUG": "1"})
    await ConfigFeed(manager).load()
    assert manager.loaded and manager.get("system.debug") is True


class FakeConfigMap:
    """Stands in for the API watch: connected or not, delivering through the feed's sink."""

    origin = "configmap:ns/bot-config"

    def __init__(self, connected: bool) -> None:
        self.connected = connected

    async def read(self) -> SourceDocument:
        return SourceDocument(self.origin + "@1", {"trading": {"profit_target": 0.009}}, generation=4)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def test_the_configmap_wins_and_file_changes_are_ignored_while_it_is_connected(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(profit(0.001))  # a stale mount
    manager = ConfigManager(environ={})
    feed = ConfigFeed(manager, file=path, configmap=("ns", "bot-config"))
    fake = FakeConfigMap(connected=True)
    feed.configmap = fake  # type: ignore[assignment]
    await feed.load()
    assert (manager.generation, manager.get("trading.profit_target")) == (4, 0.009)

    await feed._from_file(SourceDocument("file:x", {"trading": {"profit_target": 0.002}}))
    assert manager.get("trading.profit_target") == 0.009
    fake.connected = False  # the watch is down: the mounted file is all we have
    await feed._from_file(SourceDocument("file:x", {"trading": {"profit_target": 0.002}}))
    assert manager.get("trading.profit_target") == 0.002
    assert feed.status()["configmap:ns/bot-config"] == {"connected": False, "primary": True}


def test_configmap_versions_become_documents_or_errors() -> None:
    async def sink(found: SourceDocument) -> None: ...

    source = ConfigMapSource("bots", "kraken-config", sink)

    def version(data: dict[str, str] | None, annotations: dict[str, str] | None = None) -> SourceDocument:
        raw = {"metadata": {"resourceVersion": "42", "annotations": annotations}, "data": data}
        return source._document(raw)

    good = version({"config.json": profit(0.003)}, {"tradingbot.dev/config-generation": "7"})
    assert (good.origin, good.generation, good.document) == (
        "configmap:bots/kraken-config@42",
        7,
        {"trading": {"profit_target": 0.003}},
    )
    assert version({"config.json": "{}"}, {"tradingbot.dev/config-generation": "seven"}).generation is None
    assert version({"config.json": "{}"}).generation is None
    assert version({"other": "{}"}).error == "configmap:bots/kraken-config has no key 'config.json'"
    assert "not valid JSON" in (version({"config.json": "{"}).error or "")
    assert not source.connected
