"""Every name a template can use beyond Jinja's and Flask-Babel's own, registered by
create_app (register): filters, globals, and the context the pages' words come in. A helper
is written where its idea lives; this module is the one list of what templates see."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask import Flask
from flask_babel import get_translations

from .domain import clock, geo


# How a moment is written on a page; `when`'s `form`.
FORMS = {
    "minute": "%Y-%m-%d %H:%M",
    "second": "%Y-%m-%d %H:%M:%S",
    "date": "%Y-%m-%d",
    "short": "%m-%d %H:%M",
    "day": "%m-%d",
    "clock": "%H:%M",
    "clock_second": "%H:%M:%S",
}


def when(moment: Optional[dt.date], where=None, form: str = "minute") -> str:
    """The one date/time filter: `moment` as text on a wall clock. `where` is a plan (its own
    zone), a zone, a zone's name, or "default" (the app's zone: for what belongs to no plan);
    None writes the moment on its own clock (a time a service already made local), as a date
    is written as it is."""
    if moment is None:
        return ""
    if where is not None and isinstance(moment, dt.datetime):
        zone = None if where == "default" else getattr(where, "timezone", where)
        moment = clock.local(moment, zone)
    return moment.strftime(FORMS[form])


def utc_offset(moment: dt.datetime) -> str:
    """+08:00: the UTC offset of an aware moment's own clock."""
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


# The rules' numbers a page hands to its script (data attributes), so no template types them.
RULE_LIMITS = {"pin_m": round(geo.PIN_LIMIT_M)}


def register(app: Flask) -> None:
    from flask_babel import get_locale

    from .blueprints.account.routes import initials
    from .blueprints.main.routes import offline_urls, phone_rules, reason_filter, signed_together_with
    from .blueprints.notices.routes import file_size, notice_body_html, unread_notices
    from .blueprints.tasks.routes import plan_detail_url, plan_explain_url
    from .console.anomalies.words import describe as anomaly_words, kind_name as anomaly_kind_name
    from .web import this_path

    app.jinja_env.filters.update(when=when, utc_offset=utc_offset, reason=reason_filter, file_size=file_size)
    app.jinja_env.globals.update(
        rule_limits=RULE_LIMITS, get_locale=get_locale, this_path=this_path,
        avatar_initials=initials, plan_detail_url=plan_detail_url, plan_explain_url=plan_explain_url,
        offline_urls=offline_urls, signed_together_with=signed_together_with, phone_rules=phone_rules,
        notice_body_html=notice_body_html, unread_notices=unread_notices,
        anomaly_kind_name=anomaly_kind_name, anomaly_words=anomaly_words,
    )
    app.context_processor(_page_words)
    _install_page_translations(app)
    # The console's own names: only its pages (the console blueprint and those nested in it).
    app.template_context_processors.setdefault("console", []).append(_console_names)


# The page's messages. Flask-Babel's Jinja callables find the request's translations anew
# for every message (its namespace on `g` through Flask's proxies three times over, the
# locale, the locale's name made again for its cache key): ~40 Python calls a message, and
# a page has dozens. Here they are looked up once per rendered page (a context processor)
# and each message reads them from the template's context; a template without that context
# (a macro imported without it) falls back to Flask-Babel's lookup.
_TRANSLATIONS = "page_translations"


def _page_translations() -> dict:
    return {_TRANSLATIONS: get_translations()}


def _translations(context):
    found = context.get(_TRANSLATIONS)
    return get_translations() if found is None else found


def _install_page_translations(app: Flask) -> None:
    from jinja2 import pass_context

    app.context_processor(_page_translations)
    app.jinja_env.install_gettext_callables(
        gettext=pass_context(lambda context, s: _translations(context).ugettext(s)),
        ngettext=pass_context(lambda context, s, p, n: _translations(context).ungettext(s, p, n)),
        pgettext=pass_context(lambda context, c, s: _translations(context).upgettext(c, s)),
        npgettext=pass_context(lambda context, c, s, p, n: _translations(context).unpgettext(c, s, p, n)),
        newstyle=True,
    )


def _page_words() -> dict:
    """The words and helpers of the auditors' pages: plans, task lists, photos."""
    from .blueprints.photos.words import GROUP_TITLES, badges, evidence_rows
    from .blueprints.plans import words as plan_words
    from .blueprints.plans.routes import plan_change_notice
    from .blueprints.tasks.words import DAY_TYPES, STATES, exception_text
    from .words import TEAM_ROLES, team_words

    return {
        "plan_words": plan_words, "plan_change_notice": plan_change_notice, "change_line": plan_words.change_line,
        "role_words": TEAM_ROLES, "state_words": STATES, "day_type_words": DAY_TYPES,
        "team_words": team_words, "exception_text": exception_text,
        "photo_badges": badges, "photo_evidence_rows": evidence_rows,
        "photo_group_title": lambda key: GROUP_TITLES.get(key, key),
    }


def _console_names() -> dict:
    from .console import pending_phone_changes, pretty_json
    from .console.plan_edits.helpers import change_author, plan_history, plan_open
    from .console.words import action_name, role_name
    from .domain.staff import role_allows

    return {"role_allows": role_allows, "role_name": role_name, "action_name": action_name,
            "pretty_json": pretty_json, "pending_phone_changes": pending_phone_changes,
            "plan_history": plan_history, "plan_open": plan_open, "change_author": change_author}
