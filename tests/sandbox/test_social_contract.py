"""The Mastodon, Discord and SendGrid emulators against the providers' own OpenAPI files.

A request the emulator accepts must be valid per the spec, and one the spec rejects must be
rejected by the emulator too. The few rules the emulators enforce beyond the spec (Discord's
empty message and 6,000-character embed total, Mastodon's ISO 639-1 language, SendGrid's
recipient and ordering rules) are listed apart, so the difference is on record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from notify.sandbox import Credentials, Sandbox
from tests.conftest import specs_dir

# Mastodon declares an OAuth2 security scheme, which openapi-core can only warn about.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

C = Credentials()


@dataclass
class SpecRequest:
    """A request in the shape openapi-core reads (its Request protocol)."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def __post_init__(self) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.parameters = RequestParameters(
            query=ImmutableMultiDict(self.query),
            header=Headers(self.headers),
            cookie=ImmutableMultiDict(),
        )


def load_spec(relative: str) -> Any:
    """openapi-core's view of one spec file (its own meta-validation off: the Mastodon file
    has a default of "null" on an integer, which does not concern the endpoints tested)."""
    folder = specs_dir()
    if folder is None:
        pytest.skip("no ../shared/specs beside the project and no $NOTIFY_SPECS: nothing to check")
    path = folder / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    openapi_core = pytest.importorskip("openapi_core")
    spec = json.loads(path.read_text(encoding="utf-8"))
    return openapi_core.OpenAPI.from_dict(spec, config=openapi_core.Config(spec_validator_cls=None))


@dataclass
class SpecResponse:
    """An emulator's answer in the shape openapi-core reads (its Response protocol)."""

    status_code: int
    data: bytes
    raw_headers: dict[str, str]
    content_type: str = "application/json"

    @property
    def headers(self) -> Any:
        from werkzeug.datastructures import Headers

        return Headers(self.raw_headers)

    @classmethod
    def of(cls, answer: httpx.Response) -> SpecResponse:
        kind = answer.headers.get("content-type", "application/json").split(";")[0]
        return cls(answer.status_code, answer.content, dict(answer.headers), kind)


def spec_accepts(api: Any, request: SpecRequest) -> bool:
    from openapi_core.validation.request.exceptions import RequestValidationError

    try:
        api.validate_request(request)
    except RequestValidationError:
        return False
    return True


@pytest.fixture(scope="module")
def mastodon_api() -> Any:
    return load_spec("mastodon/openapi.json")


@pytest.fixture(scope="module")
def discord_api() -> Any:
    return load_spec("discord/openapi.json")


@pytest.fixture(scope="module")
def sendgrid_api() -> Any:
    return load_spec("sendgrid/mail_v3.json")


# -- Mastodon: POST /api/v1/statuses ---------------------------------------------------------

MASTODON_CASES = [
    ({"status": "Payments are down."}, True),
    (
        {
            "status": "Down",
            "visibility": "unlisted",
            "language": "en",
            "spoiler_text": "ops",
            "sensitive": False,
        },
        True,
    ),
    ({"visibility": "public"}, False),  # no status, media_ids or poll
    ({"status": "Down", "visibility": "everyone"}, False),
    ({"status": 42}, False),
    ({"status": "Down", "sensitive": "very"}, False),
    ({"status": "Down", "in_reply_to_id": 12345}, False),
]


def mastodon_request(body: Any) -> SpecRequest:
    auth = {"Authorization": f"Bearer {C.mastodon_token}"}
    data = json.dumps(body).encode()
    return SpecRequest("https://mastodon.example", "/api/v1/statuses", "post", data, headers=auth)


@pytest.mark.parametrize(("body", "valid"), MASTODON_CASES)
async def test_mastodon_agrees_with_its_spec(
    mastodon_api: Any, sandbox: Sandbox, http: Any, body: Any, valid: bool
) -> None:
    assert spec_accepts(mastodon_api, mastodon_request(body)) is valid
    answer = await http.post(
        f"{sandbox.base_url('mastodon')}/api/v1/statuses",
        json=body,
        headers={"Authorization": f"Bearer {C.mastodon_token}"},
    )
    assert answer.is_success is valid, answer.text
    assert len(sandbox.posts("mastodon")) == int(valid)


