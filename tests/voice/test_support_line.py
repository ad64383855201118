"""The support line as an incident team meets it: each update changes what callers hear, the
number is pointed at the script and put back, and callers who press 1 get the fix by text."""

from __future__ import annotations

import pytest

from tests.voice.conftest import AGENTS, LINE, ORIGINAL_URL, VoiceWorkspace


def open_incident(ws: VoiceWorkspace) -> None:
    result = ws.send(
        "investigating",
        "--incident", "db-outage",
        "--title", "Database outage",
        "--message", "Logins fail for some customers.",
        "--component", "Login",
        "--set", "workaround=The mobile app still works.",
        "--next-update", "30m",
    )  # fmt: skip
    assert result.code == 0, result.output


def test_the_number_plays_each_update_and_gets_its_own_url_back(
    voice_workspace: VoiceWorkspace,
) -> None:
    ws = voice_workspace
    assert ws.number()["voice_url"] == ORIGINAL_URL
    open_incident(ws)
    number = ws.number()
    assert number["voice_url"] == f"{ws.sandbox.base_url('site')}/ivr/db-outage.xml"
    assert number["voice_method"] == "GET"  # a static host answers GET only
    heard = " ".join(ws.call("+14155550199"))
    assert "Logins fail for some customers." in heard
    assert "press 1" in heard
    assert "http" not in heard and "**" not in heard

    result = ws.send("identified", "--incident", "db-outage", "--message", "A disk filled up.")
    assert result.code == 0, result.output
    heard = " ".join(ws.call("+14155550199"))
    assert "A disk filled up." in heard and "Logins fail for some customers." not in heard

    result = ws.send("resolved", "--incident", "db-outage", "--message", "Logins work again.")
    assert result.code == 0, result.output
    number = ws.number()
    assert (number["voice_url"], number["voice_method"]) == (ORIGINAL_URL, "POST")


