"""Templates: finding them, reading their front matter, rendering the part a channel needs.

A template file is optional YAML front matter between `---` lines, then Jinja blocks: `subject`,
`short`, `body`, and per channel type overrides (`sms`, `slack`, `x_subject`, ...). Folders are
searched in order and the shipped templates come last, so a user's file wins over a shipped one of
the same name. `<dir>/<locale>/<name>.j2` is the same template for recipients of that locale.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from notify.errors import Location, TemplateError
from notify.render.budget import render_bounded
from notify.render.environment import build_environment, raise_render_error, syntax_error
from notify.render.marks import strip_marks

if TYPE_CHECKING:
    from jinja2 import Template as JinjaTemplate
    from jinja2.sandbox import SandboxedEnvironment

STATUSES = (
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "scheduled",
    "in_progress",
    "completed",
)
FRONT_MATTER_KEYS = ("status", "description", "opens")
# Templates that open an incident (CONTRACT.md), and the statuses an incident opens with: a
# template of the user's that sets one opens incidents too; any other only with `opens: true`.
OPENING_TEMPLATES = frozenset({"investigating", "maintenance-scheduled"})
OPENING_STATUSES = frozenset({"investigating", "scheduled"})
SUFFIX = ".j2"

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_WHITESPACE = re.compile(r"\s+")


def shipped_templates_dir() -> Path:
    """The templates shipped with notify: inside the wheel, or the repo's templates/ folder."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "_shipped" / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


@dataclass(frozen=True)
class RenderedParts:
    """One template rendered for one channel type. `text` keeps variable output marked."""

    subject: str  # one line, plain text, marks removed
    text: str  # the `short` text, or the Markdown `body`, after type overrides


@dataclass(frozen=True)
class Template:
    """One template file, with its front matter read."""

    name: str
    path: Path | None
    front_matter: dict[str, Any]
    status: str | None  # the status this update sets; None keeps the incident's current one
    description: str
    source: str  # "shipped", or the folder it came from
    text: str = field(default="", repr=False)  # Jinja source, front matter blanked out
    locale: str | None = None

    @property
    def opens(self) -> bool:
        """Whether an update with it may open a new incident: `investigating`,
        `maintenance-scheduled` and templates setting the status an incident opens with, or
        whatever the front matter's `opens: true|false` says."""
        given = self.front_matter.get("opens")
        if isinstance(given, bool):
            return given
        return self.name in OPENING_TEMPLATES or self.status in OPENING_STATUSES

    @property
    def uses_recipient(self) -> bool:
        """Whether it mentions `recipient`: then it is rendered once per recipient."""
        from jinja2 import Environment, TemplateSyntaxError, meta

        try:
            ast = Environment().parse(self.text)
            return "recipient" in meta.find_undeclared_variables(ast)
        except TemplateSyntaxError:
            # A syntax error is reported by rendering, with its line. A filter this bare
            # environment lacks (notify's own `time`, or a typo) stops the analysis too: then any
            # mention of `recipient` renders per recipient, which is right either way.
            return "recipient" in self.text


def _parse_front_matter(raw: str, path: Path) -> tuple[dict[str, Any], str]:
    """(front matter, Jinja text with the front matter replaced by as many blank lines)."""
    import yaml

    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        # At the end of the front matter, the line that opened the bracket or quote is the news.
        problem_text = str(getattr(exc, "problem", "") or "")
        at_end = "stream end" in problem_text or "end of stream" in problem_text
        mark = (getattr(exc, "context_mark", None) if at_end else None) or getattr(
            exc, "problem_mark", None
        )
        line = mark.line + 2 if mark is not None else 1
        raise TemplateError(
            f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}",
            where=Location(file=str(path), line=line),
            hint="Write it as `key: value` lines between two `---` lines",
        ) from None
    if not isinstance(data, dict):
        raise TemplateError(
            "front matter must be `key: value` lines",
            where=Location(file=str(path), line=2),
            hint="For example `status: investigating` and `description: ...`",
        )
    blank = "\n" * match.group(0).count("\n")
    return data, blank + raw[match.end() :]


