"""Words for photo refusals, badges and the plan page's verdict line, in the user's language.

services.photos and domain.photo_checks give codes and numbers; this is where they become
sentences. Wording is neutral: a photo without EXIF is "cannot check", never "suspicious"
(phones strip GPS for privacy, shared photos lose their EXIF).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flask_babel import gettext as _, lazy_gettext as _l, ngettext, pgettext

from ...words import sentence

GROUP_TITLES = {
    "first": _l("First-meeting photos"),
    "last": _l("Last-meeting photos"),
    "other": _l("Other photos"),
}

REFUSALS = {
    "not_found": _l("Not found, or not yours to see."),
    "bad_group": _l("Choose which group the photo belongs to."),
    "remote_plan": _l("This is a remote audit: no meeting photos are needed."),
    "plan_cancelled": _l("This audit plan was cancelled."),
    "group_full": _l("%(group)s: at most %(max)s photos. Delete one to add another."),
    "no_file": _l("No photo was received. Choose a photo and try again."),
    "empty": _l("The file is empty. Choose the photo again."),
    "too_large": _l("The photo is too large (%(size_mb)s MB; at most %(limit_mb)s MB)."),
    "request_too_large": _l("What was sent is too large: at most %(limit_mb)s MB per photo, one photo at a time."),
    "unsupported_type": _l("This file is not a photo the app accepts (JPEG, PNG, WebP or HEIC)."),
    "too_many_pixels": _l("The photo has too many pixels (%(width)s × %(height)s, %(megapixels)s megapixels; at most %(limit)s megapixels)."),
    "bad_shape": _l("The photo's shape is not a photo's (%(width)s × %(height)s; at most %(max_side)s pixels a side, one side at most %(max_aspect)s times the other)."),
    "unreadable_image": _l("The photo file is incomplete or damaged. Please take the photo again."),
    "too_costly": _l("This photo file takes too much work to process: it is not a file a camera writes. Send the photo as the camera took it."),
    "already_in_plan": _l("This photo is already among the %(group)s of this plan."),
    "try_again": _l("The photo could not be saved. Please try again."),
}

def refusal_text(code: str, params: Optional[dict] = None) -> str:
    """The sentence for a refusal code; an unknown code or a missing number never breaks."""
    params = dict(params or {})
    if "group" in params:
        params["group"] = str(GROUP_TITLES.get(params["group"], params["group"]))
    return sentence(REFUSALS, code, params, unknown="try_again")


# --- badges ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Badge:
    check: str  # time | place | duplicate
    css: str  # badge-ok | badge-mismatch | badge-unknown
    text: str
    why: str = ""  # the reason in a few words, shown beside the badge


def _number(verdict: dict, name: str) -> Optional[float]:
    value = verdict.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _km(value: Optional[float]) -> str:
    """Kilometres as precise as they matter: 1.01 beside a 1 km tolerance, 8567 far away."""
    if value is None:
        return "?"
    return _fmt(value, 2 if value < 10 else 1 if value < 100 else 0)


def _fmt(value: Optional[float], digits: int = 1) -> str:
    if value is None:
        return "?"
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# domain.photo_checks' cannot_check codes.
_CANNOT_CHECK_WHY = {
    "no_exif": _l("no EXIF in the photo"),
    "exif_unreadable": _l("the EXIF could not be read"),
    "no_exif_time": _l("no time taken in the photo"),
    "time_unreadable": _l("the time taken could not be read"),
    "no_checkin_yet": _l("the team has not checked in yet"),
    "no_checkout_yet": _l("the team has not checked out yet"),
    "no_gps": _l("no GPS position in the photo (phones often remove it for privacy)"),
    "gps_unreadable": _l("the GPS position could not be read"),
    "no_reference": _l("no check-in point or located audit address to compare with"),
    "unknown_group": _l("unknown photo group"),
    "not_judged": _l("not judged yet"),
}


def cannot_check_why(why: Optional[str]) -> str:
    return sentence(_CANNOT_CHECK_WHY, why) if why else ""


def _hours_apart(hours: Optional[float], reference: str) -> str:
    if hours is not None and hours >= 48:
        days = _fmt(hours / 24, 0)
        if reference == "out":
            return _("Taken %(days)s days from the check-out", days=days)
        return _("Taken %(days)s days from the check-in", days=days)
    if reference == "out":
        return _("Taken %(hours)s hours from the check-out", hours=_fmt(hours))
    return _("Taken %(hours)s hours from the check-in", hours=_fmt(hours))


def time_badge(group: str, verdict: dict) -> Optional[Badge]:
    outcome = verdict.get("outcome")
    reference = "out" if group == "last" else "in"
    if outcome == "ok":
        if group == "other":
            return Badge("time", "badge-ok", _("Taken during the audit"))
        if reference == "out":
            return Badge("time", "badge-ok", _("Time agrees with the check-out"))
        return Badge("time", "badge-ok", _("Time agrees with the check-in"))
    if outcome == "mismatch":
        hours = _number(verdict, "hours_apart")
        if group == "other":
            return Badge("time", "badge-mismatch", _("Taken outside the audit days"))
        return Badge("time", "badge-mismatch", _hours_apart(hours, reference))
    if outcome == "cannot_check":
        why = verdict.get("why")
        # Not a doubt about the photo: the record it is compared with does not exist yet.
        if why == "no_checkin_yet":
            return Badge("time", "badge-unknown", _("To check after the check-in"))
        if why == "no_checkout_yet":
            return Badge("time", "badge-unknown", _("To check after the check-out"))
        return Badge("time", "badge-unknown", _("Cannot check"), _("Time: %(why)s", why=cannot_check_why(why)))
    return None


def place_badge(verdict: dict) -> Optional[Badge]:
    outcome = verdict.get("outcome")
    km = _km(_number(verdict, "km"))
    if outcome == "ok":
        if verdict.get("reference") == "site":
            return Badge("place", "badge-ok", _("Taken near the audit address"))
        return Badge("place", "badge-ok", _("Place agrees with the check-in"))
    if outcome == "mismatch":
        if verdict.get("reference") == "checkin":
            return Badge("place", "badge-mismatch", _("Taken %(km)s km from the check-in point", km=km))
        return Badge("place", "badge-mismatch", _("Taken %(km)s km from the audit address", km=km))
    if outcome == "cannot_check":
        return Badge("place", "badge-unknown", _("Cannot check"),
                     _("Place: %(why)s", why=cannot_check_why(verdict.get("why"))))
    return None


def duplicate_badge(verdict: dict) -> Optional[Badge]:
    """Only when flagged: "not a duplicate" is no news. The other plans' numbers are not
    shown to the team (R16: they may be another team's plans); the stored verdict keeps
    them for the body's reviewers."""
    if verdict.get("outcome") == "mismatch":
        return Badge("duplicate", "badge-mismatch", _("This photo is already used in another audit plan"))
    return None


def badges(view) -> list[Badge]:
    found = [
        time_badge(view.photo.group, view.verdict("time")),
        place_badge(view.verdict("place")),
        duplicate_badge(view.verdict("duplicate")),
    ]
    return [badge for badge in found if badge is not None]


# --- the numbers, one tap away ------------------------------------------------------------------

def _field(evidence: dict, name: str) -> dict:
    value = evidence.get(name)
    return value if isinstance(value, dict) else {}


def _field_text(item: dict, shown: Optional[str]) -> str:
    status = item.get("status")
    if status == "read" and shown:
        return shown
    if status == "unreadable":
        return _("unreadable")
    return _("none")


def evidence_rows(view, zone: str) -> list[tuple[str, str]]:
    """(label, value) pairs for a photo's <details>: what the EXIF says, how far it is
    from the record, and the tolerance applied, so a reviewer can judge the judge."""
    evidence = view.evidence if isinstance(view.evidence, dict) else {}
    time, place = view.verdict("time"), view.verdict("place")
    rows: list[tuple[str, str]] = []

    taken, offset = _field(evidence, "taken_at"), _field(evidence, "offset")
    shown = str(taken.get("value") or "").replace("T", " ")
    if taken.get("status") == "read":
        if offset.get("status") == "read":
            shown = f"{shown} ({offset.get('value')})"
        else:
            shown = _("%(time)s (time zone unknown; compared as %(zone)s)", time=shown,
                      zone=time.get("assumed_zone") or zone)
    rows.append((_("Taken (EXIF)"), _field_text(taken, shown)))

    hours, limit = _number(time, "hours_apart"), _number(time, "tolerance_hours")
    if hours is not None and view.photo.group in ("first", "last"):
        label = _("From the check-out") if view.photo.group == "last" else _("From the check-in")
        if hours >= 48:
            rows.append((label, _("%(days)s days (tolerance %(limit)s h)", days=_fmt(hours / 24, 0), limit=_fmt(limit))))
        else:
            rows.append((label, _("%(hours)s h (tolerance %(limit)s h)", hours=_fmt(hours), limit=_fmt(limit))))
    days = time.get("audit_days")
    if view.photo.group == "other" and isinstance(days, list) and len(days) == 2:
        rows.append((_("Audit days"), _("%(start)s to %(end)s", start=days[0], end=days[1])))
        if hours:
            apart = _("%(days)s days", days=_fmt(hours / 24, 0)) if hours >= 48 else _("%(hours)s h", hours=_fmt(hours))
            rows.append((_("Outside the audit days by"), apart))
    if time.get("gps_time_agrees") is False:
        rows.append((_("GPS time"), _("does not agree (%(hours)s h from the time taken)",
                                      hours=_fmt(_number(time, "gps_time_hours_from_taken")))))

    gps = _field(evidence, "gps")
    point = gps.get("value") if isinstance(gps.get("value"), dict) else {}
    rows.append((_("GPS (EXIF)"), _field_text(gps, f"{point.get('lat', 0):.5f}, {point.get('lon', 0):.5f}"
                                                   if point else None)))
    if _number(place, "km_from_checkin") is not None:
        rows.append((_("From the check-in point"), _("%(km)s km (tolerance %(limit)s km)",
                     km=_km(_number(place, "km_from_checkin")), limit=_fmt(_number(place, "checkin_limit_km")))))
    if _number(place, "km_from_site") is not None:
        rows.append((_("From the nearest audit address"), _("%(km)s km (tolerance %(limit)s km)",
                     km=_km(_number(place, "km_from_site")), limit=_fmt(_number(place, "site_limit_km")))))

    device = " ".join(str(_field(evidence, name).get("value") or "") for name in ("make", "model")).strip()
    if device:
        rows.append((_("Device"), device))
    photo = view.photo
    sent = _("%(kb)s kB received", kb=round(photo.bytes_received / 1024))
    if photo.bytes_original:
        sent = _("%(sent)s (original %(kb)s kB)", sent=sent, kb=round(photo.bytes_original / 1024))
    rows.append((_("Uploaded"), f"{photo.uploader.name}, {view.uploaded_local:%Y-%m-%d %H:%M}"))
    if photo.original_name:
        rows.append((_("File name"), photo.original_name))
    rows.append((_("Size"), sent))
    return rows


# --- the plan page's verdict line ------------------------------------------------------------

def verdict_line(section) -> str:
    """One plain-words line over the whole section, e.g. "3 张照片时间与签到记录一致；1 张无 GPS"."""
    counts = section.summary()
    if not counts.get("photos"):
        parts = [_("No photos uploaded yet")]
    else:
        time, place, duplicate = counts["time"], counts["place"], counts["duplicate"]
        no_time = sum(time["reasons"].get(why, 0) for why in ("no_exif", "no_exif_time", "exif_unreadable", "time_unreadable"))
        no_gps = sum(place["reasons"].get(why, 0) for why in ("no_exif", "no_gps", "exif_unreadable", "gps_unreadable"))
        waiting = sum(time["reasons"].get(why, 0) for why in ("no_checkin_yet", "no_checkout_yet"))
        phrases = [
            (time["ok"], lambda n: ngettext("%(num)d photo taken at the time of the team's record",
                                            "%(num)d photos taken at the time of the team's record", n)),
            (time["mismatch"], lambda n: ngettext("%(num)d photo taken at another time",
                                                  "%(num)d photos taken at another time", n)),
            (place["ok"], lambda n: ngettext("%(num)d taken on site", "%(num)d taken on site", n)),
            (place["mismatch"], lambda n: ngettext("%(num)d taken far from the site",
                                                   "%(num)d taken far from the site", n)),
            (no_time, lambda n: ngettext("%(num)d without time taken", "%(num)d without time taken", n)),
            (no_gps, lambda n: ngettext("%(num)d without GPS", "%(num)d without GPS", n)),
            (waiting, lambda n: ngettext("%(num)d to check once the team has signed",
                                         "%(num)d to check once the team has signed", n)),
            (duplicate["mismatch"], lambda n: ngettext("%(num)d already used in another plan",
                                                       "%(num)d already used in another plan", n)),
        ]
        parts = [phrase(n) for n, phrase in phrases if n]
    missing = [str(GROUP_TITLES[group.key]) for group in section.groups if group.missing]
    if missing and section.takes_photos:
        parts.append(_("still needed: %(groups)s", groups=pgettext("list separator", ", ").join(missing)))
    return pgettext("list separator", "; ").join(parts)
