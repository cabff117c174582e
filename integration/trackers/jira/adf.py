"""Flowkeeper comments as Jira REST v3 bodies: ADF with real mentions, plus the marker.

ADF has no invisible text, so a comment's identity (rule, item, episode, step) travels as
a comment property, which a retry or a second worker can look up before posting again;
a short visible footer tells people which rule wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from integration.trackers.base import WriteMarker
from rules.model import CommentBody, Mention, Text

MARKER_PROPERTY = "flowkeeper"


def marker_value(marker: WriteMarker) -> dict[str, Any]:
    return {
        "token": marker.token,
        "rule": marker.rule,
        "item": marker.item_key,
        "episode": marker.episode,
        "step": marker.step,
    }


def footer(marker: WriteMarker) -> str:
    return f"Flowkeeper · rule {marker.rule}"


def comment_request(body: CommentBody, marker: WriteMarker) -> dict[str, Any]:
    """The JSON body of `POST /rest/api/3/issue/{key}/comment` (and of its update)."""
    return {
        "body": to_adf(body, footer(marker)),
        "properties": [{"key": MARKER_PROPERTY, "value": marker_value(marker)}],
    }


def to_adf(body: CommentBody, footer_text: str | None = None) -> dict[str, Any]:
    """Blank lines split paragraphs, single newlines become hard breaks, mentions stay real."""
    paragraphs: list[list[dict[str, Any]]] = [[]]
    for segment in body.segments:
        if isinstance(segment, Mention):
            paragraphs[-1].append(_mention(segment))
            continue
        assert isinstance(segment, Text)
        for index, chunk in enumerate(segment.text.split("\n\n")):
            if index:
                paragraphs.append([])
            _append_lines(paragraphs[-1], chunk)
    content = [{"type": "paragraph", "content": nodes} for nodes in paragraphs if nodes]
    if footer_text:
        marks = [{"type": "em"}]
        content.append(
            {"type": "paragraph", "content": [{"type": "text", "text": footer_text, "marks": marks}]}
        )
    return {"type": "doc", "version": 1, "content": content}


def _append_lines(nodes: list[dict[str, Any]], chunk: str) -> None:
    for index, line in enumerate(chunk.split("\n")):
        if index:
            nodes.append({"type": "hardBreak"})
        nodes.extend(inline_nodes(line))


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def inline_nodes(line: str) -> list[dict[str, Any]]:
    """Text nodes for one line; Markdown `code` spans become ADF `code` marks.

    Jira renders an ADF body as it is, so backticks a reply or template writes would show
    literally; the mark shows them as code, as Linear shows the same Markdown.
    """
    nodes: list[dict[str, Any]] = []
    at = 0
    for match in _CODE_SPAN.finditer(line):
        if match.start() > at:
            nodes.append({"type": "text", "text": line[at : match.start()]})
        nodes.append({"type": "text", "text": match.group(1), "marks": [{"type": "code"}]})
        at = match.end()
    if at < len(line):
        nodes.append({"type": "text", "text": line[at:]})
    return nodes


def _mention(segment: Mention) -> dict[str, Any]:
    who = segment.person
    return {"type": "mention", "attrs": {"id": who.id, "text": f"@{who.name or who.id}"}}


def carries_marker(comment: Mapping[str, Any], marker: WriteMarker) -> bool:
    """Whether a comment (expanded with its properties) is the Flowkeeper write `marker` names."""
    for prop in comment.get("properties") or ():
        if isinstance(prop, Mapping) and prop.get("key") == MARKER_PROPERTY:
            value = prop.get("value")
            if isinstance(value, Mapping) and value.get("token") == marker.token:
                return True
    return False
