"""The words of the anomalies (domain.anomalies codes and numbers) on the console: the list
of a body and the evidence review of a plan word them the same way (template globals)."""
from __future__ import annotations

from flask_babel import format_decimal, gettext as _, lazy_gettext as _l

from ...blueprints.notices.routes import notice_time  # the app's clock, as the log shows times
from ...words import sentence

KIND_NAMES = {
    "overlap": _l("Two plans at once, far apart"),
    "travel": _l("Impossible travel"),
    "photo_reuse": _l("The same photo in another enterprise's plan"),
    "late_send": _l("Sent later though seen online"),
    "exif_time": _l("Photo time contradicts the record"),
}


def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, kind))


def _n(value) -> str:
    return format_decimal(value)


def _time(moment) -> str:
    return notice_time(moment, "%Y-%m-%d %H:%M") if moment is not None else ""


def describe(anomaly) -> str:
    """The numbers of one anomaly in a sentence, e.g. "420 km apart: 1,260 km/h needed"."""
    n = anomaly.numbers
    if anomaly.kind == "overlap":
        return _("The sites are %(km)s km apart; the plans overlap by %(hours)s h (more than %(limit)s km).",
                 km=_n(n["distance_km"]), hours=_n(n["overlap_hours"]), limit=_n(n["limit_km"]))
    if anomaly.kind == "travel":
        return _("The two places are %(km)s km apart: %(speed)s km/h needed, in %(minutes)s min "
                 "(%(beyond)s km beyond the positions' accuracy; limit %(limit)s km/h).",
                 km=_n(n["distance_km"]), speed=_n(n["speed_kmh"]), minutes=_n(n["minutes"]),
                 beyond=_n(n["beyond_accuracy_km"]), limit=_n(n["limit_kmh"]))
    if anomaly.kind == "photo_reuse":
        return _("The same bytes (SHA-256 %(sha)s…) as a photo of another enterprise's plan.", sha=n["sha256"])
    if anomaly.kind == "late_send":
        return _("Claimed done offline at %(action)s; the phone was online at %(seen)s, yet it arrived at "
                 "%(receipt)s, %(minutes)s min later (limit %(limit)s min).",
                 action=_time(n["action_at"]), seen=_time(n["seen_at"]), receipt=_time(n["receipt_at"]),
                 minutes=_n(n["minutes_online_before"]), limit=_n(n["limit_minutes"]))
    if anomaly.kind == "exif_time":
        if n["kind"] == "in":
            text = _("A first-meeting photo taken at %(taken)s, the check-in claimed at %(claimed)s: "
                     "%(hours)s h apart (limit %(limit)s h).", taken=_time(n["taken_at"]),
                     claimed=_time(n["claimed_at"]), hours=_n(n["hours_apart"]), limit=_n(n["limit_hours"]))
        else:
            text = _("A last-meeting photo taken at %(taken)s, the check-out claimed at %(claimed)s: "
                     "%(hours)s h apart (limit %(limit)s h).", taken=_time(n["taken_at"]),
                     claimed=_time(n["claimed_at"]), hours=_n(n["hours_apart"]), limit=_n(n["limit_hours"]))
        return text + (" " + _("Sent later.") if n.get("sent_later") else "")
    return ""


# Why the list's filters were read otherwise than asked (services.anomalies); any other code
# is an unknown kind.
PROBLEMS = {
    "bad_date": _l("A date is written as YYYY-MM-DD: %(value)s was ignored."),
    "reversed": _l("The first day was after the last: the range was turned round."),
    "too_long": _l("At most %(days)s days at a time: showing the last %(days)s days of the range."),
    "unknown_kind": _l("Unknown kind of anomaly: showing every kind."),
}


def problem_text(code: str, value: str) -> str:
    return sentence(PROBLEMS, code, {"value": value, "days": value}, unknown="unknown_kind")


def register(app_or_bp) -> None:
    app_or_bp.add_app_template_global(kind_name, "anomaly_kind_name")
    app_or_bp.add_app_template_global(describe, "anomaly_words")

