"""Production mode (APP_ENV=production): the app starts only with what several hosts share,
says in one line each what is missing, and a host with another SECRET_KEY is refused."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from flask import Flask

from checkin_pwa import PROJECT_ROOT, create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db
from checkin_pwa.production import NotReadyForProduction
from checkin_pwa.services.sms import SmsError, SmsSender


KEY = "k" * 64
OTHER_KEY = "o" * 64


class Gateway(SmsSender):
    """Stands for a body's SMS gateway (anything but the log backend)."""

    def send(self, phone, text):
        pass


def production_settings(tmp_path, database_url, **changes):
    settings = {
        "APP_ENV": "production", "SECRET_KEY": KEY, "SQLALCHEMY_DATABASE_URI": database_url,
        "PHOTO_STORE": "filesystem", "PHOTO_STORAGE_DIR": str(tmp_path / "shared-photos"),
        "PHOTO_STORAGE_SHARED": True, "RATELIMIT_STORAGE_URI": "database://",
        "SMS_BACKEND": "tests.test_production.Gateway", "EXPORT_DIR": str(tmp_path / "exports"),
    }
    settings.update(changes)
    return settings


def bare_environment(**extra):
    """The test run's environment without any of the settings production mode checks."""
    names = {"SECRET_KEY", "DATABASE_URL", "PHOTO_STORE", "PHOTO_STORAGE_DIR", "PHOTO_STORAGE_SHARED",
             "RATELIMIT_STORAGE_URI", "SMS_BACKEND", "APP_ENV"}
    env = {name: value for name, value in os.environ.items() if name not in names}
    env.update(extra)
    return env


@pytest.mark.parametrize("command", [
    ["-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1", "wsgi:app"],
    ["-m", "flask", "--app", "wsgi", "db", "upgrade"],
], ids=["gunicorn", "flask"])
def test_production_mode_without_shared_parts_exits_with_one_line_for_each(command):
    done = subprocess.run([sys.executable, *command], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          env=bare_environment(APP_ENV="production", RATELIMIT_STORAGE_URI="memory://"))
    assert done.returncode != 0
    refusals = [line for line in done.stderr.splitlines() if "not starting in production mode" in line]
    assert len(refusals) == 5, done.stderr
    for setting in ("SECRET_KEY", "DATABASE_URL", "PHOTO_STORE=filesystem", "RATELIMIT_STORAGE_URI=memory://",
                    "SMS_BACKEND"):
        assert sum(setting in line for line in refusals) == 1, (setting, refusals)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("changes, refused", [
    ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY is shorter"),
    ({"SQLALCHEMY_DATABASE_URI": "sqlite:////srv/checkin.sqlite3"}, "not SQLite"),
    ({"PHOTO_STORAGE_SHARED": False}, "PHOTO_STORE=filesystem"),
    ({"PHOTO_STORAGE_DIR": None}, "PHOTO_STORE=filesystem"),
    ({"PHOTO_STORE": "s3"}, "PHOTO_STORE=s3 needs S3_BUCKET"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI=memory://"),
    ({"SMS_BACKEND": "checkin_pwa.services.sms.LogSmsSender"}, "SMS_BACKEND is the log backend"),
    ({"SMS_BACKEND": "nowhere.Gateway"}, "cannot be imported"),
])
def test_production_mode_refuses_each_missing_shared_part(tmp_path, changes, refused):
    with pytest.raises(NotReadyForProduction) as refusal:
        create_app(TestConfig, **production_settings(tmp_path, "postgresql+psycopg://checkin@db.invalid/checkin",
                                                     **changes))
    assert len(refusal.value.problems) == 1
    assert refused in refusal.value.problems[0]


def test_the_sms_log_backend_sends_nothing_in_production_mode():
    from checkin_pwa.services.sms import LogSmsSender

    with pytest.raises(SmsError):
        LogSmsSender({"APP_ENV": "production"})


def test_development_mode_needs_no_settings(tmp_path, monkeypatch):
    # The instance folder make run uses, here in tmp_path instead of the checkout.
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    app = create_app(TestConfig, SECRET_KEY=None, SQLALCHEMY_DATABASE_URI=None, PHOTO_STORAGE_DIR=None,
                     RATELIMIT_STORAGE_URI="database://", SMS_BACKEND="checkin_pwa.services.sms.LogSmsSender")
    assert (tmp_path / "instance" / "secret_key").read_text().strip() == app.config["SECRET_KEY"]
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'checkin.sqlite3'}"
    assert app.extensions["photo_store"].root == tmp_path / "instance" / "photos"


def test_a_second_host_with_another_secret_key_is_refused_in_production_mode(tmp_path, postgres_server,
                                                                            empty_database_url):
    url = empty_database_url
    migrating = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, PHOTO_STORAGE_DIR=str(tmp_path / "photos"))
    with migrating.app_context():
        db.create_all()
        db.engine.dispose()

    first = create_app(TestConfig, **production_settings(tmp_path, url))  # records its key's fingerprint
    same = create_app(TestConfig, **production_settings(tmp_path, url))
    with pytest.raises(NotReadyForProduction) as refusal:
        create_app(TestConfig, **production_settings(tmp_path, url, SECRET_KEY=OTHER_KEY))
    assert "SECRET_KEY is not the key the other hosts use" in str(refusal.value)
    assert KEY not in str(refusal.value) and OTHER_KEY not in str(refusal.value)

    # The hosts that started answer as usual.
    for app in (first, same):
        assert app.test_client().get("/login").status_code == 200
        with app.app_context():
            db.engine.dispose()


def test_production_mode_starts_before_the_migrations_and_compares_the_key_after(tmp_path, postgres_server,
                                                                                empty_database_url):
    url = empty_database_url
    create_app(TestConfig, **production_settings(tmp_path, url, SECRET_KEY=OTHER_KEY))  # empty database: not compared
    app = create_app(TestConfig, **production_settings(tmp_path, url))
    with app.app_context():
        db.create_all()  # as the migrations do
        db.engine.dispose()
    create_app(TestConfig, **production_settings(tmp_path, url))  # the first start after: records
    with pytest.raises(NotReadyForProduction):
        create_app(TestConfig, **production_settings(tmp_path, url, SECRET_KEY=OTHER_KEY))
