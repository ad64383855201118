"""Rendering: templates -> the text each channel sends, and lengths as each platform counts them.

- `templates`: find templates, read front matter, render the part a channel type takes
  (`TemplateSet`, `RenderedParts`, `shipped_templates_dir`).
- `formats`: Markdown body -> plain, email HTML, Slack, Telegram, Discord, Teams; `build_message`.
- `length`: SMS segments, X weighted length, graphemes, UTF-16 units.
- `truncate`: `truncate_to_fit` for channels set to `overflow: truncate`.
- `filters`, `marks`, `markdown`, `writers`, `email_html`, `environment`: their internals.

Nothing is imported here, so `import notify.render.length` stays light; jinja2 and markdown-it
load only when a template is rendered or a body converted.
"""
