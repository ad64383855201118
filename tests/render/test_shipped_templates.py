"""The shipped templates, rendered for every channel as `notify send` would."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notify.model import Message
from notify.render.formats import build_message
from notify.render.length import sms_length, x_length
from notify.render.marks import MARK_CLOSE, MARK_OPEN
from notify.render.templates import TemplateSet, shipped_templates_dir

NOW = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
SHIPPED = [
    "investigating",
    "identified",
    "monitoring",
    "update",
    "resolved",
    "maintenance-scheduled",
    "maintenance-started",
    "maintenance-completed",
    "reminder",
    "maintenance-reminder",
    "feedback",
]
CHANNELS = {  # type -> (part, format), as the adapters declare them
    "sms": ("short", "plain"),
    "x": ("short", "plain"),
    "mastodon": ("short", "plain"),
    "bluesky": ("short", "plain"),
    "email": ("body", "email"),
    "slack": ("body", "slack"),
    "teams": ("body", "teams"),
    "discord": ("body", "discord"),
    "telegram": ("body", "telegram"),
    "webhook": ("body", "webhook"),
    "site": ("body", "html"),  # its own `site` block: the status site's entry
    "statuspage": ("body", "webhook"),  # its own `statuspage` block
    "voice": ("short", "voice"),  # its own `voice` block: what the support line says
}
TITLE = "Payments API errors"
MESSAGE = (
    "Card payments fail for about a third of checkouts in the EU. Other regions work normally."
)


def minimal(**update: Any) -> dict[str, Any]:
    """What `notify send T --title ... --message ...` gives a template, and nothing more."""
    return {
        "incident": {
            "id": "2026-11-22-payments-api-errors",
            "title": TITLE,
            "status": "investigating",
            "impact": None,
            "components": [],
            "started_at": NOW - timedelta(minutes=85),
            "updates": [],
        },
        "update": {
            "number": 1,
            "status": "investigating",
            "message": MESSAGE,
            "at": NOW,
            "next_update_at": None,
            **update,
        },
        "org": {"name": "Acme Cloud"},
        "vars": {},
        "channel": {"name": "c", "type": "email"},
        "now": NOW,
    }


RICH_VARS = {
    "workaround": "Pay by bank transfer meanwhile.",
    "eta": "2026-11-22T16:00:00Z",
    "compensation": "We will credit 10% of this month's bill.",
    "survey_url": "https://acme.com/survey",
    "window_start": "2026-11-29T22:00:00Z",
    "window_end": "2026-11-29T23:30:00Z",
    "affected": "Customers in the EU",
}


def rich() -> dict[str, Any]:
    ctx = minimal(next_update_at=NOW + timedelta(minutes=30))
    ctx["incident"].update(impact="major", components=["Payments API", "Checkout"])
    ctx["org"] = {
        "name": "Acme Cloud",
        "status_url": "https://status.acme.com",
        "support_email": "support@acme.com",
    }
    ctx["vars"] = dict(RICH_VARS)
    return ctx


@pytest.fixture(scope="module")
def templates() -> TemplateSet:
    return TemplateSet.load([])


def send(templates: TemplateSet, name: str, ctx: dict[str, Any], channel_type: str) -> Message:
    part, fmt = CHANNELS[channel_type]
    ctx = {**ctx, "channel": {"name": f"my-{channel_type}", "type": channel_type}}
    parts = templates.render(name, ctx, channel_type=channel_type, part=part)  # type: ignore[arg-type]
    link = ctx["org"].get("status_url")
    return build_message(parts, fmt, status=None, link=link, org=ctx["org"])


def everything(message: Message) -> str:
    return "\n".join(filter(None, [message.subject, message.text, message.html]))


def test_every_documented_template_ships(templates: TemplateSet) -> None:
    assert set(SHIPPED) <= set(templates.names())
    assert {p.stem for p in shipped_templates_dir().glob("*.j2")} == set(SHIPPED)


def test_each_sets_its_status_and_describes_itself(templates: TemplateSet) -> None:
    statuses = {name: templates.get(name).status for name in SHIPPED}
    assert statuses == {
        "investigating": "investigating",
        "identified": "identified",
        "monitoring": "monitoring",
        "update": None,  # keeps the incident's current status
        "resolved": "resolved",
        "maintenance-scheduled": "scheduled",
        "maintenance-started": "in_progress",
        "maintenance-completed": "completed",
        "reminder": None,  # notify tick's messages leave the incident as it is
        "maintenance-reminder": None,
        "feedback": None,
    }
    for name in SHIPPED:
        assert templates.get(name).description
        assert not templates.get(name).uses_recipient  # rendered once per channel, not per person


@pytest.mark.parametrize("channel_type", sorted(CHANNELS))
@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("build", [minimal, rich], ids=["minimal", "rich"])
def test_renders_for_every_channel(
    templates: TemplateSet, name: str, channel_type: str, build: Any
) -> None:
    message = send(templates, name, build(), channel_type)
    out = everything(message)
    assert message.text.strip()
    assert MARK_OPEN not in out and MARK_CLOSE not in out
    assert "None" not in out and "{{" not in out and "{%" not in out
    assert TITLE in out.replace("&amp;", "&")
    assert "Card payments fail" in message.text
    assert not re.search(r"[a-z][.,][A-Z]", message.text)  # no sentences glued together


def test_minimal_updates_say_when_more_comes(templates: TemplateSet) -> None:
    for name in ("investigating", "identified", "update"):
        text = send(templates, name, minimal(), "email").text
        assert "We will post an update as soon as we know more." in text
        assert "http" not in text  # no status page configured, none invented


def test_rich_updates_name_next_update_status_page_and_workaround(templates: TemplateSet) -> None:
    for name in ("investigating", "identified", "update"):
        text = send(templates, name, rich(), "email").text
        assert "next update by 15:00 UTC at https://status.acme.com" in text
        assert "Pay by bank transfer meanwhile." in text
        assert "Payments API, Checkout" in text
        assert "Customers in the EU" in text
    assert "Impact: Major" in send(templates, "investigating", rich(), "email").text
    assert "Sun 22 Nov 2026, 16:00 UTC" in send(templates, "identified", rich(), "email").text


def test_resolved_thanks_customers_and_says_how_long_it_lasted(templates: TemplateSet) -> None:
    text = send(templates, "resolved", rich(), "email").text
    assert "thank you for your patience" in text
    assert "normally again.\nThe incident lasted 1 hour 25 minutes" in text
    assert "Impact: Major" in text
    assert "We will credit 10% of this month's bill." in text
    assert "https://acme.com/survey" in text
    assert "support@acme.com" in text
    plain = send(templates, "resolved", minimal(), "email").text
    assert "credit" not in plain and "survey" not in plain.lower()
    at_once = minimal()
    at_once["incident"]["started_at"] = NOW  # opened and resolved in one go: no duration
    assert "lasted" not in send(templates, "resolved", at_once, "email").text


def test_maintenance_announces_its_window(templates: TemplateSet) -> None:
    scheduled = send(templates, "maintenance-scheduled", rich(), "sms").text
    assert "Sun 29 Nov 2026, 22:00-23:30 UTC" in scheduled
    started = send(templates, "maintenance-started", rich(), "email").text
    assert "Sun 29 Nov 2026, 23:30 UTC" in started


def test_email_subject_stays_the_same_so_clients_thread_it(templates: TemplateSet) -> None:
    incident = {
        send(templates, n, rich(), "email").subject
        for n in ("investigating", "identified", "monitoring", "update", "resolved")
    }
    assert incident == {"[Acme Cloud] Payments API errors"}
    maintenance = {
        send(templates, n, minimal(), "email").subject
        for n in ("maintenance-scheduled", "maintenance-started", "maintenance-completed")
    }
    assert maintenance == {"[Acme Cloud] Scheduled maintenance: Payments API errors"}


@pytest.mark.parametrize("name", SHIPPED)
def test_short_fits_two_sms_segments_and_one_post(templates: TemplateSet, name: str) -> None:
    text = send(templates, name, rich(), "sms").text
    assert "\n" not in text
    sms = sms_length(text)
    assert sms.detail["encoding"] == "GSM-7"  # no dash or curly quote forcing UCS-2
    assert sms.value <= 2, text
    assert x_length(text).ok, text
    assert text.startswith("Acme Cloud")
    if name == "feedback":  # its one link is the survey
        assert text.endswith("https://acme.com/survey")
    elif name != "maintenance-completed":
        assert text.endswith("https://status.acme.com")


def test_operator_text_stays_literal_in_shipped_templates(templates: TemplateSet) -> None:
    ctx = minimal(message="<!channel> @everyone **urgent** <script>x</script>")
    ctx["incident"]["title"] = "Outage\r\nBcc: everyone@example.com"
    slack = send(templates, "investigating", ctx, "slack")
    assert "<!channel>" not in slack.text and "*urgent*" not in slack.text
    discord = send(templates, "investigating", ctx, "discord")
    assert "@everyone" not in discord.text
    email = send(templates, "investigating", ctx, "email")
    assert email.subject == "[Acme Cloud] Outage Bcc: everyone@example.com"
    assert email.html is not None and "<script>" not in email.html


def test_reminder_tells_the_team_what_is_due_and_how_to_send_it(templates: TemplateSet) -> None:
    ctx = rich()
    ctx["update"]["message"] = ""
    ctx["incident"]["updates"] = [
        {"number": 1, "status": "investigating", "message": "Card payments fail.", "at": NOW}
    ]
    soon = send(templates, "reminder", ctx, "email")
    assert "Due soon" in soon.text and "15:00 UTC" in soon.text
    assert 'The last update (#1, investigating) went out 14:30 UTC: "Card payments fail."' in (
        soon.text
    )
    assert "notify send update --incident 2026-11-22-payments-api-errors" in soon.text
    ctx["vars"] = {"overdue": True}
    late = send(templates, "reminder", ctx, "email")
    assert late.subject == "[Acme Cloud] Overdue: the next update of Payments API errors"
    assert "was due by 15:00 UTC" in late.text


def test_maintenance_reminder_and_feedback(templates: TemplateSet) -> None:
    ctx = rich()
    ctx["maintenance"] = {
        "starts_at": datetime(2026, 11, 22, 15, 30, tzinfo=UTC),
        "ends_at": datetime(2026, 11, 22, 17, 0, tzinfo=UTC),
    }
    reminder = send(templates, "maintenance-reminder", ctx, "sms").text
    assert "Reminder: scheduled maintenance: Payments API errors, Sun 22 Nov 2026, 15:30-17:00" in (
        reminder
    )
    assert "starts in 1 hour" in send(templates, "maintenance-reminder", ctx, "email").text
    feedback = send(templates, "feedback", rich(), "email").text
    assert "Thank you" in feedback and feedback.count("https://") == 1
    assert "https://acme.com/survey" in feedback


def test_maintenance_window_given_by_starts_and_ends_wins_over_vars(
    templates: TemplateSet,
) -> None:
    context = rich()  # its vars carry an older window: --starts/--ends is the one that counts
    context["maintenance"] = {
        "starts_at": datetime(2026, 12, 5, 1, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 12, 5, 3, 0, tzinfo=UTC),
    }
    scheduled = send(templates, "maintenance-scheduled", context, "sms").text
    assert "Sat 5 Dec 2026, 01:00-03:00 UTC" in scheduled
    assert "29 Nov" not in scheduled
    started = send(templates, "maintenance-started", context, "email").text
    assert "Sat 5 Dec 2026, 03:00 UTC" in started
