"""Server-rendered SVG charts shared by the admin Charts page and the Reports: one axis, one frame.

No chart library, no CDN, no script: pure functions from numbers to escaped markup, so a
saved report file looks the same as the page.
"""