async def test_mastodon_answers_match_its_spec(
    mastodon_api: Any, sandbox: Sandbox, http: Any
) -> None:
    base, auth = sandbox.base_url("mastodon"), {"Authorization": f"Bearer {C.mastodon_token}"}
    body = {"status": "Down, see https://status.acme.example", "language": "en"}
    created = await http.post(f"{base}/api/v1/statuses", json=body, headers=auth)
    mastodon_api.validate_response(mastodon_request(body), SpecResponse.of(created))
    reads = [("/api/v2/instance", {}), ("/api/v1/accounts/verify_credentials", auth)]
    for path, headers in reads:
        answer = await http.get(f"{base}{path}", headers=headers)
        asked = SpecRequest("https://mastodon.example", path, "get", None, headers=headers)
        mastodon_api.validate_response(asked, SpecResponse.of(answer))


async def test_mastodon_replies_are_spec_valid(
    mastodon_api: Any, sandbox: Sandbox, http: Any
) -> None:
    url = f"{sandbox.base_url('mastodon')}/api/v1/statuses"
    auth = {"Authorization": f"Bearer {C.mastodon_token}"}
    first = (await http.post(url, json={"status": "Down"}, headers=auth)).json()
    reply = {"status": "Fixed", "in_reply_to_id": first["id"]}
    assert spec_accepts(mastodon_api, mastodon_request(reply))
    assert (await http.post(url, json=reply, headers=auth)).status_code == 200


async def test_mastodon_rules_beyond_the_spec(
    mastodon_api: Any, sandbox: Sandbox, http: Any
) -> None:
    stricter = [{"status": "Down", "language": "english"}, {"status": "x" * 501}]
    for body in stricter:
        assert spec_accepts(mastodon_api, mastodon_request(body))
        answer = await http.post(
            f"{sandbox.base_url('mastodon')}/api/v1/statuses",
            json=body,
            headers={"Authorization": f"Bearer {C.mastodon_token}"},
        )
        assert answer.status_code == 422


# -- Discord: POST /webhooks/{webhook_id}/{webhook_token} ------------------------------------

EMBED = {
    "title": "Payments",
    "description": "Errors on checkout",
    "color": 15158332,
    "timestamp": "2026-11-22T10:00:00+00:00",
    "fields": [{"name": "Impact", "value": "major", "inline": True}],
    "footer": {"text": "Acme Status"},
}
DISCORD_CASES = [
    ({"content": "Payments are down."}, True),
    ({"content": "Down", "username": "Acme Status", "allowed_mentions": {"parse": []}}, True),
    (
        {
            "embeds": [EMBED],
            "allowed_mentions": {"parse": ["roles"], "users": ["80351110224678912"]},
        },
        True,
    ),
    ({"content": "Down", "thread_name": "Payments"}, True),
    ({"content": "x" * 2001}, False),
    ({"embeds": [EMBED] * 11}, False),
    ({"embeds": [{"title": "x" * 257}]}, False),
    ({"embeds": [{"color": 16777216}]}, False),
    ({"embeds": [{"fields": [{"name": "Impact"}]}]}, False),
    ({"content": "x", "allowed_mentions": {"parse": ["all"]}}, False),
    ({"content": "x", "allowed_mentions": {"users": ["not-a-snowflake"]}}, False),
    ({"content": "x", "flags": "urgent"}, False),
]


def discord_request(body: Any) -> SpecRequest:
    path = f"/api/v10/webhooks/{C.discord_webhook_id}/{C.discord_webhook_token}"
    data = json.dumps(body).encode()
    return SpecRequest("https://discord.com", path, "post", data, query={"wait": "true"})


@pytest.mark.parametrize(("body", "valid"), DISCORD_CASES)
async def test_discord_agrees_with_its_spec(
    discord_api: Any, sandbox: Sandbox, http: Any, body: Any, valid: bool
) -> None:
    assert spec_accepts(discord_api, discord_request(body)) is valid
    answer = await http.post(sandbox.webhook_url("discord"), params={"wait": "true"}, json=body)
    assert answer.is_success is valid, answer.text
    if not valid:
        assert answer.json()["code"] == 50035


async def test_discord_message_matches_its_spec(
    discord_api: Any, sandbox: Sandbox, http: Any
) -> None:
    body = {"content": "Payments are down.", "embeds": [EMBED]}
    answer = await http.post(sandbox.webhook_url("discord"), params={"wait": "true"}, json=body)
    discord_api.validate_response(discord_request(body), SpecResponse.of(answer))
    limited_request = discord_request(body)
    sandbox.fail("discord", 429, retry_after=0.25)
    limited = await http.post(sandbox.webhook_url("discord"), params={"wait": "true"}, json=body)
    discord_api.validate_response(limited_request, SpecResponse.of(limited))


