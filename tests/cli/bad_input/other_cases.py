"""Mistakes in templates, in command-line options, and messages too long for a channel."""

from __future__ import annotations

from tests.cli.bad_input.edits import (
    BROKEN,
    GOOD_TEMPLATE,
    LONG,
    SEND,
    TEMPLATES,
    Bad,
    add_to,
    template,
)

TEMPLATE_CASES = [
    Bad(
        "template syntax error",
        where="templates/broken.j2:5",
        hint="}}",
        args=BROKEN,
        config=TEMPLATES,
        files=template(
            GOOD_TEMPLATE.replace(
                "{{ update.message }}{% endblock %}\n{% block body",
                "{{ update.message }{% endblock %}\n{% block body",
            )
        ),
    ),
    Bad(
        "undefined variable",
        where="templates/broken.j2:5",
        hint="--set",
        args=BROKEN,
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.replace("{{ org.name }}:", "{{ vars.eta }}:")),
    ),
    Bad(
        "unknown filter",
        where="templates/broken.j2",
        hint="filter",
        args=BROKEN,
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.replace("{{ org.name }}", "{{ org.name | shout }}")),
    ),
    Bad(
        "front matter not YAML",
        where="templates/broken.j2:2",
        hint="`key: value`",
        args=BROKEN,
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.replace("status: investigating", "status: [investigating")),
    ),
    Bad(
        "template not UTF-8",
        where="templates/broken.j2",
        hint="UTF-8",
        args=BROKEN,
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.encode().replace(b"org.name }}:", b"org.name }}\xff:")),
    ),
    Bad(
        "unknown template name",
        where="investigatng",
        hint="investigating",
        args=("send", "investigatng", "--title", "Checkout errors", "--message", "Errors."),
    ),
]

OPTION_CASES = [
    Bad(
        "--set without =",
        where="--set 'novalue'",
        hint="KEY=VALUE",
        args=(*SEND, "--set", "novalue"),
    ),
    Bad("--set bad key", where="--set '1x=2'", hint="letters", args=(*SEND, "--set", "1x=2")),
    Bad(
        "--vars not YAML",
        where="vars.yaml:2",
        hint="Fix the YAML",
        args=(*SEND, "--vars", "vars.yaml"),
        files={"vars.yaml": b"eta: soon\nworkaround: [phone\n"},
    ),
    Bad(
        "--vars not a mapping",
        where="vars.yaml:1",
        hint="workaround: ",
        args=(*SEND, "--vars", "vars.yaml"),
        files={"vars.yaml": b"- eta\n- soon\n"},
    ),
    Bad(
        "--vars not UTF-8",
        where="vars.yaml",
        hint="UTF-8",
        args=(*SEND, "--vars", "vars.yaml"),
        files={"vars.yaml": b"eta: \xff\n"},
    ),
    Bad("--vars missing", where="nope.yaml", hint="path", args=(*SEND, "--vars", "nope.yaml")),
    Bad(
        "--impact huge", where="--impact 'huge'", hint="critical", args=(*SEND, "--impact", "huge")
    ),
    Bad(
        "--next-update soon",
        where="--next-update 'soon'",
        hint="30m",
        args=(*SEND, "--next-update", "soon"),
    ),
    Bad(
        "--incident with spaces",
        where="--incident 'bad id!'",
        hint="letters, digits",
        args=(*SEND, "--incident", "bad id!"),
    ),
    Bad(
        "--to unknown channel",
        where="--to 'unknown-channel'",
        hint="Configured:",
        args=(*SEND, "--to", "unknown-channel"),
    ),
    Bad(
        "--message-file missing",
        where="update.txt",
        hint="path",
        args=("send", "investigating", "--title", "T", "--message-file", "update.txt"),
    ),
    Bad(
        "--message-file not UTF-8",
        where="update.txt:2",
        hint="UTF-8",
        args=("send", "investigating", "--title", "T", "--message-file", "update.txt"),
        files={"update.txt": b"Checkout errors.\nWe\x92re on it.\n"},
    ),
    Bad(
        "--message and --message-file",
        where="--message",
        hint="one of them",
        args=(*SEND, "--message-file", "update.txt"),
        files={"update.txt": b"Checkout errors.\n"},
    ),
    Bad(
        "new incident without --title",
        where="--title",
        hint='--title "',
        args=("send", "investigating", "--message", "Errors."),
    ),
    Bad("empty --key", where="--key", hint="non-empty", args=(*SEND, "--key", " ")),
    Bad(
        "unknown option",
        where="--titel",
        hint="--help",
        args=("send", "investigating", "--titel", "T"),
    ),
    Bad("missing TEMPLATE", where="TEMPLATE", hint="--help", args=("send",)),
    Bad(
        "--config file missing",
        where="missing.yaml",
        hint="notify init",
        args=("--config", "missing.yaml", *SEND),
    ),
]

LENGTH_CASES = [
    Bad(
        "SMS over max_segments",
        where="channel 'customers-sms'",
        hint="overflow: truncate",
        args=(*SEND[:-1], LONG[:400], "--to", "customers-sms"),
        config=add_to("customers-sms", "max_segments: 1"),
    ),
    Bad(
        "X over 280",
        where="channel 'x'",
        hint="overflow: truncate",
        args=(*SEND[:-1], LONG[:300], "--to", "x"),
    ),
    Bad(
        "Bluesky over 300 graphemes",
        where="channel 'bluesky'",
        hint="overflow: truncate",
        # Emoji families: one grapheme each but many code points; 310 of them are over 300.
        args=(*SEND[:-1], "👩‍👩‍👧‍👦" * 310, "--to", "bluesky"),
    ),
    Bad(
        "Mastodon over 500",
        where="channel 'mastodon'",
        hint="overflow: truncate",
        args=(*SEND[:-1], LONG[:520], "--to", "mastodon"),
    ),
    Bad(
        "Discord over 2000",
        where="channel 'community-discord'",
        hint="overflow: truncate",
        args=(*SEND[:-1], LONG * 4, "--to", "community-discord"),
    ),
]
