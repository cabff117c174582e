"""The tracker-neutral vocabulary every stage speaks.

Normalizers turn raw tracker JSON into these types; rules see only these types; the
executor turns a Plan into tracker writes. Everything is frozen so an Item can be shared
between evaluations without anyone mutating it behind another's back.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

EMPTY_MAPPING: Mapping[str, Any] = MappingProxyType({})


class Tracker(str, enum.Enum):
    JIRA = "jira"
    LINEAR = "linear"


class StatusCategory(str, enum.Enum):
    """The four categories rules match on by default; UNKNOWN when the tracker won't say."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELED = "canceled"
    UNKNOWN = "unknown"


class ActorKind(str, enum.Enum):
    """Who made a change: only HUMAN activity counts towards staleness."""

    HUMAN = "human"
    BOT = "bot"
    FLOWKEEPER = "flowkeeper"


class EventKind(str, enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    COMMENT_CREATED = "comment_created"
    COMMENT_UPDATED = "comment_updated"
    LABEL_CHANGED = "label_changed"  # a label definition changed (Linear IssueLabel)
    SCHEDULE = "schedule"  # a sweep, not a webhook


@dataclass(frozen=True, slots=True)
class Person:
    """A tracker account. `id` is Jira's accountId or Linear's user id.

    `url` is the profile address the tracker itself gives (Linear mentions a user by it);
    None when the payload did not carry it: a mention is then never guessed from the name.
    """

    id: str
    name: str | None = None
    email: str | None = None
    kind: ActorKind = ActorKind.HUMAN
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    category: StatusCategory
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Priority:
    """`rank` orders urgency: 1 is most urgent; None means "no priority" was set."""

    name: str
    rank: int | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A relation to another item, e.g. kind='blocked_by'. Status is None when not carried."""

    kind: str
    key: str
    status_category: StatusCategory | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One tracker issue, tracker-neutral.

    A field the source did not carry is listed in `unknown` (its value here is only a
    placeholder): partial payloads are unknown, not empty. Jobs fill unknown fields from
    the tracker or the mirror before rules see the item.
    """

    tracker: Tracker
    id: str
    key: str
    url: str | None = None
    title: str = ""
    description: str | None = None
    type: str | None = None
    status: Status = Status("", StatusCategory.UNKNOWN)
    assignee: Person | None = None
    reporter: Person | None = None
    labels: tuple[str, ...] = ()
    priority: Priority | None = None
    estimate: float | None = None
    team: str | None = None  # Jira project key / Linear team key: the scope rules use
    project: str | None = None  # Linear project name / Jira epic name where known
    parent: str | None = None  # key of the parent issue or epic
    sprint: str | None = None  # Jira sprint / Linear cycle
    links: tuple[Link, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    status_changed_at: datetime | None = None
    due_date: date | None = None
    last_activity_at: datetime | None = None  # from the mirror: last activity that counts
    custom: Mapping[str, Any] = field(default_factory=lambda: EMPTY_MAPPING, compare=False)
    deleted: bool = False
    unknown: frozenset[str] = frozenset()
    last_comment_at: datetime | None = None  # from the mirror: last human comment (clock choice)
    # whether the item's sprint / cycle and its project are still running (None: not known)
    sprint_active: bool | None = None
    project_active: bool | None = None
    # planning: fix versions (Jira) / the project milestone (Linear); the sprint's or cycle's state
    # (active, upcoming, completed) and the project's (backlog, planned, started, paused, completed,
    # canceled) as the tracker said when the item was read; how many sub-tasks / sub-issues it has
    milestones: tuple[str, ...] = ()
    sprint_state: str | None = None
    project_state: str | None = None
    subtasks: int | None = None

    @property
    def is_partial(self) -> bool:
        return bool(self.unknown)

    def with_fields(self, **changes: Any) -> Item:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Change:
    """One field changed by an event. For multi-value fields `added`/`removed` hold the diff."""

    field: str
    old: Any = None
    new: Any = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    body: str
    author: Person | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """What happened: one delivery, normalized. `item` may be partial (see Item.unknown)."""

    tracker: Tracker
    kind: EventKind
    item: Item
    occurred_at: datetime
    delivery_id: str | None = None
    actor: Person | None = None
    changes: tuple[Change, ...] = ()
    comment: Comment | None = None
    source_type: str = ""  # the tracker's own event name, e.g. "jira:issue_updated"
    organization_id: str | None = None

    def change_of(self, field_name: str) -> Change | None:
        for change in self.changes:
            if change.field == field_name:
                return change
        return None


# ---- what rules decide ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Mention:
    person: Person


Segment = Text | Mention


@dataclass(frozen=True, slots=True)
class CommentBody:
    """A rendered comment: text with real mentions; each tracker client renders it."""

    segments: tuple[Segment, ...]

    @property
    def plain(self) -> str:
        return "".join(
            s.text if isinstance(s, Text) else f"@{s.person.name or s.person.id}" for s in self.segments
        )


class ActionKind(str, enum.Enum):
    COMMENT = "comment"
    ADD_LABELS = "add_labels"
    REMOVE_LABELS = "remove_labels"
    TRANSITION = "transition"
    ASSIGN = "assign"
    UNASSIGN = "unassign"


@dataclass(frozen=True, slots=True)
class TransitionTarget:
    """Where a transition leads: a status category or a named status (one of the two).

    `resolution` asks Jira for a resolution by name (a canceled close picks a not-completed
    one such as "Won't Do" when unset); `note` is the close or reopen reason people read in
    the audit log and `explain`; `reopen` marks a return to the status Flowkeeper closed from.
    """

    category: StatusCategory | None = None
    status: str | None = None
    resolution: str | None = None
    note: str | None = None
    reopen: bool = False

    @property
    def label(self) -> str:
        where = self.status if self.status else (self.category.value if self.category else "?")
        return f"reopen to {where}" if self.reopen else f"to {where}"


@dataclass(frozen=True, slots=True)
class Action:
    """One intended write. (rule, item, episode, step) identifies it for idempotency."""

    kind: ActionKind
    rule: str
    reason: str
    episode: int = 1
    step: str = "0"
    comment: CommentBody | None = None
    labels: tuple[str, ...] = ()
    dry_run: bool = False  # the rule's own dry run; it can only make things drier
    transition: TransitionTarget | None = None
    assignee: Person | None = None  # the person an `assign` gives the item to

    @property
    def identity(self) -> str:
        return f"{self.rule}/{self.episode}/{self.step}/{self.kind.value}"

    @property
    def detail(self) -> str:
        """What the write would change, as a person reads it: labels, comment text, target, assignee."""
        if self.transition is not None:
            note = f" ({self.transition.note})" if self.transition.note else ""
            return f"{self.transition.label}{note}"
        if self.kind is ActionKind.ASSIGN and self.assignee is not None:
            return f"to {self.assignee.name or self.assignee.email or self.assignee.id}"
        if self.labels:
            return ", ".join(self.labels)
        return self.comment.plain if self.comment is not None else ""


class EpisodeChange(str, enum.Enum):
    OPEN = "open"  # the rule's condition started to hold on this item
    CLOSE = "close"  # it stopped holding


@dataclass(frozen=True, slots=True)
class EpisodeTransition:
    rule: str
    change: EpisodeChange
    episode: int


@dataclass(frozen=True, slots=True)
class NoAction:
    """Why a rule did nothing. `reason` is built lazily: nobody reads most of them."""

    rule: str
    why: Any  # a str, or a zero-argument callable returning str

    @property
    def reason(self) -> str:
        return self.why() if callable(self.why) else str(self.why)


@dataclass(frozen=True, slots=True)
class Plan:
    item: Item
    actions: tuple[Action, ...] = ()
    transitions: tuple[EpisodeTransition, ...] = ()
    no_actions: Sequence[NoAction] = ()  # a tuple, or verdicts worked out when first read


# ---- what the store tells the (pure) engine ------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleState:
    """The store's memory of one rule on one item: its open episode and the steps done."""

    rule: str
    episode: int
    active: bool
    opened_at: datetime | None = None
    steps_done: frozenset[str] = frozenset()
    last_action_at: datetime | None = None
    steps_at: tuple[tuple[str, datetime], ...] = ()  # when each step was done, where the store knows it

    def done_at(self, step: str) -> datetime | None:
        """When `step` was done in this episode: its recorded time, else (a step recorded before times
        were kept) the last action's, which is never earlier than the truth."""
        if step not in self.steps_done:
            return None
        return next((at for s, at in self.steps_at if s == step), self.last_action_at)


@dataclass(frozen=True, slots=True)
class EvalContext:
    """Read-only facts from the mirror the evaluator may use; never does I/O itself."""

    rule_states: Mapping[str, RuleState] = field(default_factory=lambda: EMPTY_MAPPING)
    wip_by_assignee: Mapping[str, int] = field(default_factory=lambda: EMPTY_MAPPING)  # in-progress counts
    snoozed_until: datetime | None = None
    exempt_rules: frozenset[str] = frozenset()
    overrides: Mapping[str, Mapping[str, bool]] = field(default_factory=lambda: EMPTY_MAPPING)  # rule → enabled/dry_run
    # last counting (human) activity by kind: "any", "comment", "status", "assignee"
    last_activity_by: Mapping[str, datetime] = field(default_factory=lambda: EMPTY_MAPPING)
    closure: Closure | None = None  # Flowkeeper's own last close of this item, if it still stands
    # flow history, for age_percentile: the item's first start, and each team's recent cycle times
    # (days, sorted) — read only when a rule uses it
    started_at: datetime | None = None
    cycle_days_by_team: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: EMPTY_MAPPING)
    # the clocks rules.clocks reads from the history: "label:<name>", "field:<name>", "by:<person id>"
    clocks: Mapping[str, datetime] = field(default_factory=lambda: EMPTY_MAPPING)
    # work in progress per group ("assignee:<id>", "team:<key>", "status:<name>"), and each
    # group's most recently started item id: limits across items (rules.limits)
    wip_groups: Mapping[str, int] = field(default_factory=lambda: EMPTY_MAPPING)
    wip_latest: Mapping[str, str] = field(default_factory=lambda: EMPTY_MAPPING)
    # labels on the item that Flowkeeper put on (casefolded) and nobody took off or put on since;
    # None when not known (then a flag label on the item is taken as Flowkeeper's)
    own_labels: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Closure:
    """Flowkeeper closed the item: when, by which rule, and the status it came from (for reopen)."""

    rule: str
    at: datetime
    previous: Status
    to: Status


# ---- what sweeps ask the tracker for -------------------------------------------------


# the orders a sweep may work in; the first is the default
SWEEP_ORDERS = ("oldest_updated", "newest_updated", "oldest_created", "newest_created")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A tracker-neutral candidate query a sweep pushes down into JQL / a Linear filter.

    Every bound may only narrow towards candidates that could match: items carrying
    one of `always_include_labels` (our own flags) are included whatever else says.
    """

    teams: tuple[str, ...] = ()
    status_categories: tuple[StatusCategory, ...] = ()
    status_names: tuple[str, ...] = ()
    updated_before: datetime | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    custom_empty: tuple[str, ...] = ()  # mapped custom fields (by name) that must be empty
    custom_not_empty: tuple[str, ...] = ()  # … or must hold a value
    labels_none_of: tuple[str, ...] = ()
    labels_any_of: tuple[str, ...] = ()
    # (Item field as rules name it, values): the field holds one of the values, ignoring case;
    # (field, True) the field is empty, (field, False) it holds a value. Each entry narrows on its
    # own (all must hold); a tracker whose query language cannot say one leaves it out.
    field_in: tuple[tuple[str, tuple[str, ...]], ...] = ()
    field_empty: tuple[tuple[str, bool], ...] = ()
    always_include_labels: tuple[str, ...] = ()
    extra: str | None = None  # a rule's own JQL / Linear filter (JSON) narrowing sweeps
    # a follow-up sweep: only what changed since (the rest is judged from the mirror); it bounds
    # the flagged items too, unlike the bounds above
    changed_since: datetime | None = None
    order: str = SWEEP_ORDERS[0]  # which candidates come first (see SWEEP_ORDERS)


@dataclass(frozen=True, slots=True)
class SearchPage:
    items: tuple[Item, ...]
    next_token: str | None = None
