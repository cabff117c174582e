"""Flowkeeper's Jira Cloud client: the TrackerClient protocol over REST v3.

Reads come back as tracker-neutral Items (via the webhook normalizer's `normalize_issue`),
writes are polite: comments carry a marker property so they are never posted twice,
labels change as diffs so a person's concurrent edit survives, writes to one issue are
paced, and every failure ends as a TrackerError with a reason a person can act on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from integration.trackers.base import (
    NotFound,
    TrackerError,
    TrackerUnavailable,
    WriteMarker,
    as_own,
    iter_search,
)
from integration.trackers.jira.adf import carries_marker, comment_request
from integration.trackers.jira.fields import parse_datetime, person, ranks_from
from integration.trackers.jira.http import JiraHttp
from integration.trackers.jira.jql import label_problem, minutes_since, search_fields, to_jql
from integration.trackers.jira.normalize import JiraConfig, normalize_issue
from integration.trackers.jira.site import ChosenField, choose_story_points
from integration.trackers.jira.workflow import choose
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

log = logging.getLogger("flowkeeper.trackers.jira")

DEFAULT_RETRY = RetryPolicy()  # frozen: safe to share as a default
API = "/rest/api/3"
PAGE = 100  # comments and changelog pages; Jira's own default and maximum for both
SITE_FACTS_TTL_S = 3600.0  # a field or priority added on the site is seen within the hour, without a restart
SITE_FACTS_COOL_DOWN_S = 300.0  # a site that could not tell its fields or priorities is asked again after this
LABEL_PAGE = 1000  # GET /label: Jira's default page size
BULK_FETCH = 100  # POST /issue/bulkfetch reads at most 100 issues a request


class JiraClient:
    """A Jira Cloud site seen through Flowkeeper's service account (API-token auth)."""

    tracker = Tracker.JIRA

    def __init__(
        self,
        base_url: str,
        user: str,
        api_token: str,
        *,
        config: JiraConfig,
        notify_users: bool = True,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        write_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        bot_accounts: Collection[str] = frozenset(),
    ) -> None:
        # writes to one issue at most every `write_interval` s, and Jira's own limits per endpoint and issue
        self.http = JiraHttp(base_url, user, api_token, timeout=timeout, retry=retry, sleep=sleep, clock=clock,
                             wall_clock=wall_clock, write_interval=write_interval)
        self.bot_accounts = frozenset(bot_accounts)  # FLOWKEEPER_BOT_ACCOUNTS, case-folded
        self._config = config
        self._configured = config  # what the settings said, before the site's facts filled it in
        self._facts_read_at = float("-inf")
        self._chosen: ChosenField | None = None
        self._fields_read = False
        self._priorities_read = False
        self._facts_retry_at = float("-inf")
        self.notify_users = notify_users
        self._clock = clock
        self._wall_clock = wall_clock
        self._me: Person | None = None

    # ---- site facts ---------------------------------------------------------------

    @property
    def config(self) -> JiraConfig:
        """The configuration, with the story points field and the priority order found on the site.

        These lookups enrich items but are optional: each is one try (no retries, so a tracker
        storm is not multiplied by them), and a failed one is tried again after a cool-down
        rather than never, so a site that was briefly away is still read later.
        """
        now = self._clock()
        if (self._fields_read or self._priorities_read) and now - self._facts_read_at >= SITE_FACTS_TTL_S:
            self._forget_site_facts()
        if self._config.story_points_field is None and not self._fields_read and now >= self._facts_retry_at:
            try:
                chosen = self.story_points_field(retry=False)
            except TrackerError as error:
                self._facts_failed("jira.fields_unreadable", error, now)
                return self._config
            if chosen is not None:
                self._config = replace(self._config, story_points_field=chosen.field_id)
        if not self._config.priority_ranks and not self._priorities_read and now >= self._facts_retry_at:
            try:
                ranks = ranks_from(self._paged(f"{API}/priority/search", "values", retry=False))
            except TrackerError as error:
                self._facts_failed("jira.priorities_unreadable", error, now)
            else:
                self._priorities_read, self._facts_read_at = True, now
                self._config = replace(self._config, priority_ranks=ranks)
        return self._config

    def _forget_site_facts(self) -> None:
        """Back to the configured facts, so the next use reads the site again."""
        self._config, self._chosen = self._configured, None
        self._fields_read = self._priorities_read = False

    def _facts_failed(self, event: str, error: TrackerError, now: float) -> None:
        log.warning(event, extra={"error": str(error)})
        self._facts_retry_at = now + SITE_FACTS_COOL_DOWN_S

    def story_points_field(self, *, retry: bool = True) -> ChosenField | None:
        """Which field holds story points (GET /field once), and why that one."""
        if not self._fields_read:
            fields = self.http.call("GET", f"{API}/field", retry=retry) or []
            self._fields_read, self._facts_read_at = True, self._clock()
            self._chosen = choose_story_points(self._config.story_points_field, fields)
        return self._chosen

    def site_facts(self) -> dict[str, Any]:
        """What the receiver's normalizer needs and only the API can tell ("" = none found)."""
        config = self.config
        return {"story_points_field": config.story_points_field or "", "priority_ranks": dict(config.priority_ranks)}

    # ---- reads --------------------------------------------------------------------

    def whoami(self) -> Person:
        """The service account (GET /myself once): its events never trigger rules."""
        if self._me is None:
            me = person(self.http.call("GET", f"{API}/myself"))
            if me is None:
                raise TrackerError("Jira /myself answered without an accountId")
            self._me = Person(me.id, me.name, me.email, ActorKind.FLOWKEEPER)
        return self._me

    def get_item(self, key: str) -> Item:
        """The issue read directly (search is eventually consistent), with its recent changelog."""
        params = {"fields": ",".join(search_fields(self.config)), "expand": "changelog"}
        return normalize_issue(self.http.call("GET", f"{API}/issue/{key}", params=params), self.config)

    def get_items(self, items: Sequence[Item]) -> list[Item]:
        """Many issues read directly, as `get_item` reads one, 100 to a request (POST /issue/bulkfetch).

        Not a JQL `key in (…)` search: that reads the eventually consistent index and refuses the
        whole list for one deleted key. Issues Jira cannot find or may not show are left out; one
        it could not read this time (`issueErrors`) fails the call, which is retried.
        """
        keys = list(dict.fromkeys(i.key for i in items))
        found: list[Item] = []
        for start in range(0, len(keys), BULK_FETCH):
            body = {"issueIdsOrKeys": keys[start : start + BULK_FETCH],
                    "fields": list(search_fields(self.config)), "expand": ["changelog"]}
            answer = self.http.call("POST", f"{API}/issue/bulkfetch", json=body) or {}
            errors = answer.get("issueErrors") or ()
            if errors:
                first = errors[0]
                raise TrackerUnavailable(f"Jira could not read {len(errors)} issue(s) now, e.g. {first.get('id')}: "
                                         f"{first.get('errorMessage')}")
            found += [normalize_issue(issue, self.config) for issue in answer.get("issues") or ()]
        return found

    def search(self, query: SearchQuery, page_token: str | None = None, page_size: int = 100) -> SearchPage:
        """One page of `/search/jql` for the pushed-down query, asking only for the Item's fields.

        A follow-up's `changed_since` goes as a bound relative to Jira's clock, worked out on the
        first page; later pages carry it in their token, so every page sends the same JQL.
        """
        minutes, page_token = _split_token(page_token)
        if query.changed_since is not None and minutes is None:
            minutes = minutes_since(query.changed_since, self._wall_clock())
        params: dict[str, Any] = {
            "jql": to_jql(query, self.config.field_map, since_minutes=minutes),
            "fields": ",".join(search_fields(self.config)),
            "maxResults": page_size,
        }
        if page_token:
            params["nextPageToken"] = page_token
        answer = self.http.call("GET", f"{API}/search/jql", params=params) or {}
        items = tuple(normalize_issue(issue, self.config) for issue in answer.get("issues") or ())
        next_token = None if answer.get("isLast", True) else answer.get("nextPageToken")
        if next_token and minutes is not None:
            next_token = f"{minutes}{_RELATIVE}{next_token}"
        return SearchPage(items=items, next_token=next_token or None)

    def iter_search(self, query: SearchQuery, page_size: int = 100) -> Iterator[Item]:
        """Every candidate, following `nextPageToken` page by page (lazily)."""
        return iter_search(self, query, page_size)

    def status_history(self, key: str) -> list[tuple[Change, Person | None, datetime | None]]:
        """Status changes (oldest first) from the paged `/issue/{key}/changelog`."""
        return [(change, as_own(actor, None, self.bot_accounts), when)
                for change, actor, when in self._changelog(key) if change.field == "status"]

    def activity(self, key: str) -> list[tuple[Change, Person | None, datetime | None]]:
        """Every changelog change and every comment (field "comment"), each with its author.

        App accounts (automation, integrations) and FLOWKEEPER_BOT_ACCOUNTS are bots and this
        deployment's own account is Flowkeeper, so whoever reads it can tell a person's activity from the rest.
        """
        me = self.whoami().id
        found = self._changelog(key)
        for comment in self._paged(f"{API}/issue/{key}/comment", "comments"):
            found.append((Change("comment", None, comment.get("id")), person(comment.get("author")),
                          parse_datetime(comment.get("created"))))
        return [(change, as_own(actor, me, self.bot_accounts), when) for change, actor, when in found]

    def _changelog(self, key: str) -> list[tuple[Change, Person | None, datetime | None]]:
        history = []
        for entry in self._paged(f"{API}/issue/{key}/changelog", "values"):
            author, when = person(entry.get("author")), parse_datetime(entry.get("created"))
            for raw in entry.get("items") or ():
                field = str(raw.get("fieldId") or raw.get("field")).lower()
                history.append((Change(field, raw.get("fromString"), raw.get("toString")), author, when))
        return history

    def _paged(self, path: str, key: str, *, retry: bool = True, **params: Any) -> Iterator[dict[str, Any]]:
        """startAt/maxResults paging until a short page, `isLast` or `total` says it is over."""
        start = 0
        while True:
            page = self.http.call("GET", path, params={"startAt": start, "maxResults": PAGE, **params}, retry=retry) or {}
            values = page.get(key) or []
            yield from values
            start += len(values)
            total = page.get("total")
            if not values or page.get("isLast") or (total is not None and start >= total):
                return

    # ---- comments -----------------------------------------------------------------

    def find_marked_comment(self, item: Item, marker: WriteMarker) -> str | None:
        """Our comment carrying `marker`: list the issue's comments, expand ours' properties."""
        me = self.whoami().id
        ours = [
            str(c["id"])
            for c in self._paged(f"{API}/issue/{item.key}/comment", "comments", orderBy="created")
            if (c.get("author") or {}).get("accountId") == me
        ]
        for chunk in (ours[i : i + 1000] for i in range(0, len(ours), 1000)):
            found = self.http.call(
                "POST",
                f"{API}/comment/list",
                params={"expand": "properties"},
                json={"ids": [int(i) for i in chunk]},
            )
            for comment in (found or {}).get("values") or ():
                if carries_marker(comment, marker):
                    return str(comment["id"])
        return None

    def add_comment(self, item: Item, body: CommentBody, marker: WriteMarker) -> str:
        """Post once: a retry after a timeout first looks for the comment the timeout may hide."""
        payload = comment_request(body, marker)
        path = f"{API}/issue/{item.key}/comment"
        for attempt in range(1, self.http_retry_tries + 1):
            if attempt > 1:
                existing = self.find_marked_comment(item, marker)
                if existing is not None:
                    return existing
            try:
                return str(self.http.call("POST", path, json=payload, retry=False)["id"])
            except TrackerError as error:
                if not error.retryable or attempt == self.http_retry_tries:
                    raise
                self.http.back_off("POST", path, self.http.retry_policy.delay(attempt, error))
        raise TrackerUnavailable(f"Jira POST {path}: gave up")  # unreachable: the loop raises

    def update_comment(self, item: Item, comment_id: str, body: CommentBody, marker: WriteMarker) -> None:
        """Rewrite an existing Flowkeeper comment (a rule that updates rather than repeats)."""
        self.http.call(
            "PUT", f"{API}/issue/{item.key}/comment/{comment_id}", json=comment_request(body, marker)
        )

    def ensure_comment(self, item: Item, body: CommentBody, marker: WriteMarker) -> tuple[str, bool]:
        """(comment id, posted now?): a comment already present is never posted again."""
        existing = self.find_marked_comment(item, marker)
        if existing is not None:
            return existing, False
        return self.add_comment(item, body, marker), True

    # ---- labels -------------------------------------------------------------------

    def add_labels(self, item: Item, labels: Sequence[str]) -> None:
        self._edit_labels(item, [{"add": label} for label in _checked(labels)])

    def remove_labels(self, item: Item, labels: Sequence[str]) -> None:
        self._edit_labels(item, [{"remove": label} for label in _checked(labels)])

    def _edit_labels(self, item: Item, operations: list[dict[str, str]]) -> None:
        """An `update` diff: labels a person set meanwhile are neither lost nor re-added."""
        if not operations:
            return
        params = {} if self.notify_users else {"notifyUsers": "false"}
        self.http.call(
            "PUT", f"{API}/issue/{item.key}", params=params, json={"update": {"labels": operations}}
        )

    # ---- workflow and assignee ------------------------------------------------------

    def transition(self, item: Item, target: TransitionTarget) -> Status:
        """One of the issue's available transitions (with a resolution where its screen has one)."""
        path = f"{API}/issue/{item.key}/transitions"
        found = self.http.call("GET", path, params={"expand": "transitions.fields"}) or {}
        choice = choose(found.get("transitions") or [], target)
        body: dict[str, Any] = {"transition": {"id": choice.transition_id}}
        if choice.fields:
            body["fields"] = dict(choice.fields)
        self.http.call("POST", path, json=body)
        return choice.to

    def assign(self, item: Item, person: Person | None) -> None:
        """`PUT …/assignee` with the account id (looked up by email when only that is known)."""
        account = None if person is None else (person.id or self.account_id_for(person.email or ""))
        self.http.call("PUT", f"{API}/issue/{item.key}/assignee", json={"accountId": account})

    def account_id_for(self, email: str) -> str:
        """The account id of the one user whose email or name is `email` (GET /user/search)."""
        found = [u for u in self.http.call("GET", f"{API}/user/search", params={"query": email}) or ()
                 if str(u.get("emailAddress") or "").casefold() == email.casefold() and u.get("accountId")]
        if len(found) != 1:
            raise NotFound(f"no single Jira user has the email {email!r} (found {len(found)})")
        return str(found[0]["accountId"])

    def find_person(self, account_id: str | None, email: str | None) -> Person | None:
        """A `people:` entry resolved: by account id (GET /user/search?accountId=), else by email."""
        if account_id:
            users = self.http.call("GET", f"{API}/user/search", params={"accountId": account_id}) or ()
            user = next((u for u in users if u.get("accountId") == account_id), None)
            return person(user) if user else None
        try:
            found = self.account_id_for(email or "")
        except NotFound:
            return None
        return Person(found, None, email)

    # ---- names (for `flowkeeper rules check --online`) ----------------------------

    def status_names(self) -> set[str]:
        """Every status on the site (GET /status): a renamed status silently stops a rule."""
        return {str(s["name"]) for s in self.http.call("GET", f"{API}/status") or () if s.get("name")}

    def existing_labels(self, names: Collection[str]) -> set[str]:
        """Those of `names` (compared casefolded, as rules do) that some issue carries (GET /label, paged).

        A Jira label exists only while an issue carries it, so a label nobody uses yet is absent.
        """
        wanted = {name.casefold(): name for name in names}
        found: set[str] = set()
        for label in self._paged(f"{API}/label", "values", maxResults=LABEL_PAGE):
            name = wanted.pop(str(label).casefold(), None)
            if name is not None:
                found.add(name)
            if not wanted:
                break
        return found

    def mapped_fields(self) -> Mapping[str, str]:
        """JIRA_FIELD_MAP: the custom fields rules read, by their name in rules."""
        return self._config.field_map

    def field_names(self) -> dict[str, str]:
        """Every field on the site, id → name (GET /field)."""
        return {str(f["id"]): str(f.get("name") or "") for f in self.http.call("GET", f"{API}/field") or ()
                if f.get("id")}

    def team_keys(self, keys: Collection[str]) -> set[str]:
        """Those of `keys` that are projects the service account can see (GET /project/{key})."""
        found = set()
        for key in keys:
            try:
                project = self.http.call("GET", f"{API}/project/{quote(key, safe='')}") or {}
            except NotFound:
                continue
            if project.get("key") == key:  # keys are case sensitive, as rule scopes are
                found.add(key)
        return found

    # ---- permissions (for `flowkeeper jira check`) --------------------------------

    def my_permissions(self, project: str, keys: Sequence[str]) -> dict[str, bool]:
        answer = self.http.call(
            "GET", f"{API}/mypermissions", params={"projectKey": project, "permissions": ",".join(keys)}
        )
        granted = (answer or {}).get("permissions") or {}
        return {k: bool((granted.get(k) or {}).get("havePermission")) for k in keys}

    # ---- pacing -------------------------------------------------------------------

    @property
    def http_retry_tries(self) -> int:
        return max(1, self.http.retry_policy.tries)


_RELATIVE = "m~"  # between a follow-up's relative bound (minutes) and Jira's page token


def _split_token(token: str | None) -> tuple[int | None, str | None]:
    """(the relative bound the first page chose, Jira's own page token)."""
    if token and _RELATIVE in token:
        minutes, _, rest = token.partition(_RELATIVE)
        if minutes.isdigit():
            return int(minutes), rest or None
    return None, token


def _checked(labels: Sequence[str]) -> list[str]:
    for label in labels:
        problem = label_problem(label)
        if problem:
            raise TrackerError(problem)
    return list(dict.fromkeys(labels))
