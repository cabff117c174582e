"""A CommentBody → the Markdown Linear renders, with a marker that makes posts idempotent.

Linear turns a user's profile URL in a Markdown body into a mention (with a notification);
a plain "@name" would stay text. The marker is inline code, which Linear stores verbatim,
so `comments(filter: {body: {contains: marker}})` finds the comment again.
"""

from __future__ import annotations

from urllib.parse import quote

from integration.trackers.base import WriteMarker
from rules.model import CommentBody, Mention, Person


def mention(person: Person, workspace_url_key: str | None) -> str:
    """A mention Linear renders: the profile URL when the workspace and handle are known."""
    handle = person.name or person.id
    if workspace_url_key and person.name:
        return f"https://linear.app/{quote(workspace_url_key)}/profiles/{quote(handle)}"
    return f"@{handle}"


def marker_text(marker: WriteMarker) -> str:
    return f"`{marker.token}`"


def render(body: CommentBody, marker: WriteMarker, workspace_url_key: str | None) -> str:
    """Markdown for `commentCreate`: the segments, then the marker on its own line."""
    text = "".join(
        mention(s.person, workspace_url_key) if isinstance(s, Mention) else s.text for s in body.segments
    )
    return f"{text.rstrip()}\n\n{marker_text(marker)}"
