"""A body's auditors as its staff see them (R18): the account's state and the ID number
as shown in lists. Pure: no Flask, no database."""
from __future__ import annotations

from enum import Enum


class AuditorState(str, Enum):
    FIRST_LOGIN = "first_login"  # 未完成首次登录: the initial password is not changed yet
    ACTIVE = "active"            # 正常
    DISABLED = "disabled"        # 已停用
    RESTRICTED = "restricted"    # 登录受限: the login throttle holds the account


def state_of(*, disabled: bool, restricted: bool, must_change_password: bool) -> AuditorState:
    """One state, the one a staff member has to act on first: disabled over restricted
    over a first login not completed."""
    if disabled:
        return AuditorState.DISABLED
    if restricted:
        return AuditorState.RESTRICTED
    if must_change_password:
        return AuditorState.FIRST_LOGIN
    return AuditorState.ACTIVE


def masked_id_number(number: str | None) -> str:
    """The first 3 and last 4 characters, the rest as *: enough to tell two people apart
    on a list without showing the number (a short one shows only its last character)."""
    value = (number or "").strip()
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * (len(value) - 1) + value[-1]
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# The team as the manual writes it: 【组长】… 【组员】…, technical experts after them (R9).
TEAM_ORDER = ("leader", "member", "intern", "remote", "expert")


def team_role(role: str | None) -> str:
    """The role a member counts as: an unknown role counts as a member."""
    return role if role in TEAM_ORDER else "member"


def in_team_order(team) -> list:
    """A plan's team members (each with .role) by role in TEAM_ORDER, in the team's own order
    within a role."""
    return sorted(team, key=lambda member: TEAM_ORDER.index(team_role(member.role)))


def team_by_role(team) -> list[tuple[str, list[tuple[str, bool]]]]:
    """A plan's team members (each with .role and .auditor) grouped by role in TEAM_ORDER,
    each as (name, disabled)."""
    names: dict[str, list[tuple[str, bool]]] = {}
    for member in in_team_order(team):
        names.setdefault(team_role(member.role), []).append((member.auditor.name, bool(member.auditor.disabled)))
    return [(role, members) for role, members in names.items()]
