"""Argument parsing, kubeconfig resolution and the errors that need no cluster."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from tradingbot_operator.plugin.cli import build_parser, main
from tradingbot_operator.plugin.errors import ExitCode
from tradingbot_operator.plugin.session import connect


def test_cluster_options_work_before_and_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["-n", "bots", "--context", "prod", "status", "kraken", "-o", "json"])
    after = parser.parse_args(["status", "kraken", "-n", "bots", "--context", "prod", "-o", "json"])
    for args in (before, after):
        assert (args.command, args.bot, args.namespace, args.context, args.output) == (
            "status",
            "kraken",
            "bots",
            "prod",
            "json",
        )
    assert parser.parse_args(["list"]).namespace is None


def test_command_defaults_and_aliases() -> None:
    parser = build_parser()
    args = parser.parse_args(["restart", "kraken"])
    assert (args.component, args.wait, args.timeout) == ("all", False, 120.0)
    args = parser.parse_args(["restart", "kraken", "auth", "--wait", "--timeout", "30"])
    assert (args.component, args.wait, args.timeout) == ("auth", True, 30.0)
    assert parser.parse_args(["report", "kraken", "--output", "x.zip"]).command == "report"
    assert parser.parse_args(["ls", "-A"]).all_namespaces
    assert parser.parse_args(["status", "kraken"]).output == "text"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["status"],
        ["frobnicate"],
        ["status", "kraken", "-o", "xml"],
        ["restart", "b", "--timeout", "soon"],
    ],
)
def test_usage_errors_exit_64_never_a_health_code(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == ExitCode.USAGE
    assert "usage: kubectl tradingbot" in capsys.readouterr().err


def test_help_documents_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for word in ("status", "list", "health", "restart", "diagnostics", "exit codes:", "64  usage error"):
        assert word in out
    assert main(["health", "--help"]) == 0
    assert "2   `health`: Unhealthy" in capsys.readouterr().out


def kubeconfig(tmp_path: Path, server: str, namespace: str | None = None) -> Path:
    context = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
    body = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [
            {"name": "main", "context": context},
            {"name": "other", "context": {"cluster": "c", "user": "u"}},
        ],
        "current-context": "main",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(body))
    return path


def test_namespace_comes_from_the_flag_else_the_context_else_default(tmp_path: Path) -> None:
    path = str(kubeconfig(tmp_path, "https://127.0.0.1:1", namespace="bots"))
    assert connect(path).namespace == "bots"
    assert connect(path, namespace="x").namespace == "x"
    assert connect(path, context="other").namespace == "default"
    assert connect(path).server == "https://127.0.0.1:1"


def test_an_unknown_context_lists_the_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(kubeconfig(tmp_path, "https://127.0.0.1:1"))
    assert main(["--kubeconfig", path, "--context", "prod", "list"]) == ExitCode.UNREACHABLE
    assert "context 'prod' not found in the kubeconfig; contexts: main, other" in capsys.readouterr().err


def test_a_missing_kubeconfig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--kubeconfig", str(tmp_path / "nope"), "list"]) == ExitCode.UNREACHABLE
    assert "cannot load the kubeconfig" in capsys.readouterr().err


def test_an_unreachable_server_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        path = str(kubeconfig(tmp_path, f"https://127.0.0.1:{port}"))
        assert main(["--kubeconfig", path, "status", "kraken"]) == ExitCode.UNREACHABLE
    assert f"cannot reach the API server at https://127.0.0.1:{port}" in capsys.readouterr().err
