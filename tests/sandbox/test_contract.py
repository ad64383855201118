"""The emulators against the providers' own published specs.

What the Twilio emulator accepts must be a request the Twilio OpenAPI spec accepts, and what it
answers must be a response the spec describes (checked with openapi-core). Slack's spec is
Swagger 2, which openapi-core does not read: its chat.postMessage / chat.update / auth.test
parameters and response schemas are checked directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from notify.sandbox import Credentials, Recorded, Sandbox
from notify.sandbox.twilio import SERVICE_SID
from tests.conftest import specs_path

CREDS = Credentials()
TWILIO_AUTH = (CREDS.twilio_account_sid, CREDS.twilio_auth_token)
SLACK_AUTH = {"Authorization": f"Bearer {CREDS.slack_token}"}
CHANNEL = "C0123456789"


def specs_folder() -> Path:
    return specs_path()


def load_spec(relative: str) -> dict[str, Any]:
    path = specs_folder() / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent: set NOTIFY_SPECS to the folder of provider specs")
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


@pytest.fixture(scope="module")
def twilio_spec() -> dict[str, Any]:
    return load_spec("twilio/api_v2010.json")


@pytest.fixture(scope="module")
def twilio_api(twilio_spec: dict[str, Any]) -> Any:
    from openapi_core import Config, OpenAPI

    # The spec itself is Twilio's: skip re-validating 1.8 MB of it on every run.
    return OpenAPI.from_dict(twilio_spec, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def slack_spec() -> dict[str, Any]:
    return load_spec("slack/web_api_swagger2.json")


# -- Twilio --------------------------------------------------------------------------------


def as_twilio_request(rec: Recorded) -> Any:
    """The recorded request as if it had gone to api.twilio.com."""
    from openapi_core.testing import MockRequest

    return MockRequest(
        "https://api.twilio.com",
        rec.method.lower(),
        rec.path.removeprefix("/twilio"),
        headers=rec.headers,
        data=rec.body or None,
        content_type=rec.headers.get("content-type", "application/json"),
    )


def as_response(rec: Recorded) -> Any:
    from openapi_core.testing import MockResponse

    return MockResponse(json.dumps(rec.response_body).encode(), status_code=rec.status)


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


ACCEPTED = [
    {"To": "+14155550100", "From": "+15005550006", "Body": "Payments API: investigating."},
    {"To": "+447700900123", "MessagingServiceSid": CREDS.twilio_messaging_service_sid,
     "Body": "Résolu ✅ — merci de votre patience."},
    {"To": "+14155550100", "From": "+15005550006", "MediaUrl": "https://status.example/map.png"},
    {"To": "+14155550100", "From": "ACME", "Body": "x" * 1600,
     "StatusCallback": "https://hooks.example.com/twilio/status"},
]  # fmt: skip


@pytest.mark.parametrize("form", ACCEPTED, ids=["from", "service", "media", "callback"])
async def test_what_the_twilio_emulator_accepts_the_spec_accepts(
    sandbox: Sandbox,
    http: httpx.AsyncClient,
    twilio_api: Any,
    twilio_spec: dict[str, Any],
    form: dict[str, str],
) -> None:
    url = (
        f"{sandbox.base_url('twilio')}/2010-04-01/Accounts/{CREDS.twilio_account_sid}/Messages.json"
    )
    response = await http.post(url, data=form, auth=TWILIO_AUTH)
    assert response.status_code == 201, response.text
    (rec,) = sandbox.requests("twilio")
    request = as_twilio_request(rec)
    twilio_api.validate_request(request)
    twilio_api.validate_response(request, as_response(rec))
    # Every field of the documented Message resource is there, and nothing else.
    documented = schema(twilio_spec, "api.v2010.account.message")["properties"]
    assert set(response.json()) == set(documented)


async def test_the_spec_refuses_what_the_emulator_refuses_for_a_missing_to(
    sandbox: Sandbox, http: httpx.AsyncClient, twilio_api: Any
) -> None:
    from openapi_core.validation.request.exceptions import RequestValidationError

    url = (
        f"{sandbox.base_url('twilio')}/2010-04-01/Accounts/{CREDS.twilio_account_sid}/Messages.json"
    )
    response = await http.post(url, data={"From": "+15005550006", "Body": "hi"}, auth=TWILIO_AUTH)
    assert response.json()["code"] == 21604
    with pytest.raises(RequestValidationError):
        twilio_api.validate_request(as_twilio_request(sandbox.requests("twilio")[0]))


async def test_the_account_resource_matches_the_spec(
    sandbox: Sandbox, http: httpx.AsyncClient, twilio_api: Any
) -> None:
    url = f"{sandbox.base_url('twilio')}/2010-04-01/Accounts/{CREDS.twilio_account_sid}.json"
    assert (await http.get(url, auth=TWILIO_AUTH)).status_code == 200
    (rec,) = sandbox.requests("twilio")
    request = as_twilio_request(rec)
    twilio_api.validate_request(request)
    twilio_api.validate_response(request, as_response(rec))


def test_the_emulators_field_rules_are_the_specs(twilio_spec: dict[str, Any]) -> None:
    path = twilio_spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
    fields = path["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert fields["properties"]["MessagingServiceSid"]["pattern"] == SERVICE_SID.pattern
    assert fields["required"] == ["To"]  # the rest (21602, 21603) the service adds
    statuses = twilio_spec["components"]["schemas"]["message_enum_status"]["enum"]
    assert {"queued", "accepted"} <= set(statuses)


# -- Slack (Swagger 2, read directly) ------------------------------------------------------


def operation(spec: dict[str, Any], method: str) -> dict[str, Any]:
    paths = spec["paths"][f"/{method}"]
    found: dict[str, Any] = paths.get("post") or paths["get"]
    return found


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = spec["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def check_against(spec: dict[str, Any], schema_node: dict[str, Any], value: Any) -> None:
    """`value` is valid against a schema of the Slack swagger, types and all (JSON Schema draft 4,
    which Swagger 2 schemas are; their $refs point into the spec's definitions)."""
    from jsonschema import Draft4Validator

    schema = {**schema_node, "definitions": spec.get("definitions", {})}
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in Draft4Validator(schema).iter_errors(value)
    ]
    assert not problems, "\n".join(problems)


