"""One reconcile of one TradingBot: observe, plan (pure), apply what differs, report.

Observed Deployments and Pods come from kopf's in-memory indexes (no API reads); writes happen only for
objects whose applied hash differs, and status is written only when it changed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes_asyncio.client.exceptions import ApiException

from tradingbot_operator.api.constants import Annotations, Labels
from tradingbot_operator.planner.bot import BotInput, Plan, credentials_secret, plan_bot
from tradingbot_operator.planner.observed import Observed, ObservedDeployment, ObservedPod, group_snapshots
from tradingbot_operator.reconciler.context import BotKey, OperatorContext
from tradingbot_operator.reconciler.drift import covers

log = logging.getLogger(__name__)


async def _credentials(ctx: OperatorContext, body: Mapping[str, Any], owner: dict[str, Any]) -> bool:
    meta = body["metadata"]
    secret, operator_made = credentials_secret(meta["name"], body.get("spec") or {})
    if secret is None:
        return False
    key = (meta["namespace"], secret)
    if key in ctx.credentials:
        return True
    present = await ctx.kube.secret_exists(*key)
    if not present and operator_made:
        labels = {
            Labels.NAME: Labels.NAME_VALUE,
            Labels.INSTANCE: meta["name"],
            Labels.MANAGED_BY: Labels.MANAGED_BY_VALUE,
        }
        await ctx.kube.create_paper_credentials(meta["namespace"], secret, owner, labels)
        present = True
    if present:
        ctx.credentials.add(key)
    return present


async def reconcile(
    ctx: OperatorContext,
    body: Mapping[str, Any],
    deployments: Iterable[ObservedDeployment],
    pods: Iterable[ObservedPod],
    *,
    deleting: bool = False,
) -> Plan:
    meta = body["metadata"]
    key: BotKey = (meta["namespace"], meta["name"])
    started = time.monotonic()
    owner = {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    present = True if deleting else await _credentials(ctx, body, owner)
    observed = group_snapshots(deployments, pods, present, ctx.seen_ready.setdefault(key, {}))
    previous_status = ctx.statuses.get(key, body.get("status") or {})
    bot = BotInput(
        name=meta["name"],
        namespace=meta["namespace"],
        generation=int(meta.get("generation", 1)),
        spec=body.get("spec") or {},
        status=previous_status,
        deleting=deleting,
        uid=meta["uid"],
        restart_request=(meta.get("annotations") or {}).get(Annotations.RESTART_REQUEST),
    )
    plan = plan_bot(bot, observed, ctx.image, datetime.now(UTC))
    writes, failed = 0, None
    if plan.valid:
        try:
            # A bot with a status was reconciled before: its Core objects may exist, read before writing them.
            writes += await _apply(ctx, key, plan, observed, deleting, reread=bool(body.get("status")))
        except ApplyFailed as error:
            failed = error
    for event in plan.events:
        kopf.event(dict(body), type=event.type, reason=event.reason, message=event.message)
    if failed is not None and ctx.apply_errors.get(key) != str(failed):
        kopf.event(dict(body), type="Warning", reason="ApplyFailed", message=str(failed)[:1000])
    ctx.apply_errors[key] = str(failed) if failed else ""
    if plan.status != previous_status:
        await ctx.kube.patch_status(meta["namespace"], meta["name"], plan.status)
        writes += 1
        _report(ctx, key, plan, previous_status)
    ctx.statuses[key] = plan.status
    if plan.clear_restart_request and failed is None:
        await ctx.kube.remove_annotation(meta["namespace"], meta["name"], Annotations.RESTART_REQUEST)
    for action in plan.recovery_actions:
        ctx.metrics.recovery_actions.labels(*key, action.component, action.action).inc()
    elapsed = time.monotonic() - started
    ctx.metrics.reconcile_duration.labels("error" if failed else "ok").observe(elapsed)
    ctx.metrics.apply_writes.inc(writes)
    log.debug("reconciled %s/%s in %.3fs with %d writes", *key, elapsed, writes)
    if failed is not None:
        raise failed
    return plan


def _report(ctx: OperatorContext, key: BotKey, plan: Plan, previous: Mapping[str, Any]) -> None:
    """Metrics and the webhook follow the status the operator just wrote."""
    namespace, name = key
    ctx.metrics.record_status(namespace, name, plan.status)
    old = {(a["time"], a["reason"], a["message"]) for a in previous.get("alerts", [])}
    for alert in plan.status.get("alerts", []):
        if (alert["time"], alert["reason"], alert["message"]) in old:
            continue
        ctx.metrics.alerts.labels(namespace, name, alert["severity"], alert["reason"]).inc()
        if ctx.webhook is not None:
            ctx.webhook.publish({"namespace": namespace, "bot": name, **alert})
    phase = (plan.status.get("startup") or {}).get("phase") or ""
    before = ctx.phase_started.get(key)
    if before is None or before[0] != phase:
        if before is not None and before[0]:
            ctx.metrics.phase_duration.labels(before[0]).observe(time.monotonic() - before[1])
        ctx.phase_started[key] = (phase, time.monotonic())


async def _apply(
    ctx: OperatorContext, key: BotKey, plan: Plan, observed: Observed, deleting: bool, reread: bool = False
) -> int:
    """Apply what differs; one object's failure does not stop the others (it is reported, then retried)."""
    writes = 0
    failures: list[str] = []
    for obj in plan.objects:
        kind, meta = obj["kind"], obj["metadata"]
        wanted = meta["annotations"][Annotations.APPLIED_HASH]
        if kind == "Deployment":
            # A scale by someone else leaves our annotation alone, so compare replicas too.
            live = observed.deployments.get(meta["labels"][Labels.COMPONENT])
            current = live.applied_hash if live and live.replicas == obj["spec"]["replicas"] else None
        else:
            if deleting:
                continue  # Core objects go with the bot through garbage collection
            current = ctx.applied.get((kind, meta["namespace"], meta["name"]))
        if current == wanted:
            continue
        try:
            if reread and kind != "Deployment" and current is None and await _unchanged(ctx, obj):
                # After a restart or the safety resync: the object is as wanted, a read instead of a write.
                ctx.applied[(kind, meta["namespace"], meta["name"])] = wanted
                continue
            await ctx.kube.apply(obj)
        except ApiException as error:
            failures.append(f"{kind}/{meta['name']}: {_reason(error)}")
            continue
        ctx.applied[(kind, meta["namespace"], meta["name"])] = wanted
        writes += 1
    namespace, bot = key
    for component in plan.prune:
        await ctx.kube.delete("Deployment", namespace, f"{bot}-{component}")
        writes += 1
    if failures:
        raise ApplyFailed(failures)
    return writes


async def _unchanged(ctx: OperatorContext, obj: Mapping[str, Any]) -> bool:
    meta = obj["metadata"]
    live = await ctx.kube.get(obj["kind"], meta["namespace"], meta["name"])
    return live is not None and covers(live, obj)


class ApplyFailed(Exception):
    """Some desired objects could not be applied; the message lists each with the API server's reason."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("could not apply " + "; ".join(failures))
        self.failures = failures


def _reason(error: ApiException) -> str:
    try:
        return str(json.loads(error.body).get("message", error.reason))
    except (TypeError, ValueError):
        return f"{error.status} {error.reason}"