async def test_discord_rules_beyond_the_spec(discord_api: Any, sandbox: Sandbox, http: Any) -> None:
    total_over_6000 = {"embeds": [{"description": "x" * 4096}, {"description": "y" * 2000}]}
    stricter = [({}, 50006), ({"content": " "}, 50006), (total_over_6000, 50035)]
    for body, code in stricter:
        assert spec_accepts(discord_api, discord_request(body))
        answer = await http.post(sandbox.webhook_url("discord"), json=body)
        assert (answer.status_code, answer.json()["code"]) == (400, code)


# -- SendGrid: POST /v3/mail/send ------------------------------------------------------------

MAIL = {
    "personalizations": [
        {
            "to": [{"email": "ana@acme.example", "name": "Ana"}],
            "headers": {"List-Unsubscribe": "<https://acme.example/u/1>"},
        }
    ],
    "from": {"email": "status@acme.example", "name": "Acme Status"},
    "subject": "[Acme] Payments",
    "content": [
        {"type": "text/plain", "value": "Down"},
        {"type": "text/html", "value": "<p>Down</p>"},
    ],
}


def mail(**changes: Any) -> dict[str, Any]:
    return {**json.loads(json.dumps(MAIL)), **changes}


def without(key: str) -> dict[str, Any]:
    body = mail()
    del body[key]
    return body


SENDGRID_CASES = [
    (mail(), True),
    ({**without("content"), "template_id": "d-0123456789abcdef"}, True),
    (mail(categories=["incident"], asm={"group_id": 42}), True),
    (without("personalizations"), False),
    (without("from"), False),
    (mail(personalizations=[{"cc": [{"email": "a@acme.example"}]}]), False),
    (mail(personalizations=[{"to": [{"name": "no address"}]}]), False),
    (mail(subject=""), False),
    (mail(content=[{"type": "text/plain", "value": ""}]), False),
    (mail(content=[{"type": "text/plain"}]), False),
    (mail(categories=[f"c{i}" for i in range(11)]), False),
    (mail(asm={"groups_to_display": [1]}), False),
]


def sendgrid_request(body: Any) -> SpecRequest:
    auth = {"Authorization": f"Bearer {C.sendgrid_api_key}"}
    data = json.dumps(body).encode()
    return SpecRequest("https://api.sendgrid.com", "/v3/mail/send", "post", data, headers=auth)


async def post_mail(sandbox: Sandbox, http: Any, body: Any) -> httpx.Response:
    answer: httpx.Response = await http.post(
        f"{sandbox.base_url('sendgrid')}/v3/mail/send",
        json=body,
        headers={"Authorization": f"Bearer {C.sendgrid_api_key}"},
    )
    return answer


@pytest.mark.parametrize(("body", "valid"), SENDGRID_CASES)
async def test_sendgrid_agrees_with_its_spec(
    sendgrid_api: Any, sandbox: Sandbox, http: Any, body: Any, valid: bool
) -> None:
    assert spec_accepts(sendgrid_api, sendgrid_request(body)) is valid
    answer = await post_mail(sandbox, http, body)
    assert answer.is_success is valid, answer.text
    if not valid:
        assert answer.status_code == 400 and answer.json()["errors"][0]["message"]


async def test_sendgrid_rules_beyond_the_spec(
    sendgrid_api: Any, sandbox: Sandbox, http: Any
) -> None:
    half = [{"email": f"r{i}@acme.example"} for i in range(501)]
    people = [{"to": half}, {"to": [{"email": f"s{p['email']}"} for p in half]}]
    html_first = [MAIL["content"][1], MAIL["content"][0]]  # type: ignore[index]
    stricter = [
        mail(personalizations=people),  # at most 1,000 recipients per request
        mail(content=html_first),  # text/plain must come before text/html
        mail(headers={"Subject": "set through headers"}),  # reserved header
        without("subject"),  # a subject somewhere, unless a template gives one
    ]
    for body in stricter:
        assert spec_accepts(sendgrid_api, sendgrid_request(body))
        assert (await post_mail(sandbox, http, body)).status_code == 400


async def test_sendgrid_spec_requires_the_bearer_key(
    sendgrid_api: Any, sandbox: Sandbox, http: Any
) -> None:
    unsigned = sendgrid_request(mail())
    unsigned.headers = {}
    unsigned.__post_init__()
    assert not spec_accepts(sendgrid_api, unsigned)
    url = f"{sandbox.base_url('sendgrid')}/v3/mail/send"
    assert (await http.post(url, json=mail())).status_code == 401
