"""The app as a whole: schema, worker and manifest, headers, languages, friendly errors."""
import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from babel.messages.pofile import read_po

from checkin_pwa.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_match_the_models(app_context, app):
    """A model change without its migration would break `make run` on an existing install."""
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_the_database_runs_in_wal_mode_on_sqlite(app_context, app):
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_service_worker_and_manifest_are_served_from_the_root(app_context, client):
    worker = client.get("/service-worker.js")
    assert worker.status_code == 200
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/"
    manifest = client.get("/manifest.json")
    assert manifest.status_code == 200
    assert manifest.json["lang"] == "zh-CN"
    assert manifest.json["scope"] == "/"


def test_pages_may_be_framed_only_by_our_own_unless_intranets_are_listed_and_sniffing_is_off(app_context, client):
    response = client.get("/login")
    assert "X-Frame-Options" not in response.headers  # it would override FRAME_ANCESTORS' list
    assert "frame-ancestors 'self';" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_chinese_is_the_default_and_english_is_one_tap_away(app_context, client):
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.get("/lang/en?next=/login")
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and "登录" not in page


def test_language_switch_refuses_an_open_redirect(app_context, client):
    response = client.get("/lang/en?next=//evil.example/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_every_message_has_a_chinese_translation():
    """zh_CN is the default: an untranslated or fuzzy entry would show English to auditors."""
    with open(ROOT / "checkin_pwa/translations/zh_CN/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []


def test_an_unknown_page_is_a_friendly_404_in_chinese(app_context, client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "未找到" in response.get_data(as_text=True)


def test_an_unexpected_error_shows_a_plain_message_not_a_trace(app_context, app, client):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret detail")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom-for-test")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret detail" not in body and "Traceback" not in body
    assert "服务器" in body


def test_every_template_filter_global_and_context_is_registered_in_one_module():
    """checkin_pwa/template_helpers.py lists every name a template can use; no other module
    registers a filter, a global or a context processor."""
    registering = re.compile(r"template_filter|template_global|jinja_env\.(filters|globals)|context_processor")
    package = ROOT / "checkin_pwa"
    elsewhere = [f"{path.relative_to(package)}:{number}" for path in sorted(package.rglob("*.py"))
                 if path.name != "template_helpers.py"
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if registering.search(line)]
    assert elsewhere == []


def test_the_names_templates_use_are_registered(app):
    for name in ("when", "utc_offset", "reason", "file_size"):
        assert name in app.jinja_env.filters
    for name in ("rule_limits", "get_locale", "this_path", "avatar_initials", "plan_detail_url", "plan_explain_url",
                 "offline_urls", "signed_together_with", "phone_rules", "notice_body_html", "unread_notices",
                 "anomaly_kind_name", "anomaly_words"):
        assert name in app.jinja_env.globals
