"""Words for the plan page: modes, plan states, exceptions (R10), notes and the
explanation refusals, in the user's language. Codes and numbers come from domain.audit_exceptions,
domain.notes and services.explanations; photo words are photos.words' own."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flask_babel import gettext as _, lazy_gettext as _l, pgettext

from ...domain import audit_exceptions as rules10
from ...domain import plan_changes
from ...words import list_of, sentence, team_role
from ..photos.words import GROUP_TITLES

MODES = {
    "onsite": _l("On-site audit"),
    "combined": _l("On-site + remote"),
    "remote": _l("Remote audit"),
}

PLAN_STATES = {
    "valid": _l("Valid"),
    "cancelled": _l("Cancelled"),
    "changed": _l("Changed"),
}

KINDS = {"in": _l("Check-in"), "out": _l("Check-out")}

EXCEPTION_TITLES = {
    rules10.NOT_SIGNED: _l("Not signed"),
    rules10.DEVIATION: _l("Location deviation"),
    rules10.PHOTOS_MISSING: _l("Photos not uploaded"),
}

NOTES = {
    "offline_sent_later": _l("%(kind)s was made offline and sent later (done at %(acted)s, received at %(received)s)."),
    "action_in_future": _l("%(kind)s: the phone's time of the action was after the server received it; the receipt time is used."),
    "action_before_plan": _l("%(kind)s: the phone's time of the action was before the audit; the receipt time is used."),
    "clock_skew": _l("%(kind)s: the phone's clock was %(minutes)s minutes off the server's."),
    "late_check_in": _l("Check-in %(minutes)s minutes after the planned start (later than 30 minutes)."),
    "early_check_in": _l("Check-in before the first day of the audit."),
    "early_check_out": _l("Check-out %(minutes)s minutes before the last meeting."),
    "late_check_out": _l("Check-out %(minutes)s minutes after the planned end (later than 2 hours)."),
    "site_not_located": _l("%(kind)s: the planned audit address could not be located on the map."),
    "pin_moved": _l("%(kind)s: the point was moved %(metres)s m from the phone's position."),
    "stale_position": _l("%(kind)s: the phone's position was %(minutes)s minutes old."),
    "poor_accuracy": _l("%(kind)s: the phone's position was accurate only to about %(metres)s m."),
    "late_offline_copy": _l("%(kind)s by %(signer)s sent later, after the team had signed: kept as %(signer)s's own evidence."),
    "photo_time_mismatch": _l("%(group)s: photos taken at another time than the record: %(count)s."),
    "photo_place_mismatch": _l("%(group)s: photos taken far from the site: %(count)s."),
    "photo_duplicate": _l("%(group)s: photos already used in another audit plan: %(count)s."),
    "photo_no_exif": _l("%(group)s: photos without EXIF (time and place cannot be checked): %(count)s."),
}

EXPLANATION_REFUSALS = {
    "empty": _l("Write the explanation first (it is empty)."),
    "too_long": _l("The explanation is too long: %(length)s characters, at most %(max)s. Nothing was saved; shorten it and send again."),
}

TIME_FORMAT = "%Y-%m-%d %H:%M"


def km(distance_m: Optional[float]) -> str:
    if distance_m is None:
        return "?"
    return f"{distance_m / 1000:.2f}"


# The detail of one exception (its title is EXCEPTION_TITLES'); a deviation from a located
# address names it.
EXCEPTION_DETAILS = {
    rules10.NOT_SIGNED: _l("Missing: %(what)s"),
    rules10.DEVIATION: _l("%(kind)s %(km)s km from the planned address; the limit is 5 km."),
    "deviation_from_address": _l("%(kind)s %(km)s km from the nearest planned address (%(address)s); "
                                 "the limit is 5 km."),
    rules10.PHOTOS_MISSING: _l("Missing: %(what)s"),
}


def exception_text(view) -> str:
    """The detail of one exception: which events or photo groups are missing, how far."""
    exception = view.exception
    code, what = exception.code, ""
    if code == rules10.NOT_SIGNED:
        what = list_of(KINDS[k] for k in exception.missing)
    elif code == rules10.PHOTOS_MISSING:
        what = list_of(GROUP_TITLES[g] for g in exception.missing)
    elif code == rules10.DEVIATION and view.site_address:
        code = "deviation_from_address"
    return sentence(EXCEPTION_DETAILS, code, {
        "what": what, "kind": KINDS.get(exception.kind, exception.kind or ""), "km": km(exception.distance_m),
        "address": view.site_address})


def _iso_local(value, zone) -> str:
    from ...domain.offline import parse_iso

    moment = parse_iso(value)
    return moment.astimezone(zone).strftime(TIME_FORMAT) if moment else "?"


def note_text(note, zone) -> str:
    """One note as a sentence; numbers the event's flag carried, times on the plan's clock."""
    params = dict(note.params)
    params["kind"] = str(KINDS.get(note.kind, "")) if note.kind else ""
    params["signer"] = note.signer
    if note.group:
        params["group"] = str(GROUP_TITLES.get(note.group, note.group))
    if note.code == "offline_sent_later":
        params["acted"] = _iso_local(params.get("action_time"), zone)
        params["received"] = _iso_local(params.get("receipt_time"), zone)
    if note.code == "clock_skew" and isinstance(params.get("skew_s"), (int, float)):
        params["minutes"] = round(abs(params["skew_s"]) / 60)
    if note.code == "stale_position" and isinstance(params.get("age_s"), (int, float)):
        params["minutes"] = round(params["age_s"] / 60)
    if note.code == "pin_moved":
        params["metres"] = round(params.get("offset_m") or 0)
    if note.code == "poor_accuracy":
        params["metres"] = round(params.get("accuracy_m") or 0)
    said = sentence(NOTES, note.code, params)
    if note.on_copy and note.code != "late_offline_copy":
        # A member's kept copy is not the team's record: say whose it is.
        return _("%(signer)s's own record: %(note)s", signer=note.signer, note=said)
    return said


def refusal_text(code: str, params: Optional[dict] = None) -> str:
    return sentence(EXPLANATION_REFUSALS, code, params)


# --- a plan's changes (R19): the team's notice and the console's history ---------------------

CHANGE_FIELDS = {
    "start": _l("Start time"),
    "end": _l("End time"),
    "sites": _l("Address"),
    "team": _l("Team"),
    "remarks": _l("Remarks"),
    "status": _l("Plan status"),
}


@dataclass(frozen=True)
class ChangeLine:
    """One field of a change in words: its name, before and after; `moves` says briefly who
    joined or left a team."""

    field: str
    label: str
    before: str
    after: str
    moves: str = ""


def _sites_text(sites, coordinates: bool) -> str:
    parts = []
    for site in sites or []:
        text = site.get("address") or ""
        if coordinates and site.get("lat") is not None:
            text += f" ({site['lat']}, {site['lon']})"
        parts.append(text)
    return "; ".join(parts) or "—"


def _member(member: dict) -> str:
    return _("%(name)s (%(role)s)", name=member.get("name") or member.get("phone"), role=_role(member))


def _moves_text(before, after) -> str:
    moves = plan_changes.team_moves(before, after)
    separator = pgettext("list separator", ", ")
    parts = []
    if moves.joined:
        parts.append(_("joined: %(names)s", names=separator.join(_member(member) for member in moves.joined)))
    if moves.left:
        parts.append(_("left: %(names)s", names=separator.join(member.get("name") or member.get("phone")
                                                                for member in moves.left)))
    for old, new in moves.role_changed:
        parts.append(_("%(name)s now %(role)s", name=new.get("name") or new.get("phone"), role=_role(new)))
    return "; ".join(parts)


def _role(member: dict) -> str:
    return team_role(member.get("role"))


def change_line(change: dict, *, coordinates: bool = False) -> ChangeLine:
    """A history entry's field before → after in the reader's language (times on the plan's
    wall clock as recorded; sites with their coordinates when `coordinates`)."""
    name = change.get("field", "")
    before, after = change.get("before"), change.get("after")
    label = str(CHANGE_FIELDS.get(name, name))
    if name in plan_changes.TIME_FIELDS:
        return ChangeLine(name, label, *plan_changes.time_pair(before, after))
    if name == "sites":
        return ChangeLine(name, label, _sites_text(before, coordinates), _sites_text(after, coordinates))
    if name == "team":
        separator = pgettext("list separator", ", ")
        return ChangeLine(name, label, separator.join(map(_member, before or [])) or "—",
                          separator.join(map(_member, after or [])) or "—", _moves_text(before, after))
    if name == "status":
        return ChangeLine(name, label, str(PLAN_STATES.get(before, before or "—")),
                          str(PLAN_STATES.get(after, after or "—")))
    return ChangeLine(name, label, before or "—", after or "—")
