"""The sandboxed Jinja environment templates run in, and its errors turned into TemplateErrors.

jinja2 is imported inside functions: only commands that render load it (`notify --help` stays fast).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from notify.errors import Location, NotifyError, TemplateError
from notify.render.budget import RenderBudgetExceeded, bounded_sandbox_class
from notify.render.filters import make_filters
from notify.render.marks import mark

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

CONTEXT_NAMES = (
    "incident, update, org, vars, channel, recipient (where delivered per recipient), now"
)
_UNDEFINED_NAME = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")

SourceLoader = Callable[[str], "tuple[str, str, Callable[[], bool]] | None"]


def build_environment(load_source: SourceLoader, timezone: str = "UTC") -> SandboxedEnvironment:
    """A sandboxed environment: strict undefined, no autoescape, variable output marked."""
    from jinja2 import FunctionLoader, StrictUndefined

    filters = make_filters(timezone)
    show_datetime = filters["datetime"]

    def finalize(value: Any) -> str:
        # Every `{{ expr }}` passes here: variable text is marked so formats keep it literal.
        if value is None:
            return ""
        if isinstance(value, datetime):
            return mark(show_datetime(value))
        return mark(str(value))

    env = bounded_sandbox_class()(  # each block rendered within a time and output budget
        loader=FunctionLoader(load_source),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # a run renders from one snapshot of the templates
        finalize=finalize,
        extensions=["jinja2.ext.loopcontrols"],
    )
    env.filters.update(filters)
    return env


def syntax_error(exc: Any, fallback_file: str | None) -> TemplateError:
    """A jinja2.TemplateSyntaxError as a TemplateError at file:line."""
    where = Location(file=exc.filename or fallback_file, line=exc.lineno)
    return TemplateError(
        f"template syntax error: {exc.message}",
        where=where,
        hint="Check the {% %} and {{ }} tags near that line (every block needs its {% endblock %})",
    )


def _template_frame(tb: TracebackType | None, files: set[str]) -> tuple[str | None, int | None]:
    """The innermost traceback frame that is a template line (after jinja's rewrite)."""
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in files:
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _line_text(file: str | None, line: int | None) -> str:
    if not file or not line:
        return ""
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _undefined(exc: Exception, where: Location) -> TemplateError:
    """`vars.eta` is undefined, with how to pass or guard it."""
    match = _UNDEFINED_NAME.search(str(exc))
    name = (match.group(1) or match.group(2)) if match else None
    expr = name
    if name:
        # Jinja knows only the last name; the template line shows the full dotted path.
        found = re.search(
            rf"((?:[A-Za-z_]\w*\.)*){re.escape(name)}\b", _line_text(where.file, where.line)
        )
        if found:
            expr = found.group(0)
    if not expr:
        return TemplateError(
            f"undefined variable: {exc}", where=where, hint=f"Templates get {CONTEXT_NAMES}"
        )
    if expr.startswith("vars."):
        key = expr.removeprefix("vars.")
        hint = f"Pass it with --set {key}=VALUE, or guard it with {{% if {expr} is defined %}}"
    else:
        hint = f"Guard it with {{% if {expr} is defined %}}; templates get {CONTEXT_NAMES}"
    return TemplateError(f"undefined variable `{expr}`", where=where, hint=hint)


def raise_render_error(
    env: SandboxedEnvironment, files: set[str], block: str, template: str | None = None
) -> NoReturn:
    """Called inside `except`: re-raise the current exception as a TemplateError at file:line
    (the `template` file's, when no template line is on the traceback)."""
    from jinja2 import UndefinedError
    from jinja2.sandbox import SecurityError

    try:
        env.handle_exception()  # rewrites the traceback so frames carry template file and line
    except NotifyError:
        raise
    except Exception as exc:
        file, line = _template_frame(exc.__traceback__, files)
        file = file or template
        where = Location(file=file, line=line)
        if isinstance(exc, UndefinedError):
            raise _undefined(exc, where) from None
        if isinstance(exc, RenderBudgetExceeded):
            raise TemplateError(
                f"template {Path(file).name if file else ''} stopped in its `{block}` block: {exc}",
                where=where,
                hint="Look for loops that never end or grow the output without bound "
                "(NOTIFY_TEMPLATE_TIMEOUT sets the time allowed, in seconds)",
            ) from None
        if isinstance(exc, SecurityError):
            raise TemplateError(
                f"the sandbox refused an unsafe operation: {exc}",
                where=where,
                hint="Templates may read variables and call filters, nothing else",
            ) from None
        raise TemplateError(
            f"rendering the `{block}` block failed: {exc}",
            where=where,
            hint="Guard optional values with {% if ... %}",
        ) from None
