"""Tracker text stays text: what a title or a comment says is shown, never interpreted.

Linear renders comment bodies as Markdown, so a title like `[click](https://evil)`, an
image, or a profile URL (which Linear turns into a mention) would become live in
Flowkeeper's comment. Values put into a comment are escaped for the tracker that shows
them: Markdown for Linear; nothing for Jira, whose comments are ADF text nodes (literal
by construction). A rule's own template text is the author's, and stays Markdown.
"""

from __future__ import annotations

import re

from rules.model import Tracker

_INLINE = re.compile(r"([\\`*_\[\]()<>!|~#])")
_LINE_START = re.compile(r"(?m)^([ \t]*)([-+>]|\d+[.)])(?=[ \t]|$)")
_WWW = re.compile(r"(?i)\b(www)\.")


def markdown_literal(text: str) -> str:
    """`text` as Markdown that shows exactly `text`: no link, image, emphasis, list or autolink."""
    text = _INLINE.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: f"{m.group(1)}{m.group(2)[:-1]}\\{m.group(2)[-1]}", text)
    text = text.replace("://", ":\\/\\/")  # no bare URL becomes a link (or a Linear mention)
    return _WWW.sub(r"\1\\.", text)


def literal_for(tracker: Tracker | str, text: str) -> str:
    return markdown_literal(text) if Tracker(tracker) is Tracker.LINEAR else text
