"""A plan's change history (R19) as data, without Flask or a database.

A plan is compared as a snapshot: a dict of the fields its team relies on, each in a form
that reads the same later (times on the plan's wall clock as text, sites and team as lists
of plain dicts). `diff` says which fields differ, each as before → after; `net` folds a run
of changes into what differs between the first before and the last after (what the team
must notice); `team_moves` and `time_pair` help the words say it briefly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

# The fields a change is recorded for, in the order they are shown.
FIELDS = ("start", "end", "sites", "team", "remarks", "status")
TIME_FIELDS = ("start", "end")
TIME_FORMAT = "%Y-%m-%d %H:%M"
CANCELLED = "cancelled"

Change = dict  # {"field": one of FIELDS, "before": ..., "after": ...}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Each field of FIELDS whose value differs, before → after, in FIELDS order."""
    return [{"field": name, "before": before.get(name), "after": after.get(name)}
            for name in FIELDS if before.get(name) != after.get(name)]


def net(runs: Iterable[Iterable[Change]]) -> list[Change]:
    """The changes of several records (oldest first) as one: per field, the first before and
    the last after; a field changed and changed back is left out."""
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for changes in runs:
        for change in changes:
            name = change.get("field")
            if name not in FIELDS:
                continue
            first.setdefault(name, change.get("before"))
            last[name] = change.get("after")
    return [{"field": name, "before": first[name], "after": last[name]}
            for name in FIELDS if name in last and first[name] != last[name]]


def time_pair(before: Optional[str], after: Optional[str]) -> tuple[str, str]:
    """Two wall-clock times as text; the after loses its date when it is the same day
    ("2026-11-30 09:00" → "10:00")."""
    before, after = before or "", after or ""
    if before[:10] and before[:10] == after[:10] and len(after) > 11:
        return before, after[11:]
    return before, after


@dataclass(frozen=True)
class TeamMoves:
    """Who joined (with their role), who left, whose role changed (old, new)."""

    joined: list[dict]
    left: list[dict]
    role_changed: list[tuple[dict, dict]]

    def __bool__(self) -> bool:
        return bool(self.joined or self.left or self.role_changed)


def team_moves(before: Optional[list], after: Optional[list]) -> TeamMoves:
    """Members are told apart by phone (the login)."""
    old = {member["phone"]: member for member in before or []}
    new = {member["phone"]: member for member in after or []}
    return TeamMoves(
        joined=[member for phone, member in new.items() if phone not in old],
        left=[member for phone, member in old.items() if phone not in new],
        role_changed=[(old[phone], member) for phone, member in new.items()
                      if phone in old and old[phone].get("role") != member.get("role")],
    )


def cancels(changes: Iterable[Change]) -> bool:
    """Whether these changes cancel the plan."""
    return any(change.get("field") == "status" and change.get("after") == CANCELLED for change in changes)
