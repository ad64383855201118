"""Twilio Voice in the sandbox: the account's number, calls played from TwiML, their events.

Driven as the voice adapter (or curl) drives Twilio: numbers looked up and pointed at a call
script on the sandbox's static site host, then calls placed the way a phone would, and the
Calls and Events lists read back page by page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from notify.sandbox import Credentials, Sandbox
from notify.sandbox.twilio import TwilioEmulator

CREDS = Credentials()
AUTH = (CREDS.twilio_account_sid, CREDS.twilio_auth_token)
NUMBER = "+15005550006"

ANNOUNCEMENT = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather numDigits="1" method="GET" action="callback.xml" timeout="5">
    <Say voice="Polly.Joanna" language="en-US">Acme Cloud status line. Checkout is failing
      for some customers. Press 1 for a text message when this is fixed.</Say>
  </Gather>
  <Dial><Number>+15005550010</Number></Dial>
</Response>
"""
CALLBACK = "<Response><Say>Thank you. We will text you.</Say><Hangup/></Response>"


def api(sb: Sandbox, suffix: str) -> str:
    return f"{sb.base_url('twilio')}/2010-04-01/Accounts/{CREDS.twilio_account_sid}{suffix}"


async def the_number(http: httpx.AsyncClient, sb: Sandbox) -> dict[str, Any]:
    found = await http.get(
        api(sb, "/IncomingPhoneNumbers.json"), params={"PhoneNumber": NUMBER}, auth=AUTH
    )
    assert found.status_code == 200
    (number,) = found.json()["incoming_phone_numbers"]
    return dict(number)


async def point_at(http: httpx.AsyncClient, sb: Sandbox, url: str, method: str = "GET") -> None:
    number = await the_number(http, sb)
    updated = await http.post(
        api(sb, f"/IncomingPhoneNumbers/{number['sid']}.json"),
        data={"VoiceUrl": url, "VoiceMethod": method},
        auth=AUTH,
    )
    assert updated.status_code == 200, updated.text


def call_script(tmp_path: Path, sb: Sandbox, **files: str) -> str:
    """Write ivr/<name>.xml files into a site folder the sandbox serves; the ivr/ URL."""
    (tmp_path / "ivr").mkdir()
    for name, text in files.items():
        (tmp_path / "ivr" / f"{name}.xml").write_text(text, encoding="utf-8")
    return f"{sb.serve_site(tmp_path)}/ivr"


async def read_all(http: httpx.AsyncClient, sb: Sandbox, url: str, key: str) -> list[Any]:
    """Every item of a Twilio list, following next_page_uri as a client does."""
    items: list[Any] = []
    next_url: str | None = url
    while next_url is not None:
        page = (await http.get(next_url, auth=AUTH)).json()
        items.extend(page[key])
        next_url = page["next_page_uri"] and sb.base_url("twilio") + page["next_page_uri"]
    return items


# -- the account's numbers ------------------------------------------------------------------


async def test_the_sandbox_number_is_listed_fetched_and_pointed_at_a_script(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    number = await the_number(http, sandbox)
    assert number["sid"].startswith("PN") and len(number["sid"]) == 34
    assert number["friendly_name"] == "(500) 555-0006"
    assert (number["voice_url"], number["voice_method"]) == (
        "https://demo.twilio.com/welcome/voice/",
        "POST",
    )
    assert number["capabilities"]["voice"] is True and number["capabilities"]["sms"] is True
    one = api(sandbox, f"/IncomingPhoneNumbers/{number['sid']}.json")
    assert (await http.get(one, auth=AUTH)).json() == number

    updated = await http.post(
        one, data={"VoiceUrl": "https://status.acme.example/ivr/db-1.xml", "VoiceMethod": "GET"},
        auth=AUTH,
    )  # fmt: skip
    assert updated.status_code == 200
    assert updated.json()["voice_url"] == "https://status.acme.example/ivr/db-1.xml"
    assert updated.json()["voice_method"] == "GET"
    assert updated.json()["date_updated"]
    fetched = (await http.get(one, auth=AUTH)).json()
    assert fetched["voice_url"] == "https://status.acme.example/ivr/db-1.xml"

    by_name = await http.get(
        api(sandbox, "/IncomingPhoneNumbers.json"),
        params={"FriendlyName": "(500) 555-0006"},
        auth=AUTH,
    )
    assert [n["sid"] for n in by_name.json()["incoming_phone_numbers"]] == [number["sid"]]
    other = await http.get(
        api(sandbox, "/IncomingPhoneNumbers.json"), params={"PhoneNumber": "+14155550100"},
        auth=AUTH,
    )  # fmt: skip
    assert other.json()["incoming_phone_numbers"] == []

    sandbox.reset()  # the number's voice URL is back to the seed's
    assert (await the_number(http, sandbox))[
        "voice_url"
    ] == "https://demo.twilio.com/welcome/voice/"


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"VoiceMethod": "PUT"}, 21403),
        ({"VoiceUrl": "ftp://status.acme.example/ivr.xml"}, 21402),
        ({"VoiceUrl": "/ivr/db-1.xml"}, 21402),
        ({"VoiceFallbackUrl": "not a url"}, 21402),
    ],
)
async def test_a_bad_update_is_refused_as_twilio_refuses_it(
    sandbox: Sandbox, http: httpx.AsyncClient, form: dict[str, str], code: int
) -> None:
    number = await the_number(http, sandbox)
    one = api(sandbox, f"/IncomingPhoneNumbers/{number['sid']}.json")
    refused = await http.post(one, data=form, auth=AUTH)
    assert refused.status_code == 400
    assert refused.json()["code"] == code
    assert refused.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert (await http.get(one, auth=AUTH)).json() == number  # nothing changed


