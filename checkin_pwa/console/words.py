"""The console's words for codes: roles, audit log actions, refusals (one place). As in the
check-in end's words modules: a dict from code to words, and a function that never breaks on
a code it does not know."""
from flask_babel import lazy_gettext as _l

from ..words import sentence

ROLE_WORDS = {
    "admin": _l("Body administrator"),
    "manager": _l("Audit manager"),
    "readonly": _l("Read-only"),
}

ROLE_HINTS = {
    "admin": _l("Everything of the body, staff accounts included"),
    "manager": _l("Plans, records and notices; not staff or tokens"),
    "readonly": _l("Reads and exports"),
}

ACTION_WORDS = {
    "login": _l("Logged in"),
    "login_failed": _l("Failed login"),
    "login_refused_disabled": _l("Login refused: account disabled"),
    "second_factor_failed": _l("Wrong second-factor code"),
    "second_factor_set_up": _l("Second factor set up"),
    "recovery_code_used": _l("Recovery code used"),
    "recovery_codes_renewed": _l("New recovery codes"),
    "password_changed": _l("Password changed"),
    "password_change_failed": _l("Password change refused"),
    "logout": _l("Logged out"),
    "session_expired": _l("Session expired (inactivity)"),
    "staff_created": _l("Staff account added"),
    "staff_role_changed": _l("Staff role changed"),
    "staff_disabled": _l("Staff account disabled"),
    "staff_enabled": _l("Staff account enabled"),
    "staff_reset": _l("Staff account reset"),
    "profile_changed": _l("Body profile changed"),
    "auditor_disabled": _l("Auditor disabled"),
    "auditor_enabled": _l("Auditor enabled"),
    "auditor_password_reset": _l("Auditor password reset"),
    "auditor_restriction_lifted": _l("Auditor login restriction lifted"),
    "auditor_created": _l("Auditor added"),
    "auditor_changed": _l("Auditor details changed"),
    "token_created": _l("API token created"),
    "token_revoked": _l("API token revoked"),
    "phone_change_approved": _l("Login number change approved"),
    "phone_change_refused": _l("Login number change refused"),
    "plans_checked": _l("Plan document checked (dry run)"),
    "plans_committed": _l("Plan document imported"),
    "plans_exported": _l("Plans exported (CSV)"),
    "data_exported": _l("Records exported"),
    "notice_created": _l("Notice written (draft)"),
    "notice_published": _l("Notice published"),
    "notice_scheduled": _l("Notice scheduled"),
    "notice_withdrawn": _l("Notice withdrawn"),
    "notice_attachment_added": _l("Notice attachment added"),
    "plan_changed": _l("Plan changed"),
    "plan_cancelled": _l("Plan cancelled"),
    "notice_changed": _l("Notice text corrected"),
    "exceptions_verified": _l("Exceptions verified"),
}

NOTICE_STATE_WORDS = {
    "draft": _l("Draft"),
    "scheduled": _l("Scheduled"),
    "published": _l("Published"),
    "withdrawn": _l("Withdrawn"),
}

NOTICE_REFUSALS = {
    "empty_title": _l("The title is empty: enter one."),
    "title_too_long": _l("The title is too long: at most %(limit)s characters."),
    "body_too_long": _l("The text is too long: at most %(limit)s characters. Put longer documents in an attachment."),
    "unknown_format": _l("Choose plain text or Markdown."),
    "unknown_mode": _l("Choose when to publish."),
    "empty_file": _l("The attachment %(name)s is empty."),
    "too_large": _l("The attachment %(name)s is too large: at most %(limit_mb)s MB."),
    "too_many_files": _l("At most %(limit)s attachments at a time."),
    "no_files": _l("Choose a file to attach."),
    "schedule_missing": _l("Enter the publishing time."),
    "schedule_unreadable": _l("The publishing time could not be read: enter a date and a time."),
    "schedule_past": _l("The publishing time has passed: choose a later time, or publish now."),
    "schedule_too_far": _l("The publishing time is more than a year ahead: check the year."),
    "wrong_state": _l("Not possible for a notice in the state %(state)s. Nothing was changed."),
}

