"""Slack: the Web API (chat.postMessage, chat.update, auth.test) and incoming webhooks.

Web API failures are HTTP 200 with {ok: false, error} as on slack.com; webhooks answer with
an HTTP status and a plain-text code. Served under /slack: /slack/api/<method> and
/slack/hooks/services/T…/B…/<secret>.
"""

from __future__ import annotations

import json
import re
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response, SandboxState, truthy
from notify.sandbox.credentials import Credentials

__all__ = ["SlackEmulator"]

CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{8,}$")
MAX_TEXT = 40_000
MAX_BLOCKS = 50
TEAM_ID, BOT_ID, BOT_USER = "T0SANDBOX", "B0SANDBOX", "U0SANDBOXBOT"
WEBHOOK_CHANNEL = "C0SANDBOXHOOK"  # where the sandbox's one incoming webhook posts
_ERROR_FOR_STATUS = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}


class _Fail(Exception):
    """A Web API error: answered as HTTP 200 {ok: false, error}."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class SlackEmulator(Emulator):
    name = "slack"
    api_path = "/api"

    @classmethod
    def webhook_path(cls, credentials: Credentials, name: str) -> str:
        return f"/hooks/services/{TEAM_ID}/{BOT_ID}/{credentials.slack_webhook_secret}"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {
            "slack": {
                "type": "slack",
                "base_url": cls.base_url(root),
                "token": credentials.slack_token,
                "channel": "C0SANDBOX01",
            },
            "slack-webhook": {
                "type": "slack",
                "webhook_url": cls.webhook_url(root, credentials),
            },
        }

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        self._by_ts: dict[tuple[str, str], dict[str, Any]] = {}
        self._deleted: set[tuple[str, str]] = set()  # (channel, ts) of deleted messages
        self._last_ts = 0.0

    def delete_post(self, post_id: str) -> bool:
        """`post_id`: the message's ts (chat.delete); a reply in its thread then meets
        `thread_not_found`."""
        gone = [key for key in self._by_ts if key[1] == post_id]
        for key in gone:
            del self._by_ts[key]
            self._deleted.add(key)
        return bool(gone)

    def reset(self) -> None:
        super().reset()
        self._by_ts.clear()
        self._deleted.clear()

    # -- shapes ------------------------------------------------------------------------------

    def rate_limited(self, retry_after: float) -> Response:
        seconds = max(1, int(retry_after + 0.999))  # Slack sends whole seconds
        return Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(seconds)})

    def injected_failure(self, status: int) -> Response:
        error = _ERROR_FOR_STATUS.get(status, f"http_{status}")
        return Response(status, {"ok": False, "error": error})

    # -- routing -----------------------------------------------------------------------------

    async def handle(self, req: Request) -> Response:
        if req.path.startswith("/hooks/"):
            return self._webhook(req)
        if not req.path.startswith("/api/"):
            return Response(404, "Not Found")
        method = req.path[len("/api/") :]
        handlers = {
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "auth.test": self._auth_test,
        }
        if method not in handlers:
            return Response(404, {"ok": False, "error": "unknown_method"})
        try:
            args = self._arguments(req)
            self._authenticate(req, args)
            result = handlers[method](args)
        except _Fail as failure:
            return Response(200, {"ok": False, "error": failure.error})
        return Response(200, {"ok": True, **result})

    def _arguments(self, req: Request) -> dict[str, Any]:
        """Query and body arguments, as Slack merges them (JSON or form body)."""
        args: dict[str, Any] = {k: v[-1] for k, v in req.query.items()}
        if not req.body:
            return args
        if req.content_type == "application/json":
            try:
                body = req.json()
            except ValueError:
                raise _Fail("invalid_json") from None
            if not isinstance(body, dict):
                raise _Fail("json_not_object")
            args.update(body)
        elif req.content_type in ("application/x-www-form-urlencoded", ""):
            args.update({k: v[-1] for k, v in req.form().items()})
            # Form bodies carry blocks and attachments as JSON text.
            for name, error in (
                ("blocks", "invalid_blocks_format"),
                ("attachments", "invalid_attachments"),
            ):
                if isinstance(args.get(name), str):
                    try:
                        args[name] = json.loads(args[name])
                    except ValueError:
                        raise _Fail(error) from None
        else:
            raise _Fail("invalid_post_type")
        return args

    def _authenticate(self, req: Request, args: dict[str, Any]) -> None:
        auth = req.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else args.get("token")
        if not token:
            raise _Fail("not_authed")
        if token != self.credentials.slack_token:
            raise _Fail("invalid_auth")

    # -- Web API methods ---------------------------------------------------------------------

    def _next_ts(self) -> str:
        # "<epoch>.<6 digits>", unique and increasing even within one microsecond.
        self._last_ts = max(round(self.state.clock(), 6), round(self._last_ts + 0.000001, 6))
        return f"{self._last_ts:.6f}"

    def _check_content(self, args: dict[str, Any]) -> None:
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise _Fail("no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT:
            raise _Fail("msg_too_long")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS):
            raise _Fail("invalid_blocks")

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not CHANNEL_ID.match(channel):
            raise _Fail("channel_not_found")
        self._check_content(args)
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread_ts is not None and (channel, thread_ts) in self._deleted:
            raise _Fail("thread_not_found")  # a reply to a deleted message
        post = self._store(channel, args, thread_ts)
        return {"channel": channel, "ts": post["ts"], "message": self._message(post)}

    def _store(self, channel: str, args: dict[str, Any], thread_ts: str | None) -> dict[str, Any]:
        parent = self._by_ts.get((channel, thread_ts)) if thread_ts else None
        post: dict[str, Any] = {
            "channel": channel,
            "ts": self._next_ts(),
            "thread_ts": thread_ts,
            "text": args.get("text") or "",
            "blocks": args.get("blocks"),
            "attachments": args.get("attachments"),
            "reply_broadcast": truthy(args.get("reply_broadcast", False)),
            "mrkdwn": truthy(args.get("mrkdwn", True)),
            "unfurl_links": truthy(args.get("unfurl_links", False)),
            "edits": [],
        }
        if thread_ts is not None:
            # Real Slack posts anyway; a faithful fake records that our reply went astray:
            # thread_ts must be the parent's ts, never a reply's.
            post["thread_ts_invalid"] = parent is None or parent["thread_ts"] is not None
            if parent is not None and not post["thread_ts_invalid"]:
                parent["reply_count"] = parent.get("reply_count", 0) + 1
        self._posts.append(post)
        self._by_ts[(channel, post["ts"])] = post
        return post

    def _message(self, post: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": post["text"],
            "ts": post["ts"],
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "team": TEAM_ID,
        }
        for key in ("thread_ts", "blocks"):
            if post.get(key) is not None:
                message[key] = post[key]
        if isinstance(post.get("attachments"), list):
            # Slack numbers a message's attachments: each comes back with an integer id.
            message["attachments"] = [
                {**a, "id": n} if isinstance(a, dict) else a
                for n, a in enumerate(post["attachments"], start=1)
            ]
        elif post.get("attachments") is not None:
            message["attachments"] = post["attachments"]
        if post.get("edits"):
            message["edited"] = {"user": BOT_USER, "ts": post["edits"][-1]["ts"]}
        return message

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not CHANNEL_ID.match(channel):
            raise _Fail("channel_not_found")
        post = self._by_ts.get((channel, str(args.get("ts") or "")))
        if post is None:
            raise _Fail("message_not_found")
        self._check_content(args)
        edit = {"ts": self._next_ts(), "previous_text": post["text"]}
        if "text" in args:
            post["text"] = args["text"] or ""
        if "blocks" in args:  # omitted blocks stay as they were; [] clears them
            post["blocks"] = args["blocks"] or None
        edit["text"] = post["text"]
        post["edits"].append(edit)
        post["edited"] = True
        message = self._message(post)
        return {"channel": channel, "ts": post["ts"], "text": post["text"], "message": message}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://notify-sandbox.slack.com/",
            "team": "Notify Sandbox",
            "user": "notify",
            "team_id": TEAM_ID,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    # -- incoming webhook --------------------------------------------------------------------

    def _webhook(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")  # hooks, services, T…, B…, secret
        if len(parts) != 5 or parts[1] != "services" or parts[2:4] != [TEAM_ID, BOT_ID]:
            return Response(404, "no_service")
        if parts[4] != self.credentials.slack_webhook_secret:
            return Response(403, "invalid_token")
        if req.method != "POST":
            return Response(405, "invalid_method")
        payload = self._webhook_payload(req)
        if not isinstance(payload, dict):
            return Response(400, "invalid_payload")
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return Response(400, "no_text")
        if isinstance(payload.get("text"), str) and len(payload["text"]) > MAX_TEXT:
            payload["text"] = payload["text"][:MAX_TEXT]  # webhooks truncate, they don't refuse
        thread_ts = str(payload["thread_ts"]) if payload.get("thread_ts") else None
        post = self._store(WEBHOOK_CHANNEL, payload, thread_ts)
        post["via"] = "webhook"
        return Response(200, "ok")

    def _webhook_payload(self, req: Request) -> Any:
        try:
            if req.content_type == "application/x-www-form-urlencoded":
                return json.loads(req.form().get("payload", [""])[-1])
            return req.json()
        except ValueError:
            return None
