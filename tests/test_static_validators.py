"""Static files, the worker script and the manifest carry validators made from their bytes:
two hosts holding the same files (written at different times, as each deploy writes its
own copy) answer with the same ETag, so a phone's revalidation is a 304 whichever host
answers it; a changed file gets a new one."""
from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from checkin_pwa import PROJECT_ROOT, create_app
from checkin_pwa.config import TestConfig


@pytest.fixture
def two_hosts(tmp_path):
    """Two apps, each with its own copy of one static file, the copies written a day apart."""
    hosts = []
    for name, mtime in (("a", 1_700_000_000), ("b", 1_700_086_400)):
        static = tmp_path / name / "static"
        (static / "js").mkdir(parents=True)
        script = static / "js" / "app.js"
        shutil.copyfile(PROJECT_ROOT / "checkin_pwa" / "static" / "js" / "app.js", script)
        os.utime(script, (mtime, mtime))
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / name}/db.sqlite3",
                         PHOTO_STORAGE_DIR=str(tmp_path / name / "photos"))
        app.static_folder = str(static)
        hosts.append((app.test_client(), script))
    return hosts


def test_two_hosts_give_a_static_file_the_same_etag_and_304_each_others_revalidation(two_hosts):
    (a, _), (b, _) = two_hosts
    first = a.get("/static/js/app.js")
    assert first.status_code == 200 and first.headers["ETag"]
    assert "Last-Modified" not in first.headers, "a date differs between hosts"
    assert b.get("/static/js/app.js").headers["ETag"] == first.headers["ETag"]
    again = b.get("/static/js/app.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]


def test_a_changed_static_file_gets_a_new_etag(two_hosts):
    (a, script), _ = two_hosts
    before = a.get("/static/js/app.js").headers["ETag"]
    stat = script.stat()
    script.write_bytes(script.read_bytes() + b"\n// changed\n")
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even at the same time of modification
    answer = a.get("/static/js/app.js", headers={"If-None-Match": before})
    assert answer.status_code == 200 and answer.headers["ETag"] != before
    assert answer.data.endswith(b"// changed\n")


def test_a_missing_or_outside_static_path_is_404(app_context, client):
    assert client.get("/static/js/no-such-file.js").status_code == 404
    assert client.get("/static/../config.py").status_code == 404


@pytest.mark.parametrize("path", ["/service-worker.js", "/manifest.json"])
def test_the_worker_script_and_manifest_revalidate_every_load_with_the_same_etag_on_every_host(tmp_path, path):
    hosts = [create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/{name}.sqlite3",
                        PHOTO_STORAGE_DIR=str(tmp_path / name)).test_client() for name in ("a", "b")]
    first = hosts[0].get(path)
    assert first.headers["Cache-Control"] == "no-cache", "never kept without asking: a deploy reaches every phone"
    assert hosts[1].get(path).headers["ETag"] == first.headers["ETag"]
    assert hosts[1].get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_pages_name_static_files_by_version_and_those_answers_are_kept_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    url = re.search(r'src="(/static/js/app\.js\?v=[0-9a-f]+)"', html).group(1)
    kept = client.get(url)
    assert kept.status_code == 200 and kept.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Without a version, or with another content's, the file is checked again each time.
    assert client.get("/static/js/app.js").headers["Cache-Control"] == "no-cache"
    assert client.get("/static/js/app.js?v=000000000000").headers["Cache-Control"] == "no-cache"


def test_a_static_file_carries_no_page_headers_and_no_cookie(client):
    client.get("/login")  # a session exists
    answer = client.get("/static/css/app.css", headers={"Accept-Encoding": "br"})
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    for header in ("Content-Security-Policy", "Referrer-Policy", "Set-Cookie", "Content-Disposition"):
        assert header not in answer.headers, header
    assert "Cookie" not in answer.headers.get("Vary", "")
    page = client.get("/login")
    assert "frame-ancestors" in page.headers["Content-Security-Policy"] and page.headers["Referrer-Policy"]


def test_the_worker_knows_the_version_of_each_static_file_it_names(client):
    source = client.get("/service-worker.js").get_data(as_text=True)
    versions = json.loads(re.search(r"var STATIC_VERSIONS = (\{.*?\});", source).group(1))
    html = client.get("/login").get_data(as_text=True)
    for path in ("/static/js/app.js", "/static/js/outbox.js", "/static/vendor/htmx-2.0.11.min.js"):
        assert f'{path}?v={versions[path]}"' in html, path
    assert "/static/js/checkin.js" in versions and "/static/vendor/leaflet-1.9.4/leaflet.js" in versions


def test_the_manifests_icons_are_named_by_version_and_kept_a_year(client):
    icons = client.get("/manifest.json").get_json()["icons"]
    assert icons and all(re.search(r"^/static/icons/[\w-]+\.png\?v=[0-9a-f]{12}$", icon["src"]) for icon in icons)
    for icon in icons:
        assert client.get(icon["src"]).headers["Cache-Control"] == "public, max-age=31536000, immutable"
