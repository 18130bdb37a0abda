"""How codes become sentences in the user's language, and the words several areas share.

Each area keeps its words in a module called `words` beside its routes
(blueprints/<area>/words.py, console/<area>/words.py): maps from a code to its message
(English msgids, lazy_gettext), worded with `sentence` and `fill`. Words more than one area
uses live in this package: the team's roles and order (here), the plan import's problems
(words.plan_import).
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional

from flask_babel import gettext as _, lazy_gettext as _l, pgettext

from ..domain.auditors import team_by_role

PLACEHOLDER = re.compile(r"%(?:\((\w+)\)[sd]|%)")


def fill(message, params: Optional[Mapping] = None) -> str:
    """The message with its %(name)s placeholders filled from params (as gettext fills them).
    A placeholder without its value shows "…": a missing number never breaks a page."""
    text = str(message)
    if not params and "%(" not in text:
        return text
    values = dict(params or {})
    try:
        return text % values
    except (KeyError, TypeError, ValueError):
        return PLACEHOLDER.sub(lambda found: "%" if found.group(1) is None else
                               str(values.get(found.group(1), "…")), text)


def sentence(words: Mapping, code, params: Optional[Mapping] = None, *, unknown: Optional[str] = None) -> str:
    """The sentence for `code` from an area's map, its numbers filled in. A code the map does
    not know (one from a newer module) reads as the map's `unknown` entry when given, else as
    the code itself with spaces."""
    message = words.get(code)
    if message is None:
        if unknown is None:
            return str(code or "").replace("_", " ")
        message = words[unknown]
    return fill(message, params)


def list_of(items: Iterable) -> str:
    """Items as one list in the reader's language ("a, b"; Chinese with its enumeration comma)."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


# --- the audit team (R9): its roles, its order, how a member is named --------------------------

TEAM_ROLES = {
    "leader": _l("Team leader"),
    "member": _l("Team member"),
    "expert": _l("Technical expert"),
    "intern": _l("Intern auditor"),
    "remote": _l("Remote auditor"),
}


def team_role(role: Optional[str]) -> str:
    return str(TEAM_ROLES.get(role, role or ""))


def member_name(name: str, disabled: bool = False) -> str:
    """A member by name; a disabled auditor keeps their place, marked."""
    return _("%(name)s (disabled)", name=name) if disabled else name


def team_words(team) -> list[tuple[str, str]]:
    """A plan's team as every page writes it: role by role in domain.auditors.TEAM_ORDER,
    each as "[Team leader] name, name" (【组长】…), with the role's code."""
    return [(role, _("[%(role)s] %(names)s", role=team_role(role),
                     names=list_of(member_name(name, disabled) for name, disabled in members)))
            for role, members in team_by_role(team)]
