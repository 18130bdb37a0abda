"""The words of the anomalies (domain.anomalies codes and numbers) on the console: the list
of a body and the evidence review of a plan word them the same way (template globals)."""
from __future__ import annotations

from flask_babel import format_decimal, gettext as _, lazy_gettext as _l

from ...template_helpers import when  # the app's clock, as the log shows times
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
    return when(moment, "default")


DESCRIPTIONS = {
    "overlap": _l("The sites are %(km)s km apart; the plans overlap by %(hours)s h (more than %(limit)s km)."),
    "travel": _l("The two places are %(km)s km apart: %(speed)s km/h needed, in %(minutes)s min "
                 "(%(beyond)s km beyond the positions' accuracy; limit %(limit)s km/h)."),
    "photo_reuse": _l("The same bytes (SHA-256 %(sha)s…) as a photo of another enterprise's plan."),
    "late_send": _l("Claimed done offline at %(action)s; the phone was online at %(seen)s, yet it arrived at "
                    "%(receipt)s, %(minutes)s min later (limit %(limit)s min)."),
    "exif_time_in": _l("A first-meeting photo taken at %(taken)s, the check-in claimed at %(claimed)s: "
                       "%(hours)s h apart (limit %(limit)s h)."),
    "exif_time_out": _l("A last-meeting photo taken at %(taken)s, the check-out claimed at %(claimed)s: "
                        "%(hours)s h apart (limit %(limit)s h)."),
}

# Which of an anomaly's numbers (domain.anomalies) fills each placeholder of its kind's words.
_NUMBERS = {
    "overlap": {"km": "distance_km", "hours": "overlap_hours", "limit": "limit_km"},
    "travel": {"km": "distance_km", "speed": "speed_kmh", "minutes": "minutes", "beyond": "beyond_accuracy_km",
               "limit": "limit_kmh"},
    "photo_reuse": {"sha": "sha256"},
    "late_send": {"action": "action_at", "seen": "seen_at", "receipt": "receipt_at",
                  "minutes": "minutes_online_before", "limit": "limit_minutes"},
    "exif_time": {"taken": "taken_at", "claimed": "claimed_at", "hours": "hours_apart", "limit": "limit_hours"},
}


def _shown(name: str, value) -> str:
    if name.endswith("_at"):
        return _time(value)
    return str(value) if name == "sha256" else _n(value)


def describe(anomaly) -> str:
    """The numbers of one anomaly in a sentence, e.g. "420 km apart: 1,260 km/h needed"."""
    numbers = anomaly.numbers
    wanted = _NUMBERS.get(anomaly.kind)
    if wanted is None:
        return ""
    params = {key: _shown(name, numbers[name]) for key, name in wanted.items() if name in numbers}
    code = f"exif_time_{'in' if numbers.get('kind') == 'in' else 'out'}" if anomaly.kind == "exif_time" else anomaly.kind
    text = sentence(DESCRIPTIONS, code, params)
    return text + (" " + _("Sent later.") if anomaly.kind == "exif_time" and numbers.get("sent_later") else "")


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

