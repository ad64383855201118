"""A comms lead who writes only `rate_limit` gets that rate, and one who also writes
`concurrency: N` gets no more than N requests in flight: the real CLI against the sandbox's
Twilio, which enforces the same rate and records when each request arrived.

Only bounds that hold on a loaded machine are asserted (never above the rate, never above the
cap, never faster than the rate allows), not how fast a run went.
"""

from __future__ import annotations

from typing import Any

from notify.sandbox.config import channel, config_text
from tests.conftest import Workspace

TITLE = "Checkout errors"


def sms_config(ws: Workspace, count: int, **settings: Any) -> list[str]:
    numbers = [f"+1415555{n:04d}" for n in range(count)]
    sms = channel("twilio", ws.sandbox, to=numbers, **settings)
    ws.write_config(config_text({"customers-sms": sms}, journal=".notify/journal.db"))
    return numbers


def send(ws: Workspace, *extra: str) -> Any:
    result = ws.run("send", "investigating", "--title", TITLE, "--message", "m", *extra, "--json")
    assert result.code == 0, result.output
    return result.json()


def most_overlapping(spans: list[tuple[float, float]]) -> int:
    """The most (start, end) spans open at one instant."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = open_now = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most


def test_rate_limit_alone_paces_the_fan_out_and_never_trips_the_provider(
    workspace: Workspace,
) -> None:
    sb = workspace.sandbox
    sb.set_rate_limit("twilio", 40, 1.0)  # Twilio enforces the same 40/s
    numbers = sms_config(workspace, 40, rate_limit="40/s", concurrency="auto")

    planned = send(workspace, "--dry-run")
    assert planned["fan_out"] == [
        {
            "channel": "customers-sms",
            "deliveries": 40,
            "requests": 40,
            "rate_limit": "40/s",
            "seconds": 1.0,
        }
    ]

    document = send(workspace, "--yes")
    assert document["totals"]["sent"] == 40
    requests = sb.requests("twilio")
    assert sorted(r.form()["To"][0] for r in requests) == sorted(numbers)
    assert {r.status for r in requests} == {201}  # not one 429: the provider's limit held
    assert {d["attempts"] for d in document["deliveries"]} == {1}
    arrivals = sorted(r.at for r in requests)
    # 40 requests at 40/s are spread over 39/40 s at least (a few ms of the sandbox's own
    # scheduling aside): never faster than the rate.
    assert arrivals[-1] - arrivals[0] >= 39 / 40 - 0.05


def test_an_explicit_concurrency_caps_the_requests_in_flight(workspace: Workspace) -> None:
    sb = workspace.sandbox
    latency = 0.1
    sb.set_latency(latency)
    sb.set_rate_limit("twilio", 1000, 1.0)
    sms_config(workspace, 30, rate_limit="1000/s", concurrency=3)

    document = send(workspace, "--yes")

    assert document["totals"]["sent"] == 30
    requests = sb.requests("twilio")
    assert {r.status for r in requests} == {201}
    # Each request was at the provider for `latency` at least before it was answered (`at`).
    spans = [(r.at - latency, r.at) for r in requests]
    assert most_overlapping(spans) <= 3
    # At 1000/s the rate would allow all 30 in 30 ms; three at a time, 100 ms each, they
    # need 10 rounds: the cap, not the rate, is what held them.
    arrivals = sorted(r.at for r in requests)
    assert arrivals[-1] - arrivals[0] >= 9 * latency - 0.01
