"""One request to an adapter, made safe: a Receipt for each delivery it carries, whatever happens.

An exception, a hung adapter or a wrong answer becomes a failed Receipt that says whether a retry
may help; only cancellation (Ctrl-C) passes through.
"""

from __future__ import annotations

import asyncio
import logging
from traceback import format_exception

from notify.config.model import ChannelConfig
from notify.delivery.jobs import Job
from notify.model import BatchItem, Receipt
from notify.secrets import redact

log = logging.getLogger("notify.delivery.dispatch")  # one logger for the whole fan-out

_SAFETY_MARGIN = 5.0  # adapters apply `timeout` themselves; this catches one that doesn't


async def send_one(job: Job, attempt: int) -> Receipt:
    """`job` sent by its channel's adapter (attempt 1, 2, ...)."""
    ctx = job.context(attempt)
    config = job.channel
    try:
        # asyncio.timeout, unlike wait_for, runs the request in this task: no task per request.
        async with asyncio.timeout(config.timeout + _SAFETY_MARGIN):
            receipt = await config.adapter.send(job.message, job.recipient, job.thread, ctx)
    except Exception as exc:  # CancelledError is not an Exception: Ctrl-C passes through
        return receipt_for_exception(exc, config)
    if not isinstance(receipt, Receipt):
        return Receipt(
            ok=False,
            error=f"internal error in {config.type} adapter: send returned "
            f"{type(receipt).__name__}, not a Receipt",
        )
    return receipt


async def send_batch(jobs: list[Job], attempt: int) -> list[Receipt]:
    """One request for `jobs` (one channel's); one receipt per job, whatever the adapter did."""
    config = jobs[0].channel
    ctx = jobs[0].context(attempt)
    items = [BatchItem(j.message, j.recipient, j.thread, j.key) for j in jobs]
    try:
        async with asyncio.timeout(config.timeout + _SAFETY_MARGIN):
            receipts = await config.adapter.send_batch(items, ctx)
    except Exception as exc:  # CancelledError is not an Exception: Ctrl-C passes through
        return [receipt_for_exception(exc, config)] * len(jobs)
    if (
        not isinstance(receipts, list)
        or len(receipts) != len(jobs)
        or not all(isinstance(r, Receipt) for r in receipts)
    ):
        count = len(receipts) if isinstance(receipts, list) else type(receipts).__name__
        bug = Receipt(
            ok=False,
            error=f"internal error in {config.type} adapter: send_batch returned "
            f"{count} receipts for {len(jobs)} deliveries",
        )
        return [bug] * len(jobs)
    return receipts


def receipt_for_exception(exc: Exception, config: ChannelConfig) -> Receipt:
    """Network trouble is worth another try; anything else is a bug in the adapter."""
    import httpx

    detail = redact(" ".join(str(exc).split())) or type(exc).__name__  # one line, as printed
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Receipt(ok=False, error=f"timed out after {config.timeout:g} s", retryable=True)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return Receipt(ok=False, error=f"invalid request: {detail}")
    if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
        return Receipt(ok=False, error=f"could not connect: {detail}", retryable=True)
    if isinstance(exc, httpx.TransportError | OSError):
        return Receipt(ok=False, error=f"connection dropped: {detail}", retryable=True)
    # The traceback is for -v; its text can quote a credential like any error message.
    log.debug("%s adapter raised:\n%s", config.type, redact("".join(format_exception(exc))))
    return Receipt(
        ok=False,
        error=f"internal error in {config.type} adapter: {type(exc).__name__}: {detail}",
    )


def silent_failure(job: Job, receipt: Receipt) -> str:
    """The error of a failed receipt that gives none."""
    code = f" (HTTP {receipt.status_code})" if receipt.status_code else ""
    return f"the {job.channel.type} adapter reported a failure without saying why{code}"
