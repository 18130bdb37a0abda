"""The object store failing while an auditor sends a photo (R17): the app answers 503, the
phone keeps the photo in its outbox and says so, and the photo lands once the store is back,
once. Real parts: the app on a loopback port with PHOTO_STORE=s3, a real HTTP server in
front of moto's S3 server that answers 500 while the store is 'down', Chromium."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from checkin_pwa.extensions import db
from checkin_pwa.models import Photo

from ..servers.s3 import FailingStore
from .test_photos_flow import choose, group, open_plan, uploaded

pytestmark = pytest.mark.browser

SENT = 30_000  # ms: the outbox's replay, a photo's shrink and upload


@pytest.fixture
def failing_store(s3_server):
    """A store answering 500 to every request (its disk failed) until heal()."""
    with FailingStore(upstream=s3_server, fail_after=0) as store:
        yield store


def on_failing_store(request):
    store = request.getfixturevalue("failing_store")
    server = request.getfixturevalue("s3_server")
    return server.app_config(S3_ENDPOINT_URL=store.url)


def photo_rows(data) -> int:
    with data:
        return db.session.scalar(select(func.count()).select_from(Photo))


@pytest.mark.parametrize("live_server", [on_failing_store], indirect=True)
def test_r17_a_photo_sent_while_the_object_store_fails_waits_on_the_phone_and_lands_once(
        page, data, live_server, failing_store, arrivals):
    with data as f:
        me = f.auditor(name="张三")
        phone, plan_id = me.phone, f.plan([me]).id
    open_plan(page, phone, plan_id)

    choose(page, "first", "jolla.jpg")
    tile = group(page, "first").locator(".photo-tile").first
    # 503 from the app: kept on the phone, said on the tile, counted in the outbox badge.
    expect(tile.locator(".photo-status")).to_have_text("已保存，联网后自动发送", timeout=SENT)
    expect(page.locator("#outbox-badge")).to_have_attribute("data-count", "1")
    assert failing_store.failed > 0 and photo_rows(data) == 0

    failing_store.heal()
    tile.get_by_role("button", name="重试").click()
    expect(uploaded(page, "first")).to_have_count(1, timeout=SENT)
    expect(page.locator("#outbox-badge")).to_have_attribute("data-count", "0")
    assert photo_rows(data) == 1
    assert arrivals.count(f"/plans/{plan_id}/photos") == 2  # refused once, then written once
    expect(uploaded(page, "first").locator("img")).to_have_js_property("complete", True)
    natural = uploaded(page, "first").locator("img").evaluate("img => img.naturalWidth")
    assert natural > 0  # the thumbnail came from the store, through the app
