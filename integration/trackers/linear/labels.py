"""Label names → Linear label ids: team label first, then workspace label, created if allowed.

Ids are cached per (team, name) for the client's lifetime. A label inside a label group is
never used as a flag: group labels are exclusive in Linear, so adding one would silently
remove its sibling that a person chose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from integration.trackers.base import NotFound, PermissionDenied, TrackerError

FLAG_COLOR = "#bec2c8"


class Executes(Protocol):
    def execute(self, name: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]: ...


def pick(nodes: Sequence[Mapping[str, Any]], name: str, team_id: str) -> Mapping[str, Any] | None:
    """The label to use for `name`: the team's own label over a workspace label."""
    same = [n for n in nodes if n.get("name") == name]
    team = [n for n in same if (n.get("team") or {}).get("id") == team_id]
    workspace = [n for n in same if not n.get("team")]
    chosen = team or workspace
    return chosen[0] if chosen else None


class LabelResolver:
    """Finds (and, when allowed, creates) label ids; the only place that knows label rules."""

    def __init__(self, gateway: Executes, *, allow_create: bool) -> None:
        self._gateway = gateway
        self._allow_create = allow_create
        self._ids: dict[tuple[str, str], str] = {}

    def forget(self, label_id: str) -> None:
        """Drop a cached id (an IssueLabel event said it was removed or renamed)."""
        self._ids = {k: v for k, v in self._ids.items() if v != label_id}

    def ids(self, team_id: str, names: Sequence[str], *, create: bool) -> dict[str, str]:
        """name → id for `names`; missing labels are created when `create` and allowed."""
        missing = [n for n in dict.fromkeys(names) if (team_id, n) not in self._ids]
        if missing:
            found = self._gateway.execute("FindLabels", {"names": missing, "teamId": team_id, "first": 50})
            nodes = found["issueLabels"]["nodes"]
            for name in missing:
                self._remember(team_id, name, pick(nodes, name, team_id), create=create)
        return {n: self._ids[(team_id, n)] for n in names if (team_id, n) in self._ids}

    def _remember(self, team_id: str, name: str, node: Mapping[str, Any] | None, *, create: bool) -> None:
        if node is not None and (node.get("isGroup") or node.get("parent")):
            raise TrackerError(
                f"label {name!r} is inside a Linear label group (group labels are exclusive); "
                "use a label outside any group for Flowkeeper's flags"
            )
        if node is not None:
            self._ids[(team_id, name)] = str(node["id"])
        elif create:
            self._ids[(team_id, name)] = self._create(team_id, name)

    def _create(self, team_id: str, name: str) -> str:
        if not self._allow_create:
            raise NotFound(
                f"label {name!r} does not exist in Linear and label creation is off; "
                "create it in Linear (Settings → Labels) or allow Flowkeeper to create labels"
            )
        try:
            made = self._gateway.execute(
                "CreateLabel", {"name": name, "teamId": team_id, "color": FLAG_COLOR}
            )
        except PermissionDenied as error:
            raise PermissionDenied(
                f"Linear does not let Flowkeeper create label {name!r} ({error}); create the label in "
                "Linear (Settings → Labels) or let the API key's user manage labels"
            ) from None
        payload = made["issueLabelCreate"]
        if not payload.get("success"):
            raise TrackerError(f"Linear did not create label {name!r}")
        return str(payload["issueLabel"]["id"])
