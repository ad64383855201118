"""Atlassian Statuspage as a user meets it: one Statuspage incident per notify incident, kept
current with each update, against the sandbox's emulator of the manage API."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from notify.sandbox.credentials import Credentials
from tests.site.conftest import SiteWorkspace

CREDS = Credentials()


def incidents(ws: SiteWorkspace) -> list[dict[str, Any]]:
    return ws.sandbox.posts("statuspage")


def components(ws: SiteWorkspace) -> dict[str, str]:
    emulator = ws.sandbox.emulators["statuspage"]
    return {c["name"]: c["status"] for c in emulator.components.values() if not c["group"]}


def send(ws: SiteWorkspace, *args: str) -> dict[str, Any]:
    result = ws.send(*args, "--to", "hosted-status", "--json")
    assert result.code == 0, result.output
    (delivery,) = result.json()["deliveries"]
    return delivery


def test_one_incident_created_then_updated_with_components_and_impact(
    site_workspace: SiteWorkspace,
) -> None:
    ws = site_workspace
    first = send(
        ws, "investigating", "--incident", "db-1", "--title", "Checkout errors",
        "--message", "Card payments fail.", "--impact", "major",
        "--component", "Checkout", "--component", "Payments API=major_outage",
    )  # fmt: skip
    assert first["status"] == "sent"
    assert components(ws)["Checkout"] == "partial_outage"
    assert components(ws)["Payments API"] == "major_outage"
    send(ws, "identified", "--incident", "db-1", "--message", "A failover went wrong.")
    send(ws, "resolved", "--incident", "db-1", "--message", "Fixed.")
    (incident,) = incidents(ws)
    assert incident["id"] == first["provider_message_id"]
    assert incident["name"] == "Checkout errors"
    assert incident["status"] == "resolved" and incident["impact_override"] == "major"
    assert [u["status"] for u in incident["incident_updates"]] == [
        "resolved", "identified", "investigating",
    ]  # fmt: skip
    assert incident["incident_updates"][-1]["body"].startswith("Card payments fail.")
    assert incident["metadata"]["notify"]["incident"] == "db-1"
    assert set(components(ws).values()) == {"operational"}  # resolved: back to operational
    assert {c["name"] for c in incident["components"]} == {"Checkout", "Payments API"}
    for request in ws.sandbox.requests("statuspage"):
        assert request.headers["authorization"] == f"OAuth {CREDS.statuspage_api_key}"


def test_deliver_notifications_is_passed_on(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    hosted = {"deliver_notifications": False, "rate_limit": "50/s"}
    ws.write(**{"hosted-status": {**_entry(ws), **hosted}})
    send(ws, "investigating", "--title", "Quiet one")
    (incident,) = incidents(ws)
    assert incident["incident_updates"][0]["deliver_notifications"] is False


def test_a_maintenance_window_becomes_a_scheduled_incident(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    send(
        ws, "maintenance-scheduled", "--title", "Database upgrade", "--component", "Payments API",
        "--set", "window_start=2099-12-13T02:00:00Z", "--set", "window_end=2099-12-13T04:00:00Z",
    )  # fmt: skip
    (incident,) = incidents(ws)
    assert incident["status"] == "scheduled" and incident["impact"] == "maintenance"
    assert incident["scheduled_for"] == "2099-12-13T02:00:00Z"
    assert incident["scheduled_until"] == "2099-12-13T04:00:00Z"
    assert components(ws)["Payments API"] == "operational"  # only announced: not yet under way


def test_a_rate_limited_request_is_retried_after_the_wait_statuspage_asks(
    site_workspace: SiteWorkspace,
) -> None:
    ws = site_workspace
    ws.sandbox.fail("statuspage", 429, times=1, retry_after=1)
    delivery = send(ws, "investigating", "--title", "Checkout errors")
    assert delivery["status"] == "sent" and delivery["attempts"] == 2
    statuses = [r.status for r in ws.sandbox.requests("statuspage")]
    assert statuses[0] == 429 and len(incidents(ws)) == 1
    first, second = ws.sandbox.requests("statuspage")[:2]
    assert second.at - first.at >= 0.9  # Retry-After: 1 was honoured


def test_the_adapter_paces_its_own_requests(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    ws.write(**{"hosted-status": {**_entry(ws), "rate_limit": "4/s"}})
    send(ws, "investigating", "--title", "Checkout errors", "--component", "Checkout")
    times = [r.at for r in ws.sandbox.requests("statuspage")]
    assert len(times) == 3  # components, the search for an earlier create, the create
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.2


def test_a_component_missing_on_the_page_is_a_clear_failure(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    ws.write(components=[{"name": "Checkout"}, {"name": "Billing"}])
    result = ws.send("investigating", "--title", "Invoices late", "--component", "Billing",
                     "--to", "hosted-status", "--json")  # fmt: skip
    assert result.code == 1
    (delivery,) = result.json()["deliveries"]
    assert "the page has no component named 'Billing'" in delivery["error"]
    assert delivery["attempts"] == 1  # not retried: it cannot succeed later
    assert incidents(ws) == []


def test_a_wrong_api_key_says_what_to_check(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    ws.write(**{"hosted-status": {**_entry(ws), "api_key": "not-the-key"}})
    result = ws.send("investigating", "--title", "X", "--to", "hosted-status", "--json")
    assert result.code == 1
    (delivery,) = result.json()["deliveries"]
    assert "Could not authenticate" in delivery["error"] and "api_key" in delivery["error"]
    assert "not-the-key" not in result.output  # a secret is never printed


def _entry(ws: SiteWorkspace) -> dict[str, Any]:
    from notify.sandbox.config import channel

    return channel("statuspage", ws.sandbox, rate_limit="50/s")


# -- the emulator refuses what the real API refuses ------------------------------------------------


@pytest.fixture
def api(site_workspace: SiteWorkspace) -> Iterator[httpx.Client]:
    base = site_workspace.sandbox.base_url("statuspage")
    headers = {"Authorization": f"OAuth {CREDS.statuspage_api_key}"}
    with httpx.Client(base_url=f"{base}/v1/pages/{CREDS.statuspage_page_id}", headers=headers) as c:
        yield c


def _component_id(api: httpx.Client, name: str) -> str:
    return next(c["id"] for c in api.get("/components").json() if c["name"] == name)


@pytest.mark.parametrize(
    ("incident", "status", "words"),
    [
        ({"status": "investigating"}, 422, "Name can't be blank"),
        ({"name": "x", "status": "broken"}, 422, "not a valid incident status"),
        ({"name": "x", "impact_override": "huge"}, 422, "Impact override"),
        ({"name": "x", "metadata": {"notify": "flat"}}, 422, "top-level values must be objects"),
        ({"name": "x", "status": "scheduled"}, 422, "scheduled_for and scheduled_until"),
        ({"name": "x", "components": {"nope": "major_outage"}}, 422, "could not be found"),
        ({"name": "x", "body": "x" * 25_001}, 422, "Body is too long"),
        ({"name": "x", "impact": "major"}, 400, "unknown incident field 'impact'"),
        ({"name": "x", "deliver_notifications": "yes"}, 400, "must be a bool"),
    ],
)
def test_the_emulator_refuses_what_the_api_refuses(
    api: httpx.Client, incident: dict[str, Any], status: int, words: str
) -> None:
    answer = api.post("/incidents", json={"incident": incident})
    assert answer.status_code == status
    assert words in str(answer.json()["error"])


def test_the_emulator_wants_oauth_not_bearer(site_workspace: SiteWorkspace) -> None:
    base = site_workspace.sandbox.base_url("statuspage")
    url = f"{base}/v1/pages/{CREDS.statuspage_page_id}/incidents"
    bearer = httpx.get(url, headers={"Authorization": f"Bearer {CREDS.statuspage_api_key}"})
    assert bearer.status_code == 401 and bearer.json() == {"error": "Could not authenticate"}
    other_page = httpx.get(
        f"{base}/v1/pages/otherpage/incidents",
        headers={"Authorization": f"OAuth {CREDS.statuspage_api_key}"},
    )
    assert other_page.status_code == 404


def test_the_emulator_keeps_realtime_and_scheduled_statuses_apart(api: httpx.Client) -> None:
    created = api.post("/incidents", json={"incident": {"name": "x", "status": "identified"}})
    assert created.status_code == 201
    moved = api.patch(
        f"/incidents/{created.json()['id']}", json={"incident": {"status": "in_progress"}}
    )
    assert moved.status_code == 422


def test_the_emulator_applies_component_statuses_and_records_them(api: httpx.Client) -> None:
    checkout = _component_id(api, "Checkout")
    body = {"name": "x", "status": "investigating", "components": {checkout: "partial_outage"}}
    created = api.post("/incidents", json={"incident": body}).json()
    (update,) = created["incident_updates"]
    assert update["affected_components"] == [
        {"code": checkout, "name": "Checkout", "old_status": "operational",
         "new_status": "partial_outage"},
    ]  # fmt: skip
    assert created["impact"] == "major"  # derived from the components, as Statuspage does
    listed = api.get("/incidents", params={"limit": 1}).json()
    assert [i["id"] for i in listed] == [created["id"]]


def test_the_emulator_rate_limits_a_key_to_sixty_requests_a_minute(api: httpx.Client) -> None:
    answers = [api.get("/components").status_code for _ in range(61)]
    assert answers[:60] == [200] * 60
    limited = api.get("/components")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
