"""The dummy credentials every sandbox emulator accepts.

They are public, documented values (printed by `notify sandbox`), never real
secrets: anything else gets the provider's own authentication error.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Credentials"]


@dataclass(frozen=True)
class Credentials:
    slack_token: str = "xoxb-sandbox-0000000000-notify-demo"
    slack_webhook_secret: str = "sandboxWebhookSecret000001"
    twilio_account_sid: str = "AC" + "0" * 31 + "1"
    twilio_auth_token: str = "sandbox-twilio-auth-token-0001"
    twilio_messaging_service_sid: str = "MG" + "0" * 31 + "1"
    # Standard Webhooks form: whsec_ and the base64 of the key ("sandbox-webhook-signing-key-0001")
    webhook_secret: str = "whsec_c2FuZGJveC13ZWJob29rLXNpZ25pbmcta2V5LTAwMDE="
    teams_sig: str = "sandbox-teams-signature"
    discord_webhook_id: str = "100000000000000001"
    discord_webhook_token: str = "sandbox-discord-webhook-token"
    telegram_token: str = "100001:sandbox-telegram-bot-token"
    telegram_chat_id: str = "-1000000000001"
    mastodon_token: str = "sandbox-mastodon-access-token"
    bluesky_identifier: str = "status.sandbox.test"
    bluesky_app_password: str = "sand-box0-app0-pass"
    bluesky_did: str = "did:plc:sandbox000000000000000001"
    x_api_key: str = "sandbox-x-consumer-key"
    x_api_secret: str = "sandbox-x-consumer-secret"
    x_access_token: str = "1-sandbox-x-access-token"
    x_access_token_secret: str = "sandbox-x-access-token-secret"
    sendgrid_api_key: str = "SG.sandbox-sendgrid-key"
    smtp_username: str = "status@sandbox.test"
    smtp_password: str = "sandbox-smtp-password"
    statuspage_api_key: str = "sandbox-statuspage-api-key"
    statuspage_page_id: str = "sbxpage00001"
