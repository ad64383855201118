"""Secrecy is structural (issue 9, item 2): only what is declared secret is masked, wherever a
value came from; a secret never reaches text, and the last-resort scrub also catches the forms a
provider echoes it back in (percent-encoded, inside a Basic header's base64)."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.conftest import Workspace

TITLE = "Search down"


def test_values_from_the_environment_print_as_they_are(workspace: Workspace) -> None:
    text = workspace.config.read_text(encoding="utf-8")
    text = text.replace("status_url: https://status.acme.example", "status_url: ${STATUS_URL}")
    text = text.replace("  ops-slack:\n", "  ops-slack:\n    enabled: ${SLACK_ON}\n")
    text = text.replace("  ops-slack:\n", "  ops-slack:\n    description: ${DESCRIPTION}\n")
    workspace.write_config(text)
    env = {"STATUS_URL": "https://status.acme.example", "SLACK_ON": "true", "DESCRIPTION": "down"}

    args = ("--title", TITLE, "--message", "m", "--to", "ops-slack", "--json")
    preview = workspace.run("preview", "investigating", *args, env=env)
    assert preview.code == 0, preview.output
    rendered = json.dumps(preview.json())
    assert "https://status.acme.example" in rendered and "***" not in rendered

    sent = workspace.run("send", "investigating", *args, "--yes", env=env)
    assert sent.code == 0, sent.output
    document = json.loads(sent.stdout)  # valid JSON: `"dry_run": false`, not `***`
    assert document["dry_run"] is False
    assert document["incident"]["id"].endswith("search-down")  # "down" is not masked
    listed = workspace.run("channels", "--json", env=env)
    assert '"down"' in listed.stdout and "***" not in listed.output


class _EchoingTwilio(BaseHTTPRequestHandler):
    """A hostile Twilio stand-in: it refuses every message and echoes what it was sent: the
    Authorization header, the password in it percent-encoded, and the form."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        basic = str(self.headers.get("Authorization"))
        password = base64.b64decode(basic.split()[-1]).decode().partition(":")[2]
        encoded = f"{quote(password, safe='')} {quote_plus(password)}"
        said = f"refused: {basic} ({encoded}) with {body}"
        answer = json.dumps({"code": 21999, "message": said, "status": 400}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echoing_twilio() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_secret_echoed_encoded_by_a_provider_is_never_printed(
    workspace: Workspace, echoing_twilio: str
) -> None:
    token = "tw/token+with=odd&chars-0123456789"
    sid = "AC00000000000000000000000000000001"
    text = workspace.config.read_text(encoding="utf-8")
    text = re.sub(r"base_url: http://127\.0\.0\.1:\d+/twilio", f"base_url: {echoing_twilio}", text)
    text = text.replace("auth_token: sandbox-twilio-auth-token-0001", "auth_token: ${TW_TOKEN}")
    text = text.replace("rate_limit: 10/s\n", "rate_limit: 10/s\n    retries: 0\n", 1)
    workspace.write_config(text)
    env = {"TW_TOKEN": token, "COLUMNS": "60"}

    outputs = [
        workspace.run(
            "send",
            "investigating",
            "--title",
            TITLE,
            "--to",
            "customers-sms",
            "--yes",
            "--json",
            env=env,
        ),
        workspace.run("log", "--json", env=env),
        workspace.run("log", env=env),  # a table: long errors wrap at 60 columns
        workspace.run("retry", "--yes", env=env),
    ]
    assert outputs[0].code == 1, outputs[0].output
    shown = "\n".join(o.output for o in outputs)
    assert "refused: " in shown  # the provider's words are shown, its echo of secrets not
    basic = base64.b64encode(f"{sid}:{token}".encode()).decode()
    forms = [token, quote(token, safe=""), quote_plus(token), basic, basic[8:-8]]
    flat = re.sub(r"[\s│|]+", "", shown)  # wrapped text joined up again
    stored = b"".join(p.read_bytes() for p in workspace.journal.parent.glob("journal.db*"))
    for form in forms:
        assert form not in shown and form not in flat, form
        assert form.encode() not in stored, form


def test_url_passwords_and_header_values_are_secret_their_targets_shown_without(
    workspace: Workspace,
) -> None:
    text = workspace.config.read_text(encoding="utf-8")
    text = re.sub(
        r"url: http://127\.0\.0\.1:(\d+)/webhook/demo",
        r"url: http://hook-user:hunter2-password@127.0.0.1:\1/webhook/demo\n"
        r"    headers: {X-Api-Key: header-api-key-value}",
        text,
    )
    workspace.write_config(text)
    outputs = [
        workspace.run("channels", "-v"),
        workspace.run("channels", "--json"),
        workspace.run("check", "-v"),
        workspace.run("preview", "investigating", "--title", TITLE, "--to", "status-webhook"),
        workspace.run(
            "send", "investigating", "--title", TITLE, "--to", "status-webhook", "--yes", "--json"
        ),
    ]
    shown = "\n".join(o.output for o in outputs)
    assert outputs[-1].code == 0, outputs[-1].output
    for secret in ("hunter2-password", "header-api-key-value"):
        assert secret not in shown
    received = workspace.sandbox.requests("webhook")
    assert received and received[-1].headers.get("x-api-key") == "header-api-key-value"