async def call_slack(
    http: httpx.AsyncClient, sb: Sandbox, method: str, **kwargs: Any
) -> dict[str, Any]:
    headers = kwargs.pop("headers", SLACK_AUTH)
    response = await http.post(f"{sb.base_url('slack')}/{method}", headers=headers, **kwargs)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_every_documented_post_message_field_is_accepted(
    sandbox: Sandbox, http: httpx.AsyncClient, slack_spec: dict[str, Any]
) -> None:
    op = operation(slack_spec, "chat.postMessage")
    samples = {
        "boolean": "true",
        "blocks": json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]),
        # The swagger documents only these fields of a message's attachments.
        "attachments": json.dumps(
            [{"fallback": "hi", "image_url": "https://status.example/a.png"}]
        ),
        "channel": CHANNEL,
        "icon_url": "https://status.example/icon.png",
        "icon_emoji": ":rotating_light:",
        "parse": "none",
        "as_user": "false",
    }
    form = {}
    for param in op["parameters"]:
        if param["in"] != "formData":
            continue
        name = param["name"]
        form[name] = samples.get(name) or samples.get(param["type"]) or f"sample {name}"
    form.pop("thread_ts")  # a reply needs a parent: covered below
    body = await call_slack(http, sandbox, "chat.postMessage", data=form)
    assert body["ok"] is True, body
    success = op["responses"]["200"]["schema"]
    check_against(slack_spec, success, body)


async def test_post_message_required_parameters_are_required(
    sandbox: Sandbox, http: httpx.AsyncClient, slack_spec: dict[str, Any]
) -> None:
    op = operation(slack_spec, "chat.postMessage")
    required = {p["name"] for p in op["parameters"] if p.get("required")}
    assert required == {"token", "channel"}
    errors = set(op["responses"]["default"]["schema"]["properties"]["error"]["enum"])
    without_token = await call_slack(
        http, sandbox, "chat.postMessage", headers={}, data={"channel": CHANNEL, "text": "x"}
    )
    without_channel = await call_slack(http, sandbox, "chat.postMessage", data={"text": "x"})
    answers = [without_token, without_channel]
    assert [a["error"] for a in answers] == ["not_authed", "channel_not_found"]
    assert {a["error"] for a in answers} <= errors


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        ({"channel": CHANNEL}, SLACK_AUTH),
        ({"channel": CHANNEL, "text": "x" * 40_001}, SLACK_AUTH),
        ({"channel": CHANNEL, "text": "x"}, {"Authorization": "Bearer xoxb-wrong"}),
    ],
    ids=["no_text", "msg_too_long", "invalid_auth"],
)
async def test_post_message_errors_are_documented_codes(
    sandbox: Sandbox,
    http: httpx.AsyncClient,
    slack_spec: dict[str, Any],
    payload: dict[str, Any],
    headers: dict[str, str],
) -> None:
    op = operation(slack_spec, "chat.postMessage")
    body = await call_slack(http, sandbox, "chat.postMessage", json=payload, headers=headers)
    assert body["ok"] is False
    check_against(slack_spec, op["responses"]["default"]["schema"], body)


async def test_threaded_reply_and_update_match_their_schemas(
    sandbox: Sandbox, http: httpx.AsyncClient, slack_spec: dict[str, Any]
) -> None:
    parent = await call_slack(
        http, sandbox, "chat.postMessage", json={"channel": CHANNEL, "text": "Investigating"}
    )
    reply = await call_slack(
        http,
        sandbox,
        "chat.postMessage",
        json={"channel": CHANNEL, "text": "Identified", "thread_ts": parent["ts"]},
    )
    check_against(
        slack_spec, operation(slack_spec, "chat.postMessage")["responses"]["200"]["schema"], reply
    )
    assert reply["message"]["thread_ts"] == parent["ts"]
    update_op = operation(slack_spec, "chat.update")
    assert {p["name"] for p in update_op["parameters"] if p.get("required")} == {
        "token",
        "channel",
        "ts",
    }
    edited = await call_slack(
        http,
        sandbox,
        "chat.update",
        json={"channel": CHANNEL, "ts": parent["ts"], "text": "Identified (edited)"},
    )
    check_against(slack_spec, update_op["responses"]["200"]["schema"], edited)
    missing = await call_slack(
        http,
        sandbox,
        "chat.update",
        json={"channel": CHANNEL, "ts": "1111111111.000001", "text": "x"},
    )
    check_against(slack_spec, update_op["responses"]["default"]["schema"], missing)


async def test_auth_test_matches_its_schema(
    sandbox: Sandbox, http: httpx.AsyncClient, slack_spec: dict[str, Any]
) -> None:
    op = operation(slack_spec, "auth.test")
    check_against(
        slack_spec, op["responses"]["200"]["schema"], await call_slack(http, sandbox, "auth.test")
    )
    denied = await call_slack(http, sandbox, "auth.test", headers={})
    check_against(slack_spec, op["responses"]["default"]["schema"], denied)