async def test_credentials_and_unknown_sids(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    listing = api(sandbox, "/IncomingPhoneNumbers.json")
    for auth in (None, (CREDS.twilio_account_sid, "wrong-token")):
        denied = await http.get(listing, auth=auth)
        assert denied.status_code == 401 and denied.json()["code"] == 20003
    unknown = await http.get(api(sandbox, f"/IncomingPhoneNumbers/PN{'0' * 32}.json"), auth=AUTH)
    assert unknown.status_code == 404 and unknown.json()["code"] == 20404
    no_call = await http.get(api(sandbox, f"/Calls/CA{'0' * 32}/Events.json"), auth=AUTH)
    assert no_call.status_code == 404 and no_call.json()["code"] == 20404
    too_big = await http.get(listing, params={"PageSize": 1001}, auth=AUTH)
    assert too_big.status_code == 400


async def test_numbers_page_with_next_page_uri(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    twilio = sandbox.emulators["twilio"]
    assert isinstance(twilio, TwilioEmulator)
    added = {twilio.voice.add_number(f"+1415555010{n}") for n in range(4)}
    first = await http.get(
        api(sandbox, "/IncomingPhoneNumbers.json"), params={"PageSize": 2}, auth=AUTH
    )
    page = first.json()
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 2, 0, 1)
    assert page["previous_page_uri"] is None
    assert "PageToken=" in page["next_page_uri"]
    everything = await read_all(
        http,
        sandbox,
        api(sandbox, "/IncomingPhoneNumbers.json?PageSize=2"),
        "incoming_phone_numbers",
    )
    sids = [n["sid"] for n in everything]
    assert len(sids) == 5 and len(set(sids)) == 5 and added < set(sids)
    starred = await http.get(
        api(sandbox, "/IncomingPhoneNumbers.json"), params={"PhoneNumber": "555010*"}, auth=AUTH
    )
    assert len(starred.json()["incoming_phone_numbers"]) == 4


# -- calls, played as Twilio plays them ---------------------------------------------------------


async def test_a_caller_who_presses_1_reaches_the_callback_document_by_get(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    ivr = call_script(tmp_path, sandbox, INC=ANNOUNCEMENT, callback=CALLBACK)
    await point_at(http, sandbox, f"{ivr}/INC.xml")

    transcript = await sandbox.call_async(NUMBER, caller="+14155550199", press="1")

    assert [(line.kind, line.text) for line in transcript.lines] == [
        ("fetch", f"GET {ivr}/INC.xml → 200"),
        ("say", "Acme Cloud status line. Checkout is failing for some customers. "
                "Press 1 for a text message when this is fixed."),
        ("press", "1"),
        ("fetch", f"GET {ivr}/callback.xml → 200"),
        ("say", "Thank you. We will text you."),
        ("hangup", ""),
    ]  # fmt: skip
    # The static host received Twilio's parameters in the query string, signed.
    first, second = sandbox.requests("site")
    assert (first.method, first.path) == ("GET", "/site/ivr/INC.xml")
    assert first.query["CallSid"] == [transcript.call_sid]
    assert first.query["From"] == ["+14155550199"] and first.query["To"] == [NUMBER]
    assert first.query["CallStatus"] == ["ringing"]
    assert second.query["Digits"] == ["1"] and second.query["CallStatus"] == ["in-progress"]
    signed = f"{ivr}/callback.xml?{urlencode({k: v[0] for k, v in second.query.items()})}"
    expected = hmac.new(CREDS.twilio_auth_token.encode(), signed.encode(), hashlib.sha1)
    assert second.headers["x-twilio-signature"] == base64.b64encode(expected.digest()).decode()

    events_url = api(sandbox, f"/Calls/{transcript.call_sid}/Events.json")
    events = await read_all(http, sandbox, events_url, "events")
    assert [e["request"]["url"] for e in events] == [f"{ivr}/INC.xml", f"{ivr}/callback.xml"]
    assert "digits" not in events[0]["request"]["parameters"]
    pressed = events[1]["request"]
    assert pressed["method"] == "GET"
    assert pressed["parameters"]["digits"] == "1"
    assert pressed["parameters"]["call_sid"] == transcript.call_sid
    assert pressed["parameters"]["from"] == "+14155550199"
    assert events[1]["response"]["response_code"] == 200
    assert events[1]["response"]["response_body"] == CALLBACK
    assert events[1]["response"]["content_type"] == "application/xml"


async def test_a_caller_who_presses_nothing_is_put_through(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    ivr = call_script(tmp_path, sandbox, INC=ANNOUNCEMENT)
    await point_at(http, sandbox, f"{ivr}/INC.xml")

    transcript = await sandbox.call_async(NUMBER)

    kinds = [(line.kind, line.text) for line in transcript.lines]
    assert kinds[2:] == [
        ("wait", "no key pressed in 5 s"),
        ("dial", "+15005550010"),
        ("hangup", ""),
    ]
    call = (await http.get(api(sandbox, f"/Calls/{transcript.call_sid}.json"), auth=AUTH)).json()
    assert (call["from"], call["to"], call["direction"]) == ("+14155550123", NUMBER, "inbound")
    assert call["status"] == "completed"
    assert call["phone_number_sid"] == (await the_number(http, sandbox))["sid"]
    assert call["subresource_uris"]["events"].endswith(f"/Calls/{transcript.call_sid}/Events.json")
    assert int(call["duration"]) >= 5
    events_url = sandbox.base_url("twilio") + call["subresource_uris"]["events"]
    events = await read_all(http, sandbox, events_url, "events")
    assert len(events) == 1 and "digits" not in events[0]["request"]["parameters"]


async def test_calls_list_newest_first_filtered_and_paged(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    ivr = call_script(tmp_path, sandbox, INC=ANNOUNCEMENT, callback=CALLBACK)
    await point_at(http, sandbox, f"{ivr}/INC.xml")
    placed = [
        (await sandbox.call_async(NUMBER, caller=f"+1415555020{n}", press="1" if n % 2 else None))
        for n in range(5)
    ]
    listing = api(sandbox, "/Calls.json?To=%2B15005550006&StartTime%3E=2020-01-01T00:00:00Z")
    calls = await read_all(http, sandbox, f"{listing}&PageSize=2", "calls")
    assert [c["sid"] for c in calls] == [t.call_sid for t in reversed(placed)]
    first = (await http.get(f"{listing}&PageSize=2", auth=AUTH)).json()
    assert "StartTime%3E=2020-01-01" in first["next_page_uri"]  # the filters are kept
    calls_url = api(sandbox, "/Calls.json")
    from_one = await http.get(calls_url, params={"From": "+14155550203"}, auth=AUTH)
    assert [c["sid"] for c in from_one.json()["calls"]] == [placed[3].call_sid]
    future = await http.get(calls_url, params={"StartTime>": "2999-01-01"}, auth=AUTH)
    assert future.json()["calls"] == [] and future.json()["next_page_uri"] is None
    bad = await http.get(calls_url, params={"StartTime>": "yesterday"}, auth=AUTH)
    assert bad.status_code == 400


async def test_redirect_and_a_static_host_that_only_answers_get(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    ivr = call_script(
        tmp_path,
        sandbox,
        start="<Response><Say>One moment.</Say>"
        '<Redirect method="GET">next.xml</Redirect></Response>',
        next='<Response><Pause length="2"/><Redirect>start.xml</Redirect></Response>',
    )
    await point_at(http, sandbox, f"{ivr}/start.xml")

    transcript = await sandbox.call_async(NUMBER)

    # Redirect's method is POST unless it says GET: the static host refuses a POST (405).
    assert [(line.kind, line.text) for line in transcript.lines] == [
        ("fetch", f"GET {ivr}/start.xml → 200"),
        ("say", "One moment."),
        ("fetch", f"GET {ivr}/next.xml → 200"),
        ("pause", "2 s"),
        ("fetch", f"POST {ivr}/start.xml → 405"),
        ("error", "11200: HTTP retrieval failure: 405"),
        ("say", "We are sorry, an application error has occurred. Goodbye."),
        ("hangup", ""),
    ]


async def test_a_redirect_loop_ends_after_ten_documents(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    ivr = call_script(tmp_path, sandbox, loop='<Response><Redirect method="GET"/></Response>')
    await point_at(http, sandbox, f"{ivr}/loop.xml")
    transcript = await sandbox.call_async(NUMBER)
    assert sum(line.kind == "fetch" for line in transcript.lines) == 10
    assert transcript.lines[-3].kind == "error"


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ("<Response><Say>unclosed</Response>", "12100: Document parse failure"),
        ("<html><body>It works!</body></html>", "12100: Document parse failure: root is <html>"),
    ],
)
async def test_a_document_that_is_not_twiml_is_an_application_error(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path, script: str, problem: str
) -> None:
    ivr = call_script(tmp_path, sandbox, INC=script)
    await point_at(http, sandbox, f"{ivr}/INC.xml")
    transcript = await sandbox.call_async(NUMBER)
    kinds = [line.kind for line in transcript.lines]
    assert kinds == ["fetch", "error", "say", "hangup"]
    assert transcript.lines[1].text.startswith(problem)
    assert transcript.said() == ["We are sorry, an application error has occurred. Goodbye."]
    (event,) = (
        await http.get(api(sandbox, f"/Calls/{transcript.call_sid}/Events.json"), auth=AUTH)
    ).json()["events"]
    assert event["response"]["response_body"] == script


async def test_the_control_endpoint_places_a_call_without_credentials(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    ivr = call_script(tmp_path, sandbox, INC=ANNOUNCEMENT, callback=CALLBACK)
    await point_at(http, sandbox, f"{ivr}/INC.xml", method="GET")
    control = f"{sandbox.base_url('twilio')}/_sandbox/calls"
    answered = await http.post(control, json={"to": NUMBER, "from": "+14155550111", "press": "1"})
    assert answered.status_code == 200
    body = answered.json()
    assert body["call_sid"].startswith("CA") and body["from"] == "+14155550111"
    assert {"kind": "press", "text": "1"} in body["lines"]
    unknown = await http.post(control, json={"to": "+14155550100"})
    assert unknown.status_code == 404 and "+15005550006" in unknown.json()["error"]
    bad = await http.post(control, json={"to": NUMBER, "press": "12"})
    assert bad.status_code == 400


# -- from another thread, and from the command line ---------------------------------------------


def test_notify_sandbox_call_prints_the_call_step_by_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from notify.cli import run

    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "ivr").mkdir()
    (tmp_path / "ivr" / "INC.xml").write_text(ANNOUNCEMENT, encoding="utf-8")
    (tmp_path / "ivr" / "callback.xml").write_text(CALLBACK, encoding="utf-8")
    with Sandbox() as sb:
        ivr = f"{sb.serve_site(tmp_path)}/ivr"
        number = httpx.get(api(sb, "/IncomingPhoneNumbers.json"), auth=AUTH).json()
        sid = number["incoming_phone_numbers"][0]["sid"]
        httpx.post(
            api(sb, f"/IncomingPhoneNumbers/{sid}.json"),
            data={"VoiceUrl": f"{ivr}/INC.xml", "VoiceMethod": "GET"},
            auth=AUTH,
        )
        assert sb.call(NUMBER).lines[-2].kind == "dial"  # Sandbox.call, from this thread

        code = run(["sandbox", "call", NUMBER, "--press", "1", "--sandbox", sb.url])
        out = capsys.readouterr().out
        assert code == 0
        lines = out.splitlines()
        assert lines[0].startswith("Call CA") and lines[0].endswith("+14155550123 → +15005550006")
        assert f"  fetch    GET {ivr}/callback.xml → 200" in lines
        assert "  press    1" in lines
        assert "  hangup" in lines
        assert "  say      “Acme Cloud status line." in out
        assert all(len(line) <= 80 for line in lines if "fetch" not in line)
        assert "\x1b[" not in out

        for args, field in [
            (["4155550006"], "NUMBER"),
            ([NUMBER, "--press", "11"], "--press"),
            (["+14155550100"], "NUMBER"),
        ]:
            assert run(["sandbox", "call", *args, "--sandbox", sb.url]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and field in err, err
    assert run(["sandbox", "call", NUMBER, "--sandbox", sb.url]) == 2  # nobody listening now
    err = capsys.readouterr().err
    assert "--sandbox" in err and "notify sandbox" in err and err.count("\n") == 1
    assert urlsplit(sb.url).netloc in err
