"""The verification pages' words for codes: the queue's states and views, the results of a
verification, why one was refused."""
from flask_babel import lazy_gettext as _l

from ...domain import audit_exceptions as rules10

STATE_WORDS = {
    rules10.TO_VERIFY: _l("To verify"),
    rules10.OVERDUE: _l("Overdue"),
    rules10.VERIFIED: _l("Verified"),
}

VIEW_WORDS = {"todo": _l("To do (to verify and overdue)"), **STATE_WORDS, "all": _l("All")}

RESULT_WORDS = {
    rules10.CONFIRMED: _l("Confirmed as described"),
    rules10.PLAN_ADJUSTED: _l("Plan adjusted at short notice"),
    rules10.CONFIDENTIAL: _l("Confidential site: no photos possible"),
    rules10.OTHER: _l("Other"),
}

PROBLEM_WORDS = {
    "result": _l("Choose a verification result from the list."),
    "text_needed": _l("For “Other”, say in the text what was found."),
    "text_too_long": _l("The text is too long: at most %(limit)s characters."),
    "form": _l("The form had expired. Nothing was saved; please try again."),
}
