"""The status site: the journal rendered as static files (pages, feeds, Statuspage JSON, banner,
badge) that any static host can serve. `build.build_site` is the one entry point; the `site`
channel and `notify site build` both call it.
"""