def _check_front_matter(data: dict[str, Any], path: Path, raw: str) -> tuple[str | None, str]:
    def line_of(key: str) -> int:
        for number, text in enumerate(raw.splitlines(), start=1):
            if text.startswith(f"{key}:"):
                return number
        return 1

    for key in data:
        if key not in FRONT_MATTER_KEYS:
            close = difflib.get_close_matches(str(key), FRONT_MATTER_KEYS, n=1)
            raise TemplateError(
                f"unknown front matter key {key!r}",
                where=Location(file=str(path), line=line_of(str(key))),
                hint=f"Did you mean {close[0]!r}?" if close else "Keys: status, description, opens",
            )
    status = data.get("status")
    if status is not None and status not in STATUSES:
        close = difflib.get_close_matches(str(status), STATUSES, n=1)
        guess = f"Did you mean {close[0]!r}? " if close else ""
        raise TemplateError(
            f"unknown status {status!r}",
            where=Location(file=str(path), line=line_of("status")),
            hint=f"{guess}Use one of {', '.join(STATUSES)}, or none to keep the current one",
        )
    opens = data.get("opens")
    if opens is not None and not isinstance(opens, bool):
        raise TemplateError(
            f"opens must be true or false, got {opens!r}",
            where=Location(file=str(path), line=line_of("opens")),
            hint="Write `opens: true` for a template that may open a new incident",
        )
    return status, str(data.get("description") or "").strip()


