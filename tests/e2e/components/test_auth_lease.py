"""One signer per API key in Kubernetes, on the real API server: auth processes running as the bot's
`<bot>-credentials` ServiceAccount (its Role is what lets them use Leases) with POD_NAMESPACE set race for the
key's Lease. Exactly one holds it and signs; the other never serves and gives up naming the holder. After
the holder is killed with SIGKILL (no release) a newcomer takes the Lease over, but not before it ran out; a
holder stopped with SIGTERM releases it, and the next one takes it at once."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.components.configmaps import apply
from tests.integration.components.process import ComponentProcess, ComponentRunner
from tests.support.cluster import LocalCluster
from tests.support.identities import PodIdentities, grant_component_rbac
from tests.support.sim import SimHandle, start_sim
from tests.support.waiting import wait_until

BOT = "lease"
SIGN = {"path": "/0/private/Balance", "params": {}}


class AuthRace:
    """Auth processes of one bot and one key, each with the credentials identity and its own pod identity."""

    def __init__(
        self,
        cluster: LocalCluster,
        namespace: str,
        components: ComponentRunner,
        sim: SimHandle,
        tmp_path: Path,
    ) -> None:
        self.cluster, self.namespace, self.components = cluster, namespace, components
        grant_component_rbac(cluster, namespace, BOT)
        self.identities = PodIdentities.of(cluster, namespace, BOT, tmp_path / "identities")
        apply(cluster, namespace, f"{BOT}-config", {}, 1)
        self.config = ("--configmap", f"{namespace}/{BOT}-config")
        self.credentials = tmp_path / "credentials"
        self.credentials.mkdir()
        (self.credentials / "api-key").write_text(sim.api_key + "\n")
        (self.credentials / "api-secret").write_text(sim.api_secret + "\n")
        storage_env = {"TRADINGBOT_STORAGE_SQLITE_PATH": str(tmp_path / "storage.db")}
        storage = components.start(
            "storage", *self.config, env={**self.identities.env("storage"), **storage_env}
        )
        storage.wait_ready()
        self.env = {
            **self.identities.env("auth"),
            "TRADINGBOT_ENDPOINTS_STORAGE": storage.url(""),
            "TRADINGBOT_ENDPOINTS_EXCHANGE_REST": sim.url_rest,
        }

    def start(self) -> ComponentProcess:
        auth = self.components.start(
            "auth", *self.config, "--credentials", str(self.credentials), env=self.env
        )
        auth.wait_port()
        return auth

    def lease(self, key_id: str) -> dict[str, Any]:
        found = self.cluster.kubectl(
            "get", "lease", f"tradingbot-auth-{key_id}", "-n", self.namespace, "-o", "json"
        )
        spec: dict[str, Any] = json.loads(found.stdout)["spec"]
        return spec


def identity(process: ComponentProcess) -> str:
    """The holder identity an auth without POD_NAME claims with: host-pid."""
    return f"{socket.gethostname()}-{process.pid}"


def micro_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def signs(auth: ComponentProcess) -> bool:
    reply = auth.post("/v1/sign", SIGN)
    return reply.status == 200 and int(reply.json["nonce"]) > 0


def refused(auth: ComponentProcess) -> bool:
    """Not serving: not ready, and a sign request is turned away."""
    return auth.get("/readyz").status == 503 and auth.post("/v1/sign", SIGN).status == 503


def test_one_auth_holds_the_lease_and_a_newcomer_takes_over_only_after_it_ran_out(
    cluster: LocalCluster, namespace: str, components: ComponentRunner, tmp_path: Path
) -> None:
    sim = start_sim(tmp_path)
    try:
        race = AuthRace(cluster, namespace, components, sim, tmp_path)
        first, second = race.start(), race.start()  # racing for the same Lease

        def a_winner() -> ComponentProcess | None:
            for auth in (first, second):
                if auth.process.poll() is None and auth.get("/readyz").status == 200:
                    return auth
            return None

        winner = wait_until(a_winner, timeout=60, what="one of the two auths to be ready")
        loser = second if winner is first else first
        key_id = winner.get("/v1/key").json["key_id"]
        lease = race.lease(key_id)
        assert lease["holderIdentity"] == identity(winner), lease
        assert signs(winner)

        # The Lease is renewed on the API server while the other never serves, until it gives up.
        renewed = lease["renewTime"]

        def renewed_while_the_loser_is_refused() -> bool:
            assert loser.process.poll() is not None or refused(loser), "the loser served"
            return race.lease(key_id)["renewTime"] != renewed

        wait_until(
            renewed_while_the_loser_is_refused, timeout=30, interval=0.25, what="a renewal of the Lease"
        )
        assert race.lease(key_id)["holderIdentity"] == identity(winner)
        assert loser.wait_exit(timeout=60) == 1  # its claim retries ran out
        errors = [e["message"] for e in loser.logs() if e.get("level") == "ERROR"]
        assert any(
            f"auth '{identity(winner)}' holds Lease {namespace}/tradingbot-auth-{key_id}" in m for m in errors
        ), errors
        assert signs(winner)

        # SIGKILL: no release. The newcomer must wait out the dead holder's Lease, then take it over.
        winner.kill()
        orphaned = race.lease(key_id)
        assert orphaned["holderIdentity"] == identity(winner)
        runs_out = micro_time(orphaned["renewTime"]) + timedelta(seconds=orphaned["leaseDurationSeconds"])
        successor = race.start()
        successor.wait_ready(timeout=60)
        taken = race.lease(key_id)
        assert taken["holderIdentity"] == identity(successor), taken
        assert micro_time(taken["acquireTime"]) >= runs_out, (taken, runs_out)
        assert taken["leaseTransitions"] == orphaned.get("leaseTransitions", 0) + 1
        assert signs(successor)

        # SIGTERM releases the Lease: the next auth takes it at once, with no Lease to wait out.
        assert successor.terminate() == 0
        assert not race.lease(key_id).get("holderIdentity")
        after_release = race.start()
        after_release.wait_ready(timeout=10)  # well under the 15 s a held Lease would make it wait
        assert race.lease(key_id)["holderIdentity"] == identity(after_release)
        assert signs(after_release)
    finally:
        sim.stop()
