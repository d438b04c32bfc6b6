"""kopf wiring: indexes of owned Deployments/Pods, wake-ups on their events, a reconcile loop per bot.

Each TradingBot gets a daemon that reconciles whenever the bot or one of its children changes (sub-second,
event-driven), when a deadline the planner asked for comes up, and on a slow safety period. Deletion runs
the same reconcile in teardown mode until every component is gone, then kopf releases the finalizer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import urllib.parse
from typing import Any

import kopf

from tradingbot_operator.api import constants as c
from tradingbot_operator.api.constants import Labels
from tradingbot_operator.planner.observed import from_deployment, from_pod
from tradingbot_operator.reconciler.alerting import WebhookSink
from tradingbot_operator.reconciler.context import BotKey, OperatorContext
from tradingbot_operator.reconciler.errors import BotGone, unavailable
from tradingbot_operator.reconciler.kube import Kube
from tradingbot_operator.reconciler.reconcile import ApplyFailed, reconcile

# Drift repair even if nothing happened: forget what was applied and compare every object again (reads; a
# write only where something drifted). TRADINGBOT_RESYNC_SECONDS shortens it for tests.
SAFETY_PERIOD = float(os.environ.get("TRADINGBOT_RESYNC_SECONDS", "300"))
MANAGED = {Labels.MANAGED_BY: Labels.MANAGED_BY_VALUE}
log = logging.getLogger(__name__)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = f"{c.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    ctx = OperatorContext(
        kube=await Kube.connect(), image=os.environ.get("TRADINGBOT_COMPONENT_IMAGE", c.DEFAULT_IMAGE)
    )
    if address := os.environ.get("TRADINGBOT_METRICS_ADDRESS"):
        ctx.metrics.serve(address)
        log.info("serving metrics on http://%s/metrics", address)
    if url := os.environ.get("TRADINGBOT_ALERT_WEBHOOK"):
        ctx.webhook = WebhookSink(url)
        ctx.webhook.start()
        parts = urllib.parse.urlsplit(url)
        log.info("posting alerts to %s://%s/...", parts.scheme, parts.hostname)  # the path may hold a token
    memo.ctx = ctx


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    if getattr(memo, "ctx", None) is not None:
        if memo.ctx.webhook is not None:
            await memo.ctx.webhook.stop()
        await memo.ctx.kube.close()


@kopf.on.probe(id="bots")
def probe_bots(memo: kopf.Memo, **_: Any) -> int:
    return len(memo.ctx.wakeups) if getattr(memo, "ctx", None) else 0


@kopf.index("apps", "v1", "deployments", labels=MANAGED)
def bot_deployments(namespace: str, labels: kopf.Labels, body: kopf.Body, **_: Any) -> dict[BotKey, Any]:
    return {(namespace, labels.get(Labels.INSTANCE, "")): from_deployment(body)}


@kopf.index("v1", "pods", labels=MANAGED)
def bot_pods(namespace: str, labels: kopf.Labels, body: kopf.Body, **_: Any) -> dict[BotKey, Any]:
    return {(namespace, labels.get(Labels.INSTANCE, "")): from_pod(body)}


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED)
@kopf.on.event("v1", "pods", labels=MANAGED)
def wake_owner(namespace: str, labels: kopf.Labels, memo: kopf.Memo, **_: Any) -> None:
    memo.ctx.wake(namespace, labels.get(Labels.INSTANCE))


@kopf.on.event(c.GROUP, c.VERSION, c.PLURAL)
def wake_bot(namespace: str, name: str, memo: kopf.Memo, **_: Any) -> None:
    memo.ctx.wake(namespace, name)


async def _wait(wakeup: asyncio.Event, timeout: float, stopped: kopf.DaemonStopped | None = None) -> None:
    waiters = [asyncio.ensure_future(wakeup.wait())]
    if stopped is not None:
        waiters.append(asyncio.ensure_future(stopped.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter


async def _reconcile_loop(
    ctx: OperatorContext,
    body: kopf.Body,
    deployments: kopf.Index[BotKey, Any],
    pods: kopf.Index[BotKey, Any],
    logger: kopf.Logger,
    *,
    deleting: bool,
    stopped: kopf.DaemonStopped | None = None,
) -> None:
    """Reconcile on every wake-up, deadline or safety period; back off on errors, never spin.

    Runs until stopped (daemon), until the bot is being deleted (the delete handler takes over), or, when
    `deleting`, until the teardown has finished.
    """
    key = (body.metadata["namespace"], body.metadata["name"])
    wakeup = ctx.wakeup(key)
    loop = asyncio.get_running_loop()
    next_resync = loop.time() + SAFETY_PERIOD
    backoff = 1.0
    while not stopped:
        wakeup.clear()
        if loop.time() >= next_resync:
            ctx.forget(key)
            next_resync = loop.time() + SAFETY_PERIOD
        if not deleting and body.metadata.get("deletionTimestamp"):
            return
        timeout = SAFETY_PERIOD if not deleting else 10.0
        try:
            plan = await reconcile(
                ctx, body, list(deployments.get(key, [])), list(pods.get(key, [])), deleting=deleting
            )
        except BotGone:
            logger.info("%s/%s no longer exists; its reconcile loop ends", *key)
            ctx.drop(key)
            return
        except ApplyFailed as error:
            logger.error("%s; retrying in %.0fs", error, backoff)
            timeout, backoff = backoff, min(backoff * 2, 60.0)
        except Exception as error:  # keep the loop alive; the next event or a backoff retries
            # The API server away (kube-apiserver or etcd restarting) is expected: one line, no traceback.
            if (why := unavailable(error)) is not None:
                logger.warning(
                    "reconcile of %s/%s: API server unavailable (%s); retrying in %.0fs", *key, why, backoff
                )
            else:
                logger.exception("reconcile of %s/%s failed; retrying in %.0fs", *key, backoff)
            timeout, backoff = backoff, min(backoff * 2, 60.0)
        else:
            backoff = 1.0
            if deleting and (plan.finished_teardown or not plan.valid):
                return
            if plan.requeue_after is not None:
                timeout = min(timeout, plan.requeue_after)
        await _wait(wakeup, max(timeout, 0.1), stopped)


@kopf.daemon(c.GROUP, c.VERSION, c.PLURAL, cancellation_timeout=10.0)
async def run_bot(
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    memo: kopf.Memo,
    bot_deployments: kopf.Index[BotKey, Any],
    bot_pods: kopf.Index[BotKey, Any],
    logger: kopf.Logger,
    **_: Any,
) -> None:
    await _reconcile_loop(memo.ctx, body, bot_deployments, bot_pods, logger, deleting=False, stopped=stopped)


@kopf.on.delete(c.GROUP, c.VERSION, c.PLURAL)
async def tear_down(
    namespace: str,
    name: str,
    body: kopf.Body,
    memo: kopf.Memo,
    bot_deployments: kopf.Index[BotKey, Any],
    bot_pods: kopf.Index[BotKey, Any],
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Stop components in reverse phase order, waiting for each one's pods to be gone."""
    await _reconcile_loop(memo.ctx, body, bot_deployments, bot_pods, logger, deleting=True)
    logger.info("teardown of %s/%s finished", namespace, name)
    memo.ctx.drop((namespace, name))