def read_template(path: Path, name: str, source: str, locale: str | None = None) -> Template:
    """Read and check one template file (its Jinja is compiled later, when first rendered)."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise TemplateError(
            f"template is not UTF-8 text (byte 0x{exc.object[exc.start]:02x})",
            where=Location(file=str(path), line=line),
            hint="Save it as UTF-8",
        ) from None
    except OSError as exc:
        raise TemplateError(
            f"cannot read template: {exc.strerror}", where=Location(file=str(path))
        ) from None
    raw = raw.replace("\r\n", "\n")
    data, text = _parse_front_matter(raw, path)
    status, description = _check_front_matter(data, path, raw)
    return Template(name, path, data, status, description, source, text, locale)


def _title(context: Mapping[str, Any]) -> str:
    incident = context.get("incident")
    if isinstance(incident, Mapping):
        return str(incident.get("title") or "")
    return str(getattr(incident, "title", "") or "")


def clean_subject(text: str) -> str:
    """One line: no CR/LF (no header injection), no runs of whitespace, no marks."""
    return _WHITESPACE.sub(" ", strip_marks(text)).strip()


class TemplateSet:
    """Every template found, by name; renders the part a channel type takes."""

    def __init__(
        self,
        templates: dict[str, Template],
        variants: dict[tuple[str, str], Template],
        partials: dict[str, Template],
        timezone: str = "UTC",
    ) -> None:
        self._templates = templates
        self._variants = variants  # (locale, name) -> template
        self._by_key: dict[str, Template] = {_key(t): t for t in templates.values()}
        self._by_key.update({_key(t): t for t in variants.values()})
        self._by_key.update({_key(t): t for t in partials.values()})
        self._files = {str(t.path) for t in self._by_key.values() if t.path}
        self._timezone = timezone
        self._env: SandboxedEnvironment | None = None

    @classmethod
    def load(cls, dirs: list[Path], *, timezone: str = "UTC") -> TemplateSet:
        """Templates from `dirs` in order, then the shipped ones; earlier files win."""
        templates: dict[str, Template] = {}
        variants: dict[tuple[str, str], Template] = {}
        partials: dict[str, Template] = {}
        shipped = shipped_templates_dir()
        for folder in [*dirs, shipped]:
            if not folder.is_dir():
                if folder == shipped:
                    continue
                raise TemplateError(
                    "templates folder not found",
                    where=Location(file=str(folder)),
                    hint="Create it (`notify init` writes one) or fix `templates:` in the config",
                )
            source = "shipped" if folder == shipped else str(folder)
            for path in sorted(folder.glob(f"*{SUFFIX}")):
                name = path.name.removesuffix(SUFFIX)
                found = partials if name.startswith("_") else templates
                if name not in found:
                    found[name] = read_template(path, name, source)
            for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
                for path in sorted(sub.glob(f"*{SUFFIX}")):
                    name = path.name.removesuffix(SUFFIX)
                    if (sub.name, name) not in variants:
                        variants[(sub.name, name)] = read_template(path, name, source, sub.name)
        return cls(templates, variants, partials, timezone)

    def names(self) -> list[str]:
        return sorted(self._templates)

    def get(self, name: str) -> Template:
        template = self._templates.get(name.removesuffix(SUFFIX))
        if template is None:
            close = difflib.get_close_matches(name, self.names(), n=1)
            guess = f"Did you mean {close[0]!r}? " if close else ""
            raise TemplateError(
                f"no template named {name!r}",
                hint=f"{guess}Available: {', '.join(self.names()) or 'none'}",
            )
        return template

    def variant(self, name: str, locale: str | None) -> Template:
        """The template for `locale` (exact, then its language), else the default one."""
        template = self.get(name)
        if locale:
            language = re.split(r"[-_]", locale)[0]
            for candidate in dict.fromkeys(
                [locale, locale.replace("_", "-"), locale.replace("-", "_"), language]
            ):
                found = self._variants.get((candidate, template.name))
                if found is not None:
                    return found
        return template

    def check(self) -> list[TemplateError]:
        """Compile every template and variant: the syntax errors `notify check` reports."""
        problems = []
        for template in [*self._templates.values(), *self._variants.values()]:
            try:
                self._compiled(template)
            except TemplateError as exc:
                problems.append(exc)
        return problems

    def render(
        self,
        name: str,
        context: Mapping[str, Any],
        *,
        channel_type: str,
        part: Literal["short", "body"],
        locale: str | None = None,
    ) -> RenderedParts:
        template = self.variant(name, locale)
        compiled = self._compiled(template)
        blocks = compiled.blocks
        type_block = channel_type.replace("-", "_")
        text_block = type_block if type_block in blocks else part
        subject_block = f"{type_block}_subject" if f"{type_block}_subject" in blocks else "subject"
        if text_block not in blocks:
            raise TemplateError(
                f"template {template.name!r} has no `{part}` block, which {channel_type} "
                "channels need",
                where=Location(file=str(template.path) if template.path else None),
                hint=f"Add {{% block {part} %}}...{{% endblock %}} (or a `{type_block}` block)",
            )
        if subject_block in blocks:
            subject = self._run(compiled, subject_block, context)
        else:
            subject = _title(context)
        text = self._run(compiled, text_block, context).strip()
        if part == "body":
            text = _BLANK_RUNS.sub("\n\n", text)
        return RenderedParts(subject=clean_subject(subject), text=text)

    # -- internals ------------------------------------------------------------------------------

    def _environment(self) -> SandboxedEnvironment:
        if self._env is None:
            self._env = build_environment(self._source, self._timezone)
        return self._env

    def _source(self, key: str) -> tuple[str, str, Callable[[], bool]] | None:
        template = self._by_key.get(key if key.endswith(SUFFIX) else key + SUFFIX)
        if template is None:
            return None
        return template.text, str(template.path), lambda: True

    def _compiled(self, template: Template) -> JinjaTemplate:
        from jinja2 import TemplateSyntaxError

        try:
            # The environment caches it: each template is compiled once per TemplateSet.
            return self._environment().get_template(_key(template))
        except TemplateSyntaxError as exc:
            raise syntax_error(exc, str(template.path)) from None

    def _run(self, compiled: JinjaTemplate, block: str, context: Mapping[str, Any]) -> str:
        env = self._environment()
        ctx = compiled.new_context(dict(context), shared=False)
        try:
            return render_bounded(env, compiled.blocks[block](ctx))  # time and output budget
        except Exception:
            raise_render_error(env, self._files, block, compiled.filename)


def _key(template: Template) -> str:
    prefix = f"{template.locale}/" if template.locale else ""
    return f"{prefix}{template.name}{SUFFIX}"
