"""Diagnostics never carry secret values: env, args, config documents, copies of specs, Secret objects."""

from __future__ import annotations

import json

import pytest

from tradingbot_operator.plugin.redaction import (
    REDACTED,
    looks_secret,
    redact_args,
    redact_document,
    redact_env,
    redact_object,
    referenced_secrets,
)


@pytest.mark.parametrize(
    "name",
    [
        "API_KEY",
        "kraken-api-key",
        "TRADINGBOT_STORAGE_DSN",
        "db_password",
        "GITHUB_TOKEN",
        "apiSecret",
        "ssh_private",
    ],
)
def test_secret_looking_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["LOG_LEVEL", "POD_NAME", "TRADINGBOT_TRADING_PROFIT_TARGET", "pairs"])
def test_ordinary_names(name: str) -> None:
    assert not looks_secret(name)


def test_env_values_of_secret_names_are_redacted_and_references_kept() -> None:
    env = [
        {"name": "TRADINGBOT_STORAGE_DSN", "value": "postgres://u:hunter2@db/x"},
        {"name": "LOG_LEVEL", "value": "DEBUG"},
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "kraken", "key": "api-key"}}},
        {"name": "EMPTY_TOKEN", "value": ""},
    ]
    assert redact_env(env) == [
        {"name": "TRADINGBOT_STORAGE_DSN", "value": REDACTED},
        {"name": "LOG_LEVEL", "value": "DEBUG"},
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "kraken", "key": "api-key"}}},
        {"name": "EMPTY_TOKEN", "value": REDACTED},
    ]


def test_flag_values_of_secret_names_are_redacted() -> None:
    args = ["--api-token=abc", "--port=8080", "-password=x", "--token", "positional"]
    assert redact_args(args) == [
        f"--api-token={REDACTED}",
        "--port=8080",
        f"-password={REDACTED}",
        "--token",
        "positional",
    ]


def test_config_documents_lose_secret_keys_at_any_depth() -> None:
    doc = {
        "storage": {"dsn": "postgres://x", "path": "/data"},
        "list": [{"api_key": 1}],
        "token_bucket": {"size": 5},
    }
    assert redact_document(doc) == {
        "storage": {"dsn": REDACTED, "path": "/data"},
        "list": [{"api_key": REDACTED}],
        "token_bucket": {"size": 5},
    }


def deployment() -> dict:
    return {
        "kind": "Deployment",
        "metadata": {
            "name": "bot-auth",
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": '{"env": "hunter2"}',
                "tradingbot.dev/last-handled-configuration": '{"env": "hunter2"}',
                "tradingbot.dev/applied-hash": "abc",
            },
        },
        "spec": {
            "template": {
                "metadata": {"annotations": {"tradingbot.dev/restartedAt": "now"}},
                "spec": {
                    "imagePullSecrets": [{"name": "registry"}],
                    "containers": [
                        {
                            "name": "auth",
                            "args": ["--db-password=hunter2"],
                            "env": [{"name": "AUTH_TOKEN", "value": "hunter2"}],
                            "envFrom": [{"secretRef": {"name": "extra"}}],
                        }
                    ],
                    "volumes": [
                        {"name": "credentials", "secret": {"secretName": "bot-paper-credentials"}},
                        {"name": "p", "projected": {"sources": [{"secret": {"name": "projected"}}]}},
                    ],
                },
            }
        },
    }


def test_objects_lose_managed_fields_spec_copies_and_secret_values_everywhere() -> None:
    redacted = redact_object(deployment())
    assert "hunter2" not in json.dumps(redacted)
    assert "managedFields" not in redacted["metadata"]
    assert redacted["metadata"]["annotations"] == {"tradingbot.dev/applied-hash": "abc"}
    assert redacted["spec"]["template"]["metadata"]["annotations"] == {"tradingbot.dev/restartedAt": "now"}
    container = redacted["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "AUTH_TOKEN", "value": REDACTED}]


def test_the_original_object_is_left_alone() -> None:
    original = deployment()
    redact_object(original)
    assert original == deployment()


def test_a_tradingbot_loses_secret_config_keys_and_component_env_values() -> None:
    bot = {
        "kind": "TradingBot",
        "metadata": {"name": "bot"},
        "spec": {
            "exchange": {"mode": "live", "credentialsSecret": "kraken-api"},
            "config": {"storage": {"dsn": "postgres://u:hunter2@db"}},
            "components": [{"name": "trader", "env": [{"name": "WEBHOOK_TOKEN", "value": "hunter2"}]}],
        },
    }
    redacted = redact_object(bot)
    assert "hunter2" not in json.dumps(redacted)
    assert redacted["spec"]["exchange"]["credentialsSecret"] == "kraken-api"  # a name, not a value


def test_a_configmap_document_is_redacted_inside_its_json() -> None:
    config_map = {
        "kind": "ConfigMap",
        "metadata": {"name": "bot-config"},
        "data": {
            "config.json": json.dumps({"storage": {"dsn": "hunter2"}, "system": {"log_level": "INFO"}}),
            "api-key": "hunter2",
            "note.txt": "plain text",
        },
        "binaryData": {"blob": "aHVudGVyMg=="},
    }
    redacted = redact_object(config_map)
    assert "hunter2" not in json.dumps(redacted) and "aHVudGVyMg" not in json.dumps(redacted)
    assert json.loads(redacted["data"]["config.json"])["system"] == {"log_level": "INFO"}
    assert redacted["data"]["note.txt"] == "plain text"


def test_a_secret_passed_in_keeps_only_its_name() -> None:
    secret = {"kind": "Secret", "metadata": {"name": "s", "annotations": {}}, "data": {"k": "aHVudGVyMg=="}}
    assert redact_object(secret) == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}


def test_referenced_secret_names_and_where() -> None:
    bot = {"kind": "TradingBot", "metadata": {"name": "bot"}, "spec": {"exchange": {"mode": "paper"}}}
    pod = {
        "kind": "Pod",
        "metadata": {"name": "bot-auth-1"},
        "spec": {
            "containers": [
                {"name": "c", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "kraken"}}}]}
            ]
        },
    }
    found = referenced_secrets([bot, deployment(), pod])
    assert found == {
        "bot-paper-credentials": [
            "Deployment/bot-auth (volume credentials)",
            "TradingBot/bot (paper account made by the operator)",
        ],
        "extra": ["Deployment/bot-auth (container auth envFrom)"],
        "kraken": ["Pod/bot-auth-1 (container c env K)"],
        "projected": ["Deployment/bot-auth (projected volume p)"],
        "registry": ["Deployment/bot-auth (imagePullSecrets)"],
    }
    live = {
        "kind": "TradingBot",
        "metadata": {"name": "b"},
        "spec": {"exchange": {"mode": "live", "credentialsSecret": "k"}},
    }
    assert referenced_secrets([live]) == {"k": ["TradingBot/b (spec.exchange)"]}
