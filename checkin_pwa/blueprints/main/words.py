"""Words for the reason codes of domain.rules and services.checkin, in the user's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...words import sentence

REASONS = {
    # domain.rules (R2, R3, R6, R7, R16)
    "not_on_team": _l("You are not on this audit team."),
    "remote_plan": _l("This is a remote audit: no check-in is needed."),
    "plan_cancelled": _l("This audit plan was cancelled."),
    "already_checked_in": _l("Already checked in by %(by)s at %(at)s."),
    "already_checked_out": _l("Already checked out by %(by)s at %(at)s."),
    "not_started": _l("The audit has not started yet (it starts on %(first_day)s)."),
    "audit_ended": _l("The audit has ended."),
    "not_checked_in": _l("The team has not checked in yet: check in first."),
    "not_last_day": _l("Check-out is only possible on the last day of the audit (%(last_day)s)."),
    "too_soon_after_check_in": _l("Check-out opens 1 hour after check-in (%(minutes)s more minutes)."),
    # services.checkin: the posted reading (R5)
    "position_missing": _l("The phone's position was not received. Allow location access, tap Locate again and try again."),
    "position_invalid": _l("The phone's position is not a valid position. Tap Locate again and try again."),
    "pin_invalid": _l("The chosen check-in point is not a valid position. Choose it on the map again."),
    "accuracy_invalid": _l("The position accuracy sent by the phone is not valid. Tap Locate again and try again."),
    "pin_too_far": _l("The check-in point is %(km)s km from the phone's position; it may be at most %(limit_km)s km away."),
    "try_again": _l("Another team member signed at the same moment. Reload the page to see the record."),
}


def describe(reason: str, params: dict | None = None) -> str:
    """The sentence for a reason code; an unknown code or missing number never breaks a page."""
    return sentence(REASONS, reason, params)
