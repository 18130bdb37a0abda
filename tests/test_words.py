"""Codes become sentences one way everywhere (checkin_pwa.words): numbers filled in, a missing
number shown as "…", an unknown code readable or worded by the area's own fallback; never an
exception on a page."""
from __future__ import annotations

from flask_babel import force_locale, lazy_gettext as _l

from checkin_pwa.blueprints.main.words import describe
from checkin_pwa.blueprints.photos.words import refusal_text as photo_refusal
from checkin_pwa.console.uploads.words import upload_error
from checkin_pwa.words import fill, sentence

WORDS = {"too_long": _l("The explanation is too long: %(length)s characters, at most %(max)s. Nothing was saved; "
                        "shorten it and send again."),
         "empty": _l("Write the explanation first (it is empty).")}


def test_numbers_are_filled_in_and_a_missing_one_shows_an_ellipsis(app):
    with app.test_request_context(), force_locale("en"):
        assert sentence(WORDS, "too_long", {"length": 2001, "max": 2000}).startswith(
            "The explanation is too long: 2001 characters, at most 2000.")
        assert sentence(WORDS, "too_long", {"length": 2001}).startswith(
            "The explanation is too long: 2001 characters, at most ….")
        assert sentence(WORDS, "too_long").startswith("The explanation is too long: … characters, at most ….")
        assert sentence(WORDS, "empty", {"unused": 1}) == "Write the explanation first (it is empty)."
        assert fill("100%% sure") == "100%% sure" and fill("%(n)s%%", {"n": 5}) == "5%"


def test_an_unknown_code_reads_as_words_or_as_the_areas_fallback(app):
    with app.test_request_context(), force_locale("zh_CN"):
        assert sentence(WORDS, "from_a_newer_module") == "from a newer module"
        assert photo_refusal("from_a_newer_module") == "照片未能保存，请重试。"
        assert upload_error("from_a_newer_module") == upload_error("internal")
        assert describe("already_checked_in", {"by": "张三"}) == "已由张三于 … 签到"


def test_each_anomaly_kind_is_worded_with_all_its_numbers(app):
    import datetime as dt
    from types import SimpleNamespace

    from checkin_pwa.console.anomalies.words import describe as anomaly_words

    at = dt.datetime(2026, 5, 6, 1, 30, tzinfo=dt.timezone.utc)  # 09:30 in Beijing
    kinds = {
        "overlap": ({"distance_km": 300, "overlap_hours": 6, "limit_km": 50},
                    "The sites are 300 km apart; the plans overlap by 6 h (more than 50 km)."),
        "travel": ({"distance_km": 420, "speed_kmh": 1260, "minutes": 20, "beyond_accuracy_km": 419.5,
                    "limit_kmh": 500},
                   "The two places are 420 km apart: 1,260 km/h needed, in 20 min (419.5 km beyond the "
                   "positions' accuracy; limit 500 km/h)."),
        "photo_reuse": ({"sha256": "ab12cd34"}, "The same bytes (SHA-256 ab12cd34…) as a photo of another "
                                                "enterprise's plan."),
        "late_send": ({"action_at": at, "seen_at": at, "receipt_at": at, "minutes_online_before": 45,
                       "limit_minutes": 30},
                      "Claimed done offline at 2026-05-06 09:30; the phone was online at 2026-05-06 09:30, yet "
                      "it arrived at 2026-05-06 09:30, 45 min later (limit 30 min)."),
        "exif_time": ({"kind": "out", "taken_at": at, "claimed_at": at, "hours_apart": 30, "limit_hours": 24,
                       "sent_later": True},
                      "A last-meeting photo taken at 2026-05-06 09:30, the check-out claimed at 2026-05-06 09:30: "
                      "30 h apart (limit 24 h). Sent later."),
    }
    with app.test_request_context(), force_locale("en"):
        for kind, (numbers, said) in kinds.items():
            assert anomaly_words(SimpleNamespace(kind=kind, numbers=numbers)) == said
        assert anomaly_words(SimpleNamespace(kind="from_a_newer_module", numbers={})) == ""


def test_a_pages_messages_follow_its_language_and_a_forced_one(app):
    """Templates read the page's translations looked up once per page (template_helpers):
    the request's language, a language forced around a render, and a template rendered
    without Flask's context (Flask-Babel's own lookup) all give the right words."""
    from flask import render_template_string

    page = ('{{ _("Check in") }}|{{ ngettext("%(num)s audit plan", "%(num)s audit plans", 2) }}|'
            '{{ _("Task %(n)s of %(total)s", n=1, total=3) }}')
    with app.test_request_context():
        assert render_template_string(page) == "签到|2 个审核计划|第 1/3 个"
        with force_locale("en"):
            assert render_template_string(page) == "Check in|2 audit plans|Task 1 of 3"
            assert app.jinja_env.from_string('{{ _("Check in") }}').render() == "Check in"
        assert app.jinja_env.from_string('{{ _("Check in") }}').render() == "签到"
    client = app.test_client()
    client.get("/lang/en")
    assert "Log in" in client.get("/login").get_data(as_text=True)
