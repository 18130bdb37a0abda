"""The byte budget of a photo on the wire (R8): every photo leaves the phone at most
PHOTO_WIRE_MAX_BYTES (300 kB), its long side at least 1280 px, with the original's EXIF
evidence and SHA-256, and the auditor sees on its tile what will be sent. HEIC/HEIF is
decoded on the phone by the vendored WebAssembly libheif and goes as a JPEG with its EXIF.

Inputs: a detailed, noisy 12 MP camera JPEG made here from a real fixture
(tests/photo_inputs.py, about 4 MB at quality 92), and the real iPhone HEIC fixtures."""
from __future__ import annotations

import hashlib
import io
import re

import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.domain.evidence import read_exif
from checkin_pwa.extensions import db
from checkin_pwa.models import Photo

from ..helpers import wait_until
from ..photo_inputs import detailed_12mp
from .test_offline_outbox import controlled
from .test_photos_flow import UPLOADS, check_in, choose, exif_of, fixture, group, open_plan, shrink_in_page, uploaded

pytestmark = pytest.mark.browser

BUDGET = 300 * 1024
SIZE_LINE = re.compile(r"^将发送 (\d+) kB（原图 (\d+(?:\.\d)?) (kB|MB)）$")
HEIC_UPLOADS = 60_000  # ms: decoding 12 MP in WebAssembly on a busy software-rendered VM


def rows(data, plan_id: int) -> dict[str, dict]:
    with data:
        store = data.app.extensions["photo_store"]
        photos = db.session.scalars(select(Photo).where(Photo.plan_id == plan_id).order_by(Photo.id))
        return {p.original_name: {"format": p.format, "bytes_received": p.bytes_received,
                                  "bytes_original": p.bytes_original, "sha256_original": p.sha256_original,
                                  "exif": p.exif, "evidence": store.read(p.evidence_key),
                                  "display": store.read(p.display_key)} for p in photos}


def hold_uploads(page, plan_id: int) -> list:
    """Photo uploads stop at the browser until the test lets them go (route.continue_())."""
    held: list = []
    page.route(f"**/plans/{plan_id}/photos", lambda route: held.append(route))
    return held


def shown_kb(tile) -> int:
    text = tile.locator(".photo-size").inner_text().strip()
    match = SIZE_LINE.match(text)
    assert match, text
    return int(match.group(1))


@pytest.fixture
def checked_in_plan(data):
    with data as f:
        me = f.auditor(name="张三")
        plan_id = f.plan([me]).id
        check_in(me, plan_id)
        return me.phone, plan_id


def test_r8_a_detailed_12_mp_photo_is_reencoded_until_it_fits_the_budget_with_its_exif_and_sha256(
        page, data, checked_in_plan, tmp_path):
    phone, plan_id = checked_in_plan
    original_path = detailed_12mp(tmp_path / "IMG_20261129_101500.jpg")
    original = original_path.read_bytes()
    assert len(original) > 3_500_000  # a camera's 12 MP file, not a resized one
    open_plan(page, phone, plan_id)
    held = hold_uploads(page, plan_id)

    choose_path(page, "first", original_path)
    tile = group(page, "first").locator(".photo-tile").first
    # Before it goes up, the tile says what will be sent: under the budget, and the original.
    expect(tile.locator(".photo-size")).to_have_text(re.compile(r"^将发送 \d+ kB（原图 4\.\d MB）$"), timeout=UPLOADS)
    wait_until(page, lambda: held, UPLOADS)
    said = shown_kb(tile)
    assert said <= 300
    held[0].continue_()
    expect(uploaded(page, "first")).to_have_count(1, timeout=UPLOADS)

    row = rows(data, plan_id)[original_path.name]
    assert row["format"] == "jpeg" and row["bytes_received"] <= BUDGET
    assert round(row["bytes_received"] / 1024) == said  # what the auditor was shown was sent
    assert row["sha256_original"] == hashlib.sha256(original).hexdigest()
    assert row["bytes_original"] == len(original)
    sent, sent_exif, taken = exif_of(row["evidence"])
    source, _, source_taken = exif_of(original)
    assert max(sent.size) >= 1280
    assert sent.info.get("exif") == source.info.get("exif")  # the EXIF block, byte for byte
    assert taken == source_taken
    assert row["exif"] == read_exif(original).to_json()  # the evidence the server read: the original's


def choose_path(page, key: str, path) -> None:
    group(page, key).locator("input[data-photo-input][capture]").set_input_files(str(path))


