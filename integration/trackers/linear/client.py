"""Flowkeeper's Linear client: the TrackerClient protocol over Linear's GraphQL API.

Reads return complete Items (`normalize_issue`), search pushes the sweep's bounds into an
`IssueFilter`, and writes are diffs (labels) or carry a marker (comments) so nothing is
written twice and no change a person made is lost. Transport, budget and error mapping
live in `LinearGateway`; label rules in `LabelResolver`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from integration.trackers.base import NotFound, TrackerError, WriteMarker, as_own, iter_search
from integration.trackers.linear.comments import marker_text, render
from integration.trackers.linear.complexity import MAX_QUERY_COMPLEXITY, estimate
from integration.trackers.linear.filter import by_ids, to_filter, to_sort
from integration.trackers.linear.gateway import LinearGateway
from integration.trackers.linear.item import (
    LinearConfig,
    normalize_issue,
    parse_datetime,
    person_of,
    status_of,
)
from integration.trackers.linear.labels import LabelResolver
from integration.trackers.linear.ops import document
from integration.trackers.linear.ratelimit import RateBudget
from integration.trackers.linear.workflow import choose_state
from integration.trackers.retry import RetryPolicy
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

HISTORY_PAGE = 50
HISTORY_MAX_PAGES = 20
NAMES_PAGE = 250  # workflow states, labels and teams per page for `rules check --online`
NAMES_MAX_PAGES = 40


def search_operation(subtasks: bool) -> str:
    """The search selects sub-issues (`children`) only when a loaded rule reads them."""
    return "SearchIssues" if subtasks else "SearchIssuesWithoutSubtasks"


def max_page_size(wanted: int, operation: str = "SearchIssues") -> int:
    """The largest page ≤ `wanted` whose search query stays under the complexity cap."""
    size = max(1, min(wanted, 250))
    while size > 1 and estimate(document(operation), {"first": size}) > MAX_QUERY_COMPLEXITY:
        size -= 10 if size > 10 else 1
    return size


class LinearClient:
    """One Linear workspace, acting as the API key's (dedicated) user."""

    tracker = Tracker.LINEAR

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        config: LinearConfig,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        allow_label_create: bool = True,
        bot_accounts: Collection[str] = frozenset(),
    ) -> None:
        self.gateway = LinearGateway(api_url, api_key, timeout=timeout, retry=retry, sleep=sleep)
        self.bot_accounts = frozenset(bot_accounts)  # FLOWKEEPER_BOT_ACCOUNTS, case-folded
        self.config = config
        self.labels = LabelResolver(self.gateway, allow_create=allow_label_create)
        self._viewer: dict[str, Any] | None = None
        self._subtasks: Callable[[], bool] = lambda: True

    def select_subtasks(self, wanted: Callable[[], bool]) -> None:
        """Ask `wanted` before each search whether to read sub-issues (a loaded rule reads them)."""
        self._subtasks = wanted

    # ---- identity -----------------------------------------------------------------

    def _viewer_node(self) -> dict[str, Any]:
        if self._viewer is None:
            self._viewer = self.gateway.execute("Viewer")["viewer"]
        return self._viewer

    def whoami(self) -> Person:
        viewer = self._viewer_node()
        person = person_of(viewer, self.config)
        assert person is not None
        return Person(id=person.id, name=person.name, kind=ActorKind.FLOWKEEPER)

    def organization_id(self) -> str:
        """The API key's organization: deliveries for any other are refused."""
        return str(self._viewer_node()["organization"]["id"])

    def rate_budget(self) -> RateBudget:
        """What Linear's last answer said is left: sweeps slow their writes before it runs out."""
        return self.gateway.budget

    def teams(self) -> list[dict[str, str]]:
        return list(self.gateway.execute("Teams", {"first": 100})["teams"]["nodes"])

    # ---- names (for `flowkeeper rules check --online`) ----------------------------

    def status_names(self) -> set[str]:
        """Every workflow state name in the teams the key's user sees: a renamed state stops a rule."""
        return {str(node["name"]) for node in self._every("WorkflowStateNames", "workflowStates")}

    def existing_labels(self, names: Collection[str]) -> set[str]:
        """Those of `names` that are workspace or team labels (compared casefolded, as rules do)."""
        wanted = {name.casefold(): name for name in names}
        if not wanted:
            return set()
        named = {"or": [{"name": {"eqIgnoreCase": name}} for name in wanted.values()]}
        found = {str(node["name"]).casefold() for node in self._every("LabelsNamed", "issueLabels", filter=named)}
        return {name for folded, name in wanted.items() if folded in found}

    def team_keys(self, keys: Collection[str]) -> set[str]:
        """Those of `keys` that are teams the key's user can see (keys are case sensitive, as scopes are)."""
        return set(keys) & {str(node["key"]) for node in self._every("TeamKeys", "teams")}

    def workspace_catalog(self) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
        """Every workflow state (id → name, type) and label (id → name) the key's user sees."""
        states = {
            str(n["id"]): (str(n["name"]), str(n.get("type") or ""))
            for n in self._every("WorkflowStates", "workflowStates")
        }
        labels = {str(n["id"]): str(n["name"]) for n in self._every("IssueLabels", "issueLabels")}
        return states, labels

    def _every(self, operation: str, field: str, **variables: Any) -> Iterator[dict[str, Any]]:
        """The nodes of a paged connection, page after page (bounded)."""
        after: str | None = None
        for _ in range(NAMES_MAX_PAGES):
            found = self.gateway.execute(operation, {**variables, "first": NAMES_PAGE, "after": after})[field]
            yield from found["nodes"]
            if not found["pageInfo"]["hasNextPage"]:
                return
            after = found["pageInfo"]["endCursor"]

    # ---- reads --------------------------------------------------------------------

    def get_item(self, key: str) -> Item:
        """The complete issue (relations included), by identifier (ENG-7) or id."""
        issue = self.gateway.execute("GetIssue", {"id": key}).get("issue")
        if not issue:
            raise NotFound(f"Linear issue {key} not found")
        return normalize_issue(issue, self.config)

    def get_items(self, items: Sequence[Item]) -> list[Item]:
        """Many issues read again at once: `issues(filter: {id: {in: […]}})`, a page per 100.
        Issues Linear no longer shows (deleted, archived, out of reach) are left out."""
        ids = list(dict.fromkeys(i.id for i in items))
        operation = search_operation(self._subtasks())
        size = max_page_size(100, operation)
        found: list[Item] = []
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            variables = {"filter": by_ids(chunk), "first": len(chunk), "after": None}
            nodes = self.gateway.execute(operation, variables)["issues"]["nodes"]
            found += [normalize_issue(node, self.config) for node in nodes]
        return found

    def search(self, query: SearchQuery, page_token: str | None = None, page_size: int = 100) -> SearchPage:
        """One page of candidates; relations are not fetched in bulk (`links` is unknown), and
        sub-issues only while a loaded rule reads them."""
        operation = search_operation(self._subtasks())
        variables = {"filter": to_filter(query), "sort": to_sort(query),
                     "first": max_page_size(page_size, operation), "after": page_token}
        found = self.gateway.execute(operation, variables)["issues"]
        items = tuple(normalize_issue(node, self.config) for node in found["nodes"])
        info = found["pageInfo"]
        return SearchPage(items=items, next_token=info["endCursor"] if info["hasNextPage"] else None)

    def search_all(self, query: SearchQuery, page_size: int = 100) -> Iterator[Item]:
        """Every candidate, paging until Linear says there is no next page."""
        return iter_search(self, query, page_size)

    def status_history(self, key: str) -> Sequence[tuple[Change, Person | None, object]]:
        """State changes, oldest first, from the issue's history (bounded to 1,000 entries)."""
        entries = [self._state_change(node) for page in self._history(key)
                   for node in (page.get("history") or {}).get("nodes") or () if node.get("toState")]
        entries = [(change, as_own(actor, None, self.bot_accounts), when) for change, actor, when in entries]
        return sorted(entries, key=lambda e: e[2])  # type: ignore[arg-type, return-value]

    def activity(self, key: str) -> Sequence[tuple[Change, Person | None, object]]:
        """Every history entry and the latest comments (field "comment"), each with its actor:
        app users, integrations and FLOWKEEPER_BOT_ACCOUNTS are bots, this deployment's own user is Flowkeeper."""
        entries: list[tuple[Change, Person | None, object]] = []
        comments: dict[str, dict[str, Any]] = {}
        for issue in self._history(key):  # every page carries the latest comments, also one without history
            for node in (issue.get("history") or {}).get("nodes") or ():
                if node.get("toState"):
                    entries.append(self._state_change(node))
                else:
                    entries.append((Change("other"), self._actor(node.get("actor"), node.get("botActor")),
                                    parse_datetime(node["createdAt"], "history.createdAt")))
            comments.update((str(c["id"]), c) for c in ((issue.get("comments") or {}).get("nodes") or ()))
        for comment in comments.values():
            entries.append((Change("comment", None, comment["id"]), self._actor(comment.get("user"), comment.get("botActor")),
                            parse_datetime(comment["createdAt"], "comment.createdAt")))
        me = self.whoami().id
        entries = [(change, as_own(actor, me, self.bot_accounts), when) for change, actor, when in entries]
        return sorted(entries, key=lambda e: e[2])  # type: ignore[arg-type, return-value]

    def _history(self, key: str) -> Iterator[dict[str, Any]]:
        """The issue page by page of its history (bounded to 1,000 entries); each page also carries
        the latest comments, and the first page comes even when the history is empty."""
        after: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            found = self.gateway.execute("IssueActivity", {"id": key, "first": HISTORY_PAGE, "after": after})
            issue = found.get("issue") or {}
            yield issue
            info = (issue.get("history") or {}).get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info["endCursor"]

    def _actor(self, user: dict[str, Any] | None, bot: dict[str, Any] | None) -> Person | None:
        actor = person_of(user, self.config)
        if actor is None and bot:
            actor = Person(id=str(bot.get("id") or bot.get("name")), name=bot.get("name"), kind=ActorKind.BOT)
        return actor

    def _state_change(self, node: dict[str, Any]) -> tuple[Change, Person | None, datetime]:
        old = (node.get("fromState") or {}).get("name")
        change = Change(field="status", old=old, new=node["toState"]["name"])
        when = parse_datetime(node["createdAt"], "history.createdAt")
        assert when is not None
        return change, self._actor(node.get("actor"), node.get("botActor")), when

    # ---- writes -------------------------------------------------------------------

    def find_marked_comment(self, item: Item, marker: WriteMarker) -> str | None:
        found = self.gateway.execute("FindMarkedComment", {"id": item.id, "marker": marker.token})
        nodes = ((found.get("issue") or {}).get("comments") or {}).get("nodes") or []
        return str(nodes[0]["id"]) if nodes else None

    def add_comment(self, item: Item, body: CommentBody, marker: WriteMarker) -> str:
        text = render(body, marker)
        assert marker_text(marker) in text
        made = self.gateway.execute("CreateComment", {"issueId": item.id, "body": text})["commentCreate"]
        if not made.get("success"):
            raise TrackerError(f"Linear did not create the comment on {item.key}")
        return str(made["comment"]["id"])

    def add_labels(self, item: Item, labels: Sequence[str]) -> None:
        ids = self.labels.ids(self._team_id(item), labels, create=True)
        self._update_labels(item, added=list(ids.values()), removed=[])

    def remove_labels(self, item: Item, labels: Sequence[str]) -> None:
        """Remove as a diff; a label Linear does not know is already absent."""
        ids = self.labels.ids(self._team_id(item), labels, create=False)
        if ids:
            self._update_labels(item, added=[], removed=list(ids.values()))

    def _update_labels(self, item: Item, *, added: list[str], removed: list[str]) -> None:
        if not added and not removed:
            return
        variables = {"id": item.id, "added": added or None, "removed": removed or None}
        if not self.gateway.execute("UpdateIssueLabels", variables)["issueUpdate"].get("success"):
            raise TrackerError(f"Linear did not update the labels of {item.key}")

    # ---- workflow and assignee ------------------------------------------------------

    def transition(self, item: Item, target: TransitionTarget) -> Status:
        """Set the team's workflow state of the wanted type (or name): Linear has no transitions."""
        team = self.gateway.execute("TeamStates", {"teamId": self._team_id(item)}).get("team") or {}
        state = choose_state((team.get("states") or {}).get("nodes") or [], target)
        made = self.gateway.execute("UpdateIssueState", {"id": item.id, "stateId": state["id"]})["issueUpdate"]
        if not made.get("success"):
            raise TrackerError(f"Linear did not move {item.key} to {state['name']}")
        return status_of(state)

    def assign(self, item: Item, person: Person | None) -> None:
        """`issueUpdate` with `assigneeId` (null unassigns); a person known by email is looked up."""
        user_id = None if person is None else (person.id or self.user_id_for(person.email or ""))
        made = self.gateway.execute("UpdateIssueAssignee", {"id": item.id, "assigneeId": user_id})["issueUpdate"]
        if not made.get("success"):
            raise TrackerError(f"Linear did not change the assignee of {item.key}")

    def user_id_for(self, email: str) -> str:
        nodes = self.gateway.execute("UsersByEmail", {"email": email})["users"]["nodes"]
        if len(nodes) != 1:
            raise NotFound(f"no single Linear user has the email {email!r} (found {len(nodes)})")
        return str(nodes[0]["id"])

    def find_person(self, user_id: str | None, email: str | None) -> Person | None:
        """A `people:` entry resolved against the workspace (by user id, else by email)."""
        try:
            if user_id:
                user = self.gateway.execute("UserById", {"id": user_id}).get("user")
            else:
                user = {"id": self.user_id_for(email or ""), "email": email}
        except NotFound:
            return None
        return person_of(user, self.config) if user else None

    def _team_id(self, item: Item) -> str:
        team_id = item.custom.get("team_id")
        if team_id:
            return str(team_id)
        fresh = self.get_item(item.id)
        return str(fresh.custom["team_id"])
