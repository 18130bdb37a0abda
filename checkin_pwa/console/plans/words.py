"""Words of the evidence review (R21): the summary's level and each reason of
domain.assessment as one sentence with its numbers, in the user's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...blueprints.photos.words import GROUP_TITLES
from ...blueprints.plans.words import KINDS, NOTES
from ...words import list_of, sentence
from ..anomalies.words import kind_name

LEVELS = {
    "credible": _l("Credible"),
    "verify": _l("Needs verifying"),
    "doubtful": _l("Doubtful"),
}

LEVEL_LINES = {
    "credible": _l("Nothing in the record needs a second look."),
    "verify": _l("Part of the record should be checked with the team: see the reasons below."),
    "doubtful": _l("The record contradicts an on-site audit: see the reasons below, most serious first."),
}

REASON_LEVELS = {
    "doubtful": _l("Doubtful"),
    "verify": _l("Needs verifying"),
    "note": _l("Note"),
    "ok": _l("Corroborates"),
}

REASONS = {
    "no_check_in": _l("The audit has ended and the team never checked in: nothing in the record puts it on site."),
    "far_from_site": _l("%(kind)s point %(km)s km from the nearest planned address (more than %(limit_km)s km: "
                        "another area)."),
    "cross_audit": _l("Cross-audit anomaly: %(anomaly)s (%(count)s; the numbers are below)."),
    "duplicate_photo": _l("Photos identical byte for byte to a photo of another audit plan: %(count)s "
                          "(in %(plans)s other plans)."),
    "photo_other_day": _l("Photos taken a day or more away from their meeting: %(count)s (up to %(hours)s hours "
                          "apart; %(limit_hours)s hours or more is another day)."),
    "photo_far_away": _l("Photos whose GPS is far from the site: %(count)s (up to %(km)s km away; more than "
                         "%(limit_km)s km)."),
    "skew_offline": _l("%(kind)s was made offline on a phone whose clock was %(minutes)s minutes off the server's "
                       "(more than %(limit_hours)s hour): its time of action rests on that clock."),
    "deviation": _l("%(kind)s point %(km)s km from the nearest planned address (location deviation: more than "
                    "%(limit_km)s km)."),
    "no_check_out": _l("The audit has ended and the team never checked out."),
    "photos_missing": _l("The audit has ended without %(groups)s."),
    "photo_time_mismatch": _l("Photos taken away from the time of their meeting: %(count)s (up to %(hours)s hours "
                              "apart; tolerance %(limit_hours)s hours)."),
    "photo_place_mismatch": _l("Photos whose GPS is away from the check-in point and the site: %(count)s "
                               "(up to %(km)s km away)."),
    "useless_accuracy": _l("%(kind)s: the phone's position was accurate only to %(accuracy_m)s m (worse than "
                           "%(limit_m)s m): it cannot show whether the team was on site."),
    "site_not_located": NOTES["site_not_located"],
    "clock_skew": _l("%(kind)s: the phone's clock was %(minutes)s minutes off the server's (more than "
                     "%(limit_minutes)s minutes)."),
    "sent_very_late": _l("%(kind)s was made offline and received %(hours)s hours later (more than "
                         "%(limit_hours)s hours)."),
    "offline_clock_doubt": _l("%(kind)s: the phone's time of the action contradicts the audit or the server's "
                              "receipt; the receipt time is used."),
    "not_checked_in_yet": _l("The team has not checked in yet."),
    "sent_later": _l("%(kind)s: offline record, sent later (received %(minutes)s minutes after the action)."),
    "late_copy": _l("%(kind)s: a member's own offline copy, sent later after the team had signed."),
    "poor_accuracy": NOTES["poor_accuracy"],
    "pin_moved": NOTES["pin_moved"],
    "stale_position": _l("%(kind)s: the phone's position was older than the action by more than 2 minutes."),
    "photo_no_exif": _l("Photos without EXIF, whose time and place cannot be checked: %(count)s (common: phones "
                        "and messaging apps remove it)."),
    "explained": _l("The team has written explanations: %(count)s."),
    "no_check_in_needed": _l("Remote or cancelled audit: no on-site check-in is needed."),
    "on_site": _l("%(kind)s point %(km)s km from the nearest planned address."),
    "on_site_accuracy": _l("%(kind)s point %(km)s km from the nearest planned address (accuracy %(accuracy_m)s m)."),
    "photos_time_ok": _l("Photos taken at the time of their meeting: %(count)s."),
    "photos_place_ok": _l("Photos taken on site: %(count)s."),
}


def _number(value) -> str:
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return text or "0"
    return str(value)


def reason_text(reason) -> str:
    """One reason of domain.assessment as a sentence with its numbers."""
    params = {key: _number(value) for key, value in reason.params.items() if not isinstance(value, tuple)}
    code = reason.code
    if "kind" in reason.params:
        params["kind"] = str(KINDS.get(reason.params["kind"], reason.params["kind"]))
    if "groups" in reason.params:
        params["groups"] = list_of(GROUP_TITLES.get(group, group) for group in reason.params["groups"])
    if code == "cross_audit":
        params["anomaly"] = kind_name(reason.params.get("anomaly", ""))
    if code == "window":
        window = reason.params.get("window")
        return sentence(NOTES, window or "", params)
    if code in ("pin_moved", "poor_accuracy"):
        params["metres"] = params.get("m") or params.get("accuracy_m")
    if code == "on_site" and reason.params.get("accuracy_m") is not None:
        code = "on_site_accuracy"
    return sentence(REASONS, code, params)