def test_the_script_is_twiml_a_static_host_can_serve(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    open_incident(ws)
    script = (ws.site / "ivr" / "db-outage.xml").read_text(encoding="utf-8")
    assert '<Gather numDigits="1" method="GET"' in script
    assert f"<Dial>{AGENTS}</Dial>" in script
    assert 'voice="Polly.Joanna" language="en-US"' in script
    callback = (ws.site / "ivr" / "callback.xml").read_text(encoding="utf-8")
    assert "<Hangup/>" in callback
    transcript = ws.sandbox.call(LINE, caller="+14155550199")
    assert ("dial", AGENTS) in [(line.kind, line.text) for line in transcript.lines]


def test_callers_who_press_1_get_the_resolved_update_by_text_once(
    voice_workspace: VoiceWorkspace,
) -> None:
    ws = voice_workspace
    open_incident(ws)
    ws.call("+14155550101", press="1")
    ws.call("+14155550102")  # listens, presses nothing, is put through
    ws.call("+14155550103", press="1")
    result = ws.send("identified", "--incident", "db-outage", "--message", "A disk filled up.")
    assert result.code == 0, result.output
    ws.call("+14155550103", press="1")  # calls again
    ws.call("+14155550104", press="1")  # just before the fix is announced

    result = ws.send("resolved", "--incident", "db-outage", "--message", "Logins work again.")
    assert result.code == 0, result.output

    callers = [c.caller for c in ws.callbacks("db-outage")]
    assert callers == ["+14155550101", "+14155550103", "+14155550104"]
    texted = [to for to, body in ws.texts() if "Logins work again." in body]
    assert sorted(texted) == ["+14155550100", "+14155550101", "+14155550103", "+14155550104"]
    assert not any(to == "+14155550102" for to, _ in ws.texts())

    listed = ws.run("--json", "callbacks", "db-outage").json()
    assert [(c["caller"], c["texted"]) for c in listed["callbacks"]] == [
        ("+14155550101", "sent"),
        ("+14155550103", "sent"),
        ("+14155550104", "sent"),
    ]


def test_re_running_resolved_with_its_key_texts_nobody_again(
    voice_workspace: VoiceWorkspace,
) -> None:
    ws = voice_workspace
    open_incident(ws)
    ws.call("+14155550101", press="1")
    for _ in range(2):
        result = ws.send(
            "resolved", "--incident", "db-outage", "--message", "Fixed.", "--key", "fixed-1"
        )
        assert result.code == 0, result.output
    assert [to for to, body in ws.texts() if "Fixed." in body].count("+14155550101") == 1


def test_withheld_numbers_and_opt_outs_get_no_text(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    open_incident(ws)
    ws.call("anonymous", press="1")
    ws.call("+14155550105", press="1")
    assert ws.run("suppress", "add", "customers-sms", "+14155550105").code == 0
    result = ws.send("resolved", "--incident", "db-outage", "--message", "Fixed.")
    assert result.code == 0, result.output
    assert [c.caller for c in ws.callbacks("db-outage")] == ["+14155550105"]
    assert not [to for to, body in ws.texts() if "Fixed." in body and to != "+14155550100"]


def test_tick_collects_call_backs_between_updates(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    open_incident(ws)
    ws.call("+14155550101", press="1")
    result = ws.run("--json", "tick")
    assert result.code == 0, result.output
    assert result.json()["callbacks"] == [
        {"channel": "support-line", "incident": "db-outage", "caller": "+14155550101"}
    ]
    assert ws.run("--json", "tick").json()["callbacks"] == []  # each caller once


def test_two_open_incidents_are_both_announced(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    open_incident(ws)
    result = ws.send(
        "investigating", "--incident", "mail-delays", "--title", "Mail delays",
        "--message", "Emails arrive late.",
    )  # fmt: skip
    assert result.code == 0, result.output
    heard = " ".join(ws.call("+14155550199"))
    assert "Emails arrive late." in heard and "Logins fail for some customers." in heard

    result = ws.send("resolved", "--incident", "db-outage", "--message", "Logins work again.")
    assert result.code == 0, result.output
    assert ws.number()["voice_url"].endswith("/ivr/mail-delays.xml")  # still an open incident
    heard = " ".join(ws.call("+14155550199"))
    assert "Emails arrive late." in heard and "Logins fail" not in heard
    shown = ws.run("show", "mail-delays")
    assert "still plays this incident's script" in shown.output

    result = ws.send("resolved", "--incident", "mail-delays", "--message", "Mail is on time.")
    assert result.code == 0, result.output
    assert ws.number()["voice_url"] == ORIGINAL_URL


def test_preview_shows_the_spoken_script_and_its_length(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    result = ws.run(
        "preview", "investigating", "--incident", "db-outage", "--title", "Database outage",
        "--message", "Logins fail.", "--next-update", "30m",
    )  # fmt: skip
    assert result.code == 0, result.output
    assert "support-line · voice" in result.output
    assert "seconds of speech" in result.output


def test_check_online_finds_the_number_and_says_what_it_plays(
    voice_workspace: VoiceWorkspace,
) -> None:
    ws = voice_workspace
    result = ws.run("check", "--online")
    assert result.code == 0, result.output
    assert "+15005550006 is a number of this account; it keeps its own voice URL" in result.output
    open_incident(ws)
    result = ws.run("check", "--online")
    assert "plays the script of open incident(s) db-outage" in result.output

    ws.write(number="+15005550099")  # not a number of this account
    result = ws.run("check", "--online")
    assert result.code == 2
    assert "+15005550099 is not a number of this Twilio account" in result.output


def test_call_backs_are_read_across_pages_of_calls_and_events(
    voice_workspace: VoiceWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notify.channels import voice_calls

    monkeypatch.setattr(voice_calls, "PAGE_SIZE", 2)  # Twilio's pages, small: follow next_page_uri
    ws = voice_workspace
    open_incident(ws)
    callers = [f"+1415555011{n}" for n in range(5)]
    for caller in callers:
        ws.call(caller, press="1")
    result = ws.send("resolved", "--incident", "db-outage", "--message", "Fixed.")
    assert result.code == 0, result.output
    assert [c.caller for c in ws.callbacks("db-outage")] == callers
    listed = [r for r in ws.sandbox.requests("twilio") if r.path.endswith("/Calls.json")]
    assert len(listed) == 3  # 5 calls, 2 a page
    assert all(r.query["PageSize"] == ["2"] for r in listed)