PHASE_WORDS = {
    "not_started": _l("Not started"),
    "under_way": _l("Under way"),
    "ended": _l("Ended"),
    "cancelled": _l("Cancelled"),
}

CHECKED_WORDS = {
    "yes": _l("Someone checked in"),
    "no": _l("Nobody checked in"),
}

AUDITOR_STATE_WORDS = {
    "first_login": _l("First login not completed"),
    "active": _l("Active"),
    "disabled": _l("Disabled"),
    "restricted": _l("Login restricted"),
}

REFUSALS = {
    # services.auditors
    "disabled": _l("The account is disabled: enable it first."),
    "sms_failed": _l("The text message could not be sent, so the password was not reset. Try again later."),
    "sms_failed_new": _l("The text message with the initial password could not be sent, so the auditor was not added. Try again later."),
    "auditor_here": _l("This number is already the login of an auditor of your body."),
    "auditor_elsewhere": _l("This number is the login of an auditor registered with another certification body."),
    # services.phone_changes
    "not_pending": _l("This request has already been decided or replaced by a newer one. Nothing was changed."),
    "account_changed": _l("The auditor's login number or body has changed since the request: it can no longer be approved. Nothing was changed."),
    "number_taken": _l("The new number has become the login of another account since the request, so the change was not made. Nothing was changed; you may refuse the request."),
    # services.staff
    "not_a_mobile": _l("Enter an 11-digit mobile number starting with 1."),
    "empty_name": _l("The name is empty."),
    "name_too_long": _l("The name is too long: at most 100 characters."),
    "unknown_role": _l("Unknown role."),
    "phone_taken": _l("This number is already the login of another staff account."),
    "not_yourself": _l("You cannot change your own role or account here; ask another administrator."),
    # services.plan_changes
    "started": _l("The audit started at %(start)s: its plan can no longer be changed or cancelled here. Nothing was changed."),
    "cancelled": _l("The plan is cancelled: it can no longer be changed. Nothing was changed."),
    "stale": _l("Someone changed this plan since you opened it. Nothing was changed; look at the plan as it is now and try again."),
}

# Why a plan edit was refused field by field (services.plan_changes); the other codes are
# the plan import's (words.plan_import).
PLAN_EDIT_ISSUES = {
    "not_body_auditor": _l("%(phone)s is not an auditor of your body"),
    "auditor_disabled": _l("%(name)s is disabled and cannot join a team"),
    "checked_in_member": _l("%(name)s has already signed for this plan (check-in or check-out) and stays on the team"),
}

# Who made a change of a plan's history, for the changes without a staff member.
CHANGE_SOURCES = {
    "console": _l("Console"),
    "api": _l("Import via API token"),
    "cli": _l("Import from the command line"),
    "upload": _l("Console upload"),
}


# Not among ROLE_WORDS: those are the roles a body's administrator gives.
REGULATOR = _l("Regulator")


def role_name(role: str) -> str:
    if role == "regulator":
        return str(REGULATOR)
    return str(ROLE_WORDS.get(role, role))


def action_name(action: str) -> str:
    return str(ACTION_WORDS.get(action, action))


def notice_refusal(refused) -> str:
    """Why services.notices refused a notice or a change to one (NoticeRefused)."""
    params = dict(refused.params)
    if "limit" in params and refused.code == "too_large":
        params["limit_mb"] = f"{params['limit'] / (1024 * 1024):g}"
    if "state" in params:
        params["state"] = str(NOTICE_STATE_WORDS.get(params["state"], params["state"]))
    return sentence(NOTICE_REFUSALS, refused.code, params)


def refusal_text(code: str, params: dict | None = None) -> str:
    """Why services.staff, services.auditors or services.plan_changes refused (the code)."""
    return sentence(REFUSALS, code, params)
