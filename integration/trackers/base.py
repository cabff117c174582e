"""The one protocol every tracker client offers, and the one error family it raises.

The executor and sweeps talk only to this protocol, so a Jira site, a Linear workspace
and the stub tracker are interchangeable in every test.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rules.model import (
    ActorKind,
    Change,
    CommentBody,
    Item,
    Person,
    SearchPage,
    SearchQuery,
    Status,
    Tracker,
    TransitionTarget,
)

if TYPE_CHECKING:
    from integration.trackers.linear.ratelimit import RateBudget


class TrackerError(Exception):
    """A tracker call failed. `retryable` says whether trying again later may succeed."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(TrackerError):
    """The tracker asked us to slow down; `retry_after` seconds is its own estimate."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class TrackerUnavailable(TrackerError):
    """5xx, timeouts, connection failures: transient by nature."""

    retryable = True


class NotFound(TrackerError):
    """The item (or label, user) does not exist, or we may not see it."""


class PermissionDenied(TrackerError):
    """Credentials work but may not do this (e.g. create a label, comment on a project)."""


class NoTransition(TrackerError):
    """No transition of the item's workflow leads to the wanted status; the message says
    which ones there are, so the audit log explains it. Trying again will not help."""


@dataclass(frozen=True, slots=True)
class WriteMarker:
    """Identity of one Flowkeeper write, carried by the comment so it is never posted twice."""

    rule: str
    item_key: str
    episode: int
    step: str

    @property
    def token(self) -> str:
        return f"flowkeeper:{self.rule}:{self.item_key}:{self.episode}:{self.step}"


def as_own(actor: Person | None, me: str | None, bots: Collection[str] = ()) -> Person | None:
    """`actor`, marked as Flowkeeper when it is the account this deployment acts as, and as a bot
    when FLOWKEEPER_BOT_ACCOUNTS lists its id or email (`bots`, case-folded): automation running
    as an ordinary user is no person's activity."""
    if actor is None:
        return None
    if actor.id == me:
        return replace(actor, kind=ActorKind.FLOWKEEPER)
    if bots and actor.kind is ActorKind.HUMAN and (
            actor.id.casefold() in bots or (actor.email is not None and actor.email.casefold() in bots)):
        return replace(actor, kind=ActorKind.BOT)
    return actor


@runtime_checkable
class TrackerClient(Protocol):
    tracker: Tracker

    def whoami(self) -> Person:
        """The service account Flowkeeper acts as (cached by implementations)."""

    def get_item(self, key: str) -> Item:
        """A complete Item, read from the tracker itself (not from eventually consistent search)."""

    def search(self, query: SearchQuery, page_token: str | None = None, page_size: int = 100) -> SearchPage:
        """One page of candidates for a sweep; follow `next_token` until None."""

    def status_history(self, key: str) -> Sequence[tuple[Change, Person | None, object]]:
        """Status changes as (change, actor, when), oldest first, for time-in-status."""

    def activity(self, key: str) -> Sequence[tuple[Change, Person | None, object]]:
        """Every recorded change and comment (field "comment") as (change, actor, when), oldest
        first: bots marked BOT, this deployment's own account FLOWKEEPER."""

    def find_marked_comment(self, item: Item, marker: WriteMarker) -> str | None:
        """Id of an existing Flowkeeper comment carrying `marker`, if any."""

    def add_comment(self, item: Item, body: CommentBody, marker: WriteMarker) -> str:
        """Post a comment carrying `marker`; returns the comment id."""

    def add_labels(self, item: Item, labels: Sequence[str]) -> None:
        """Add labels as a diff: labels a person added meanwhile are kept."""

    def remove_labels(self, item: Item, labels: Sequence[str]) -> None:
        """Remove labels as a diff."""

    def transition(self, item: Item, target: TransitionTarget) -> Status:
        """Move the item through its workflow; the status it is in now. NoTransition when none leads there."""

    def assign(self, item: Item, person: Person | None) -> None:
        """Give the item to `person` (by account id, else looked up by email); None unassigns."""


@runtime_checkable
class OrganizationScoped(Protocol):
    """A tracker whose webhooks name the workspace they come from (Linear's organization)."""

    def organization_id(self) -> str:
        """The connected workspace: the receiver refuses deliveries for any other."""


@runtime_checkable
class SiteFactsReporting(Protocol):
    """A tracker whose webhooks need facts only its API can tell (Jira's story points field)."""

    def site_facts(self) -> dict[str, str]:
        """What the receiver's normalizer needs, kept in the store for the web processes."""


@runtime_checkable
class WorkspaceCataloging(Protocol):
    """A tracker whose webhooks name workflow states and labels only by id (Linear)."""

    def workspace_catalog(self) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
        """Every workflow state (id → name, type) and label (id → name) the service account sees."""


@runtime_checkable
class BatchReading(Protocol):
    """A tracker that reads many items in one request as freshly as `get_item` reads one."""

    def get_items(self, items: Sequence[Item]) -> list[Item]:
        """The current state of `items`, in few requests; those the tracker cannot find or
        show are left out (deleted, moved out of reach). A transient failure raises."""


@runtime_checkable
class SubtaskSelecting(Protocol):
    """A tracker whose searches read sub-tasks only when asked (Linear: they cost complexity points)."""

    def select_subtasks(self, wanted: Callable[[], bool]) -> None:
        """`wanted()` says, at each search, whether a loaded rule reads sub-tasks."""


@runtime_checkable
class RateLimitReporting(Protocol):
    """A tracker that says in each answer how much of its rate limit is left (Linear)."""

    def rate_budget(self) -> RateBudget:
        """What the tracker's last answer said is left."""


def iter_search(client: TrackerClient, query: SearchQuery, page_size: int = 100) -> Iterator[Item]:
    """Every candidate of a search, following each tracker's page token lazily."""
    token: str | None = None
    while True:
        page = client.search(query, token, page_size)
        yield from page.items
        if page.next_token is None:
            return
        token = page.next_token