def test_r8_a_heic_leaves_the_phone_as_a_jpeg_within_the_budget_with_its_exif_and_upright(
        page, data, checked_in_plan):
    phone, plan_id = checked_in_plan
    open_plan(page, phone, plan_id)
    names = ("IMG_5195.HEIC", "iphone_13_pro_max.HEIC")
    decoder = []
    page.on("request", lambda request: decoder.append(request.url) if "libheif" in request.url else None)
    assert not decoder  # the plan page itself does not load the decoder
    choose(page, "other", *names)

    expect(uploaded(page, "other")).to_have_count(2, timeout=HEIC_UPLOADS)
    assert sorted(url.rsplit("/", 1)[1].split("?")[0] for url in decoder) == ["libheif.js", "libheif.wasm"]  # fetched once
    found = rows(data, plan_id)
    for name in names:
        original = fixture(name).read_bytes()
        row = found[name]
        assert row["format"] == "jpeg", name
        assert row["bytes_received"] <= BUDGET < len(original), name
        assert row["sha256_original"] == hashlib.sha256(original).hexdigest()
        sent = Image.open(io.BytesIO(row["evidence"]))
        assert max(sent.size) == 1600, name
        # The server read the HEIC's own EXIF from the JPEG: time, offset, GPS, every raw tag.
        assert row["exif"] == read_exif(original).to_json() | {"container": "jpeg"}, name

        # Upright as the HEIC shows (the iPhone 13's is turned by its container and its EXIF).
        heic = pillow_heif.open_heif(io.BytesIO(original)).to_pillow().convert("RGB")
        display = Image.open(io.BytesIO(row["display"])).convert("RGB")
        assert (display.width < display.height) == (heic.width < heic.height), name
        expected = heic.resize(display.size)
        apart = sum(ImageStat.Stat(ImageChops.difference(expected, display)).mean)
        turned = expected.transpose(Image.Transpose.ROTATE_180)
        assert apart < sum(ImageStat.Stat(ImageChops.difference(turned, display)).mean) / 3, name
    gps = found["IMG_5195.HEIC"]["exif"]["gps"]["value"]
    assert round(gps["lat"], 2) == 39.05 and round(gps["lon"], 2) == -94.29
    assert found["iphone_13_pro_max.HEIC"]["exif"]["taken_at"]["value"] == "2022-02-16T12:55:41"


def test_r17_a_heic_picked_offline_before_the_decoder_was_fetched_waits_whole_and_goes_when_online(
        page, data, checked_in_plan):
    # The decoder is not precached (1.5 MB most auditors never need): offline, before any HEIC
    # was picked online, it cannot be loaded. The photo is not held back or dropped: it waits
    # in the outbox as it is, and the auditor sees its full size.
    phone, plan_id = checked_in_plan
    open_plan(page, phone, plan_id)
    original = fixture("IMG_5195.HEIC").read_bytes()
    page.context.set_offline(True)
    choose(page, "other", "IMG_5195.HEIC")
    tile = group(page, "other").locator(".photo-tile.photo-queued")
    expect(tile).to_have_count(1, timeout=UPLOADS)
    expect(tile.locator(".photo-size")).to_have_text("将发送 814 kB（原图 814 kB）")

    page.context.set_offline(False)
    # The server decodes the whole HEIC (seconds of CPU on a busy machine; a decode cut short
    # by its wall-clock limit is answered "try again" and the outbox retries after a pause).
    expect(uploaded(page, "other")).to_have_count(1, timeout=2 * HEIC_UPLOADS)
    row = rows(data, plan_id)["IMG_5195.HEIC"]
    assert row["format"] == "heif" and row["bytes_received"] == len(original)
    assert row["sha256_original"] == hashlib.sha256(original).hexdigest()


def test_r17_once_a_heic_was_shrunk_online_the_next_one_picked_offline_is_shrunk_too(page, data, checked_in_plan):
    # The worker keeps the decoder once a page fetched it: the plan page reopened offline (its
    # kept copy, a fresh page) decodes the next HEIC on the phone and queues the small JPEG.
    phone, plan_id = checked_in_plan
    open_plan(page, phone, plan_id)
    controlled(page)
    page.goto(f"/plans/{plan_id}")  # loaded under the worker: kept for offline
    choose(page, "other", "IMG_5195.HEIC")
    expect(uploaded(page, "other")).to_have_count(1, timeout=HEIC_UPLOADS)

    page.context.set_offline(True)
    page.reload()
    expect(page.locator("html[data-offline-copy]")).to_have_count(1)
    expect(page.locator("#photos input[data-photo-album]")).to_have_count(3)
    choose(page, "other", "iphone_13_pro_max.HEIC")
    tile = group(page, "other").locator(".photo-tile.photo-queued")
    expect(tile).to_have_count(1, timeout=HEIC_UPLOADS)
    expect(tile.locator(".photo-size")).to_have_text(re.compile(r"^将发送 \d+ kB（原图 2\.1 MB）$"))
    assert shown_kb(tile) <= 300

    page.context.set_offline(False)
    wait_until(page, lambda: len(rows(data, plan_id)) == 2, 2 * HEIC_UPLOADS)
    # The server's tile replaces the queued one (the kept copy predates the first photo).
    expect(uploaded(page, "other")).to_have_count(1, timeout=HEIC_UPLOADS)
    expect(group(page, "other").locator(".photo-tile.photo-queued")).to_have_count(0)
    row = rows(data, plan_id)["iphone_13_pro_max.HEIC"]
    assert row["format"] == "jpeg" and row["bytes_received"] <= BUDGET
    assert row["exif"] == read_exif(fixture("iphone_13_pro_max.HEIC").read_bytes()).to_json() | {"container": "jpeg"}


def test_a_heic_cut_short_goes_as_it_is_for_the_server_to_refuse(page, checked_in_plan):
    # A HEIC cut off while copying: the phone neither throws nor sends a re-encoded broken
    # picture; the bytes go as they are and the server refuses them in its own words.
    phone, plan_id = checked_in_plan
    open_plan(page, phone, plan_id)
    whole = fixture("IMG_5195.HEIC").read_bytes()
    for cut in (whole[:600_000], whole[:4_000], whole[:400_000]):
        assert shrink_in_page(page, cut, "IMG_5195.HEIC", "image/heic") == (False, cut), len(cut)
