"""The sms channel: Twilio Messages, one message per recipient, errors by Twilio code."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from notify.channels.base import (
    ChannelCheckError,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.sms import SmsChannel
from notify.channels.testing import delivery_context, mock_client

SID = "AC" + "a1" * 16
TOKEN = "twilio-auth-token-very-secret"
SERVICE = "MG" + "b2" * 16
BASE = "https://twilio.test"

Handler = Callable[[httpx.Request], httpx.Response]


def make_ctx(client: httpx.AsyncClient, number: int = 1) -> DeliveryContext:
    return delivery_context(
        client,
        incident={"id": "inc-1", "title": "Payments API errors"},
        update={"number": number, "status": "investigating"},
        org={"name": "Acme Cloud"},
        delivery_key=f"dk-{number}",
    )


def sms(**settings: Any) -> SmsChannel:
    base: dict[str, Any] = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "from": "+15005550006",
        "to": ["+14155550100"],
        "max_segments": 4,
        "base_url": BASE,
    }
    return SmsChannel("customers-sms", {**base, **settings})


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        n = len(self.requests)
        return httpx.Response(201, json={"sid": f"SM{n:032x}", "status": "queued"})

    def forms(self) -> list[dict[str, str]]:
        return [{k: v[0] for k, v in parse_qs(r.content.decode()).items()} for r in self.requests]


async def send(
    ch: SmsChannel, handler: Handler, to: str = "+14155550100", number: int = 1
) -> Receipt:
    async with mock_client(handler) as client:
        msg = Message(text=f"Acme Cloud: update {number} on Payments API errors.")
        return await ch.send(msg, Recipient(to), ThreadRef(), make_ctx(client, number))


async def test_a_message_is_a_form_post_with_basic_auth() -> None:
    fake = FakeTwilio()
    ch = sms(status_callback="https://hooks.acme.example/twilio")
    receipt = await send(ch, fake)

    assert receipt.ok and receipt.provider_message_id == f"SM{1:032x}"
    assert receipt.thread_data == {}
    (request,) = fake.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert fake.forms() == [
        {
            "To": "+14155550100",
            "From": "+15005550006",
            "Body": "Acme Cloud: update 1 on Payments API errors.",
            "StatusCallback": "https://hooks.acme.example/twilio",
        }
    ]


async def test_a_messaging_service_sends_instead_of_a_number() -> None:
    fake = FakeTwilio()
    await send(sms(**{"from": None, "messaging_service_sid": SERVICE}), fake)
    form = fake.forms()[0]
    assert form["MessagingServiceSid"] == SERVICE and "From" not in form


async def test_every_update_is_a_standalone_message_sms_cannot_thread() -> None:
    fake = FakeTwilio()
    receipts = [await send(sms(), fake, number=n) for n in (1, 2, 3)]
    assert all(r.ok and r.thread_data == {} for r in receipts)
    assert len({r.provider_message_id for r in receipts}) == 3
    assert [f["Body"].split(":")[1].strip() for f in fake.forms()] == [
        "update 1 on Payments API errors.",
        "update 2 on Payments API errors.",
        "update 3 on Payments API errors.",
    ]


def twilio_error(status: int, code: int, message: str) -> Handler:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return lambda request: httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("status", "code", "words", "retryable"),
    [
        (400, 21211, "write it in E.164", False),
        (400, 21610, "replied STOP", False),
        (400, 21408, "Geo permissions", False),
        (401, 20003, "check account_sid and auth_token", False),
        (429, 20429, "backs off and retries", True),
        (500, 20500, "a later retry may succeed", True),
        (400, 21999, "twilio.com/docs/errors/21999", False),
    ],
)
async def test_twilio_errors_say_what_to_check(
    status: int, code: int, words: str, retryable: bool
) -> None:
    receipt = await send(sms(), twilio_error(status, code, "Twilio says no"))
    assert not receipt.ok
    assert receipt.retryable is retryable
    assert receipt.retry_after is None  # Twilio sends no Retry-After for Messages: back off
    assert receipt.status_code == status
    assert receipt.error is not None
    assert receipt.error.startswith(f"Twilio error {code}: Twilio says no — ")
    assert words in receipt.error
    assert TOKEN not in receipt.error


async def test_an_auth_failure_names_the_channel_but_never_the_token() -> None:
    receipt = await send(sms(), twilio_error(401, 20003, f"Authenticate with {TOKEN}"))
    assert receipt.error is not None
    assert "customers-sms" in receipt.error and TOKEN not in receipt.error


async def test_a_proxy_error_page_is_retryable_and_quoted_briefly() -> None:
    receipt = await send(
        sms(), lambda r: httpx.Response(502, text="<html><b>Bad gateway</b></html>")
    )
    assert receipt.retryable and receipt.error == "Twilio answered HTTP 502: Bad gateway"


def test_numbers_are_normalised_to_e164_and_deduplicated() -> None:
    ch = sms(
        to=[
            "+1 415 555 0100",
            "(415) 555-0101",
            "+14155550100",
            {"phone": "415.555.0102", "name": "Ana"},
        ],
        default_region="US",
    )
    recipients = ch.recipients()
    assert [r.address for r in recipients] == ["+14155550100", "+14155550101", "+14155550102"]
    assert recipients[2].fields["name"] == "Ana"
    assert all(ch.validate_recipient(r) is None for r in recipients)


def test_an_invalid_number_is_explained() -> None:
    ch = sms(to=["+1415555"])
    (recipient,) = ch.recipients()
    assert ch.validate_recipient(recipient) == (
        "'+1415555' is not a valid phone number: write it in E.164 like +14155550100 "
        "(or set default_region for national numbers)"
    )
    assert ch.validate_recipient(Recipient("020 7946 0958")) is not None  # national, no region
    assert sms(default_region="GB").validate_recipient(Recipient("020 7946 0958")) is None


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"account_sid": "AC123"}, "account_sid"),
        ({"messaging_service_sid": SERVICE}, "from"),  # both from and a service
        ({"from": None}, "from"),  # neither
        ({"from": None, "messaging_service_sid": "MG1"}, "messaging_service_sid"),
        ({"max_segments": 20}, "max_segments"),
        ({"default_region": "XX"}, "default_region"),
    ],
)
def test_validate_catches_misconfiguration(settings: dict[str, Any], field: str) -> None:
    assert field in [f for f, _ in sms(**settings).validate()]
    assert sms().validate() == []


def test_length_counts_segments_up_to_max_segments() -> None:
    short = sms().measure(Message(text="Acme: all good"))
    assert short is not None and short.ok and short.unit == "segments"
    long = sms(max_segments=1).measure(Message(text="x" * 161))
    assert long is not None and not long.ok


async def test_check_online_reads_the_account_without_sending() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"sid": SID, "friendly_name": "Acme", "status": "active"})

    async with mock_client(handler) as client:
        assert await sms().check_online(make_ctx(client)) == "account Acme (active)"
    assert seen[0].method == "GET"
    assert str(seen[0].url) == f"{BASE}/2010-04-01/Accounts/{SID}.json"


async def test_check_online_refuses_bad_credentials_and_suspended_accounts() -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(twilio_error(401, 20003, "Authenticate"))
    ) as client:
        with pytest.raises(ChannelCheckError, match="auth_token") as caught:
            await sms().check_online(make_ctx(client))
    assert TOKEN not in str(caught.value)

    def suspended(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"friendly_name": "Acme", "status": "suspended"})

    async with mock_client(suspended) as client:
        with pytest.raises(ChannelCheckError, match="suspended"):
            await sms().check_online(make_ctx(client))


# --- against the sandbox, over real sockets ---------------------------------------------------


async def test_sandbox_lifecycle_sends_three_standalone_messages() -> None:
    from notify.sandbox import Credentials, Sandbox

    creds = Credentials()
    with Sandbox() as sb:
        settings = {
            "account_sid": creds.twilio_account_sid,
            "auth_token": creds.twilio_auth_token,
            "base_url": sb.base_url("twilio"),
        }
        by_number = sms(**settings)
        by_service = sms(
            **settings, **{"from": None}, messaging_service_sid=creds.twilio_messaging_service_sid
        )
        wrong = sms(**{**settings, "auth_token": "not-the-sandbox-token"})
        async with httpx.AsyncClient() as client:
            receipts = []
            for number in (1, 2, 3):
                msg = Message(text=f"Acme Cloud: update {number} on Payments API errors.")
                receipts.append(
                    await by_number.send(
                        msg, Recipient("+14155550100"), ThreadRef(), make_ctx(client, number)
                    )
                )
            serviced = await by_service.send(
                msg, Recipient("+14155550101"), ThreadRef(), make_ctx(client)
            )
            refused = await wrong.send(
                msg, Recipient("+14155550100"), ThreadRef(), make_ctx(client)
            )
            sb.fail("twilio", 429)
            limited = await by_number.send(
                msg, Recipient("+14155550100"), ThreadRef(), make_ctx(client)
            )
            proven = await by_number.check_online(make_ctx(client))
        posts = sb.posts("twilio")

    assert all(r.ok and r.thread_data == {} for r in receipts) and serviced.ok
    assert [p["sid"] for p in posts] == [r.provider_message_id for r in [*receipts, serviced]]
    assert [p["to"] for p in posts[:3]] == ["+14155550100"] * 3
    assert [p["body"] for p in posts[:3]] == [
        f"Acme Cloud: update {n} on Payments API errors." for n in (1, 2, 3)
    ]
    assert posts[3]["messaging_service_sid"] == creds.twilio_messaging_service_sid
    assert not refused.ok and not refused.retryable
    assert refused.error and refused.error.startswith("Twilio error 20003: Authenticate — ")
    assert "not-the-sandbox-token" not in refused.error
    assert limited.retryable and limited.retry_after is None
    assert proven.endswith("(active)")


# --- the request checked against Twilio's own OpenAPI spec -----------------------------------


@pytest.fixture(scope="module")
def twilio_spec() -> Any:
    import json

    from tests.conftest import specs_path

    path = specs_path() / "twilio" / "api_v2010.json"
    if not path.is_file():
        pytest.skip(f"Twilio's OpenAPI spec is not at {path} (set NOTIFY_SPECS)")
    from openapi_core import Config, OpenAPI

    # The spec itself is trusted (validating it costs seconds): only requests are checked.
    return OpenAPI.from_dict(json.loads(path.read_text()), config=Config(spec_validator_cls=None))


class SpecRequest:
    """An httpx request as openapi-core reads one."""

    def __init__(self, request: httpx.Request) -> None:
        from openapi_core.datatypes import RequestParameters

        self.host_url = "https://api.twilio.com"  # the spec's server, wherever base_url pointed
        self.path = request.url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(query={}, header=request.headers, cookie={}, path={})
        self.content_type = request.headers["content-type"].split(";")[0]
        self.body = request.content


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"from": None, "messaging_service_sid": SERVICE, "status_callback": "https://a.example/cb"},
    ],
)
async def test_requests_match_twilios_openapi_spec(
    twilio_spec: Any, settings: dict[str, Any]
) -> None:
    fake = FakeTwilio()
    assert (await send(sms(**settings), fake)).ok
    twilio_spec.validate_request(SpecRequest(fake.requests[0]))  # raises when it does not match
