"""A CommentBody → the Markdown Linear renders, with a marker that makes posts idempotent.

Linear turns a user's profile URL in a Markdown body into a mention (with a notification);
a plain "@name" stays text. The URL is the one Linear gives for the user (`url` in the
payload and the API), never one built from a display name, which Linear would not resolve.
The marker is inline code, which Linear stores verbatim, so
`comments(filter: {body: {contains: marker}})` finds the comment again.
"""

from __future__ import annotations

from integration.trackers.base import WriteMarker
from rules.model import CommentBody, Mention, Person


def mention(person: Person) -> str:
    """The user's own profile URL (a real mention), else their name as plain text."""
    if person.url:
        return person.url
    return f"@{person.name or person.id}"


def marker_text(marker: WriteMarker) -> str:
    return f"`{marker.token}`"


def render(body: CommentBody, marker: WriteMarker) -> str:
    """Markdown for `commentCreate`: the segments, then the marker on its own line."""
    text = "".join(mention(s.person) if isinstance(s, Mention) else s.text for s in body.segments)
    return f"{text.rstrip()}\n\n{marker_text(marker)}"
