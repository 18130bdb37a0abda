"""Who is asking (request.htmx) and the answers htmx acts on (checkin_pwa.htmx): decided
from the headers once per request; the pages never read the headers themselves."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask, request

from checkin_pwa.htmx import HtmxDetails, HtmxRequest, go_to, hx, refusal, vary

TEMPLATES = Path(__file__).resolve().parent.parent / "checkin_pwa" / "templates"
# static/js/photos.js and the scripts it is split into (photo-upload.js...).
PHOTO_SCRIPTS = sorted((Path(__file__).resolve().parent.parent / "checkin_pwa" / "static" / "js").glob("photo*.js"))


@pytest.fixture
def bare():
    app = Flask(__name__)
    app.request_class = HtmxRequest
    return app


def asking(bare, headers=None) -> HtmxDetails:
    with bare.test_request_context("/", headers=headers or {}):
        return request.htmx


def test_a_browser_asking_for_a_page_is_none_of_our_clients(bare):
    who = asking(bare, {"Accept": "text/html"})
    assert not who
    assert not (who.outbox or who.photos or who.background or who.auto_refresh or who.boosted)
    assert not who.wants_fragment
    assert who.target is None and who.trigger is None and who.trigger_name is None


def test_htmx_is_told_by_its_header_and_gives_what_it_names(bare):
    who = asking(bare, {"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "task-results",
                        "HX-Trigger": "board-list", "HX-Trigger-Name": "level1",
                        "HX-Current-URL": "http://localhost/tasks"})
    assert who and who.wants_fragment and who.boosted
    assert (who.target, who.trigger, who.trigger_name, who.current_url) == (
        "task-results", "board-list", "level1", "http://localhost/tasks")
    assert not who.outbox and not who.photos


def test_htmx_names_are_not_read_from_a_request_htmx_did_not_make(bare):
    who = asking(bare, {"HX-Request": "false", "HX-Trigger-Name": "level1", "HX-Trigger": "board-list"})
    assert not who and who.trigger_name is None and who.trigger is None


def test_the_outbox_replay_reads_fragments_and_names_its_author(bare):
    who = asking(bare, {"X-Outbox": "1", "HX-Request": "true", "X-Outbox-Author": "7"})
    assert who.outbox and who.wants_fragment and who.outbox_author == "7"
    assert not who.photos


def test_the_photo_script_names_itself_and_is_not_htmx(bare):
    who = asking(bare, {"X-Checkin-Client": "photos"})
    assert who.photos and who.wants_fragment
    assert not who and not who.outbox


def test_the_workers_own_fetch_and_a_page_refreshing_itself(bare):
    assert asking(bare, {"X-Background-Fetch": "1"}).background
    assert asking(bare, {"X-Auto-Refresh": "1"}).auto_refresh
    assert not asking(bare, {"X-Background-Fetch": "0"}).background


def test_who_is_asking_is_decided_once_per_request(bare):
    with bare.test_request_context("/", headers={"HX-Request": "true"}):
        assert request.htmx is request.htmx


def test_hx_sets_htmx_response_headers_and_only_those_given(bare):
    with bare.test_request_context("/"):
        response = hx(bare.response_class(""), push_url="/tasks?q=a", trigger="photos-changed")
        assert response.headers["HX-Push-Url"] == "/tasks?q=a"
        assert response.headers["HX-Trigger"] == "photos-changed"
        assert not any(name in response.headers for name in ("HX-Redirect", "HX-Location", "HX-Reswap", "HX-Retarget"))
        response = hx(bare.response_class(""), trigger={"saved": {"id": 3}}, location={"path": "/", "target": "#main"},
                      reswap="outerHTML swap:0s", retarget="#photos", redirect="/login")
        assert json.loads(response.headers["HX-Trigger"]) == {"saved": {"id": 3}}
        assert json.loads(response.headers["HX-Location"]) == {"path": "/", "target": "#main"}
        assert (response.headers["HX-Reswap"], response.headers["HX-Retarget"], response.headers["HX-Redirect"]) == (
            "outerHTML swap:0s", "#photos", "/login")
        with pytest.raises(ValueError):
            hx(bare.response_class(""), reswap="sideways")


@pytest.mark.parametrize("headers", [{"HX-Request": "true"}, {"X-Checkin-Client": "photos"}])
def test_go_to_sends_a_fragment_client_a_whole_page_redirect_htmx_follows(bare, headers):
    with bare.test_request_context("/", headers=headers):
        response = go_to("/password/change")
        assert (response.status_code, response.headers["HX-Redirect"], response.get_data()) == (200, "/password/change", b"")
        assert go_to("/console/login", htmx_status=401).status_code == 401


def test_go_to_sends_a_browser_a_303(bare):
    with bare.test_request_context("/"):
        response = go_to("/password/change")
        assert response.status_code == 303 and response.headers["Location"] == "/password/change"
        assert "HX-Redirect" not in response.headers


def test_a_refusal_is_one_escaped_alert_with_its_status_and_mark(bare):
    with bare.test_request_context("/"):
        response = refusal("<b>不行</b> & no", 409, mark="outbox-not-yours")
        assert response.status_code == 409 and response.mimetype == "text/html"
        assert response.get_data(as_text=True) == (
            '<p class="error" role="alert" data-outbox-not-yours>&lt;b&gt;不行&lt;/b&gt; &amp; no</p>')
        photo = refusal("太大", 413, css="photo-error").get_data(as_text=True)
        assert photo == '<p class="photo-error" role="alert">太大</p>'


def test_vary_names_every_header_that_chooses_page_or_fragment(bare):
    with bare.test_request_context("/"):
        response = vary(bare.response_class(""))
        assert set(response.vary) >= {"HX-Request", "X-Outbox", "X-Checkin-Client"}


def test_templates_never_read_request_headers():
    readers = [str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")
               if "request.headers" in path.read_text(encoding="utf-8")]
    assert readers == []


def test_the_photo_script_names_itself_instead_of_claiming_to_be_htmx():
    scripts = {path.name: path.read_text(encoding="utf-8") for path in PHOTO_SCRIPTS}
    senders = [name for name, script in scripts.items() if "setRequestHeader(" in script]
    assert senders and all('"X-Checkin-Client", "photos"' in scripts[name] for name in senders)
    assert [name for name, script in scripts.items() if "HX-Request" in script] == []
