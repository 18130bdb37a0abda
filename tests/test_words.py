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
