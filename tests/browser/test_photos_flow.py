"""Meeting photos on the phone (R8), through the real file inputs of the plan page: shrunk
on the phone with their EXIF carried, one upload per photo with its own progress and
errors, counts held on the phone and by the server, delete by long press or by button.

Real photos from shared/fixtures/photos (see its README for what each one holds)."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import pillow_heif
import pytest
from flask_babel import force_locale, gettext
from PIL import Image, ImageChops, ImageOps, ImageStat
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.domain import clock
from checkin_pwa.blueprints.photos.words import refusal_text
from checkin_pwa.extensions import db
from checkin_pwa.models import Photo
from checkin_pwa.services import checkin

from ..conftest import PHONE_POSITION, login_in_browser

pytestmark = pytest.mark.browser

PHOTOS = Path(__file__).resolve().parents[3] / "shared/fixtures/photos"
EXIF_IFD, DATE_TIME_ORIGINAL, ORIENTATION = 0x8769, 36867, 274
UPLOADS = 20_000  # ms: several photos go up one after the other


def fixture(name: str) -> Path:
    return PHOTOS / name


def group(page, key: str):
    return page.locator(f'#photos .photo-group[data-group="{key}"]')


def uploaded(page, key: str):
    return group(page, key).locator(".photo-tile[data-photo-id]")


def choose(page, key: str, *names: str) -> None:
    """Pick photos as a phone does: one from the camera, several from the album."""
    box = group(page, key)
    which = "input[data-photo-input][capture]" if len(names) == 1 else "input[data-photo-album]"
    box.locator(which).set_input_files([fixture(name) for name in names])


def open_plan(page, phone: str, plan_id: int) -> None:
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.goto(f"/plans/{plan_id}")
    # photos.js has enhanced every group (the album input is its doing).
    expect(page.locator("#photos input[data-photo-album]")).to_have_count(3)


def check_in(auditor, plan_id: int) -> None:
    """The team's check-in, on the site, as the check page would post it."""
    now = clock.now()
    stamp = str(int(now.replace(tzinfo=dt.timezone.utc).timestamp() * 1000))
    form = {"device_lat": repr(PHONE_POSITION["latitude"]), "device_lon": repr(PHONE_POSITION["longitude"]),
            "device_accuracy": "12", "device_time": stamp, "device_position_time": stamp}
    assert isinstance(checkin.check(auditor, plan_id, "in", form, now), checkin.Signed)


def stored(data, plan_id: int, deleted: bool = False) -> list[dict]:
    """The plan's photo rows, with the evidence file the server kept."""
    with data:
        store = data.app.extensions["photo_store"]
        query = select(Photo).where(Photo.plan_id == plan_id).order_by(Photo.id)
        query = query.where(Photo.deleted_at.is_not(None) if deleted else Photo.deleted_at.is_(None))
        return [{"id": p.id, "group": p.group, "name": p.original_name, "sha256_original": p.sha256_original,
                 "bytes_original": p.bytes_original, "bytes_received": p.bytes_received,
                 "evidence": store.read(p.evidence_key)} for p in db.session.scalars(query)]


def exif_of(data: bytes):
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    return image, exif, exif.get_ifd(EXIF_IFD).get(DATE_TIME_ORIGINAL)


def refusal_in_chinese(app, code: str, **params) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return refusal_text(code, params)


@pytest.fixture
def team_plan(data):
    """Today's plan of 张三's team; returns (auditor's phone, plan id)."""
    with data as f:
        me = f.auditor(name="张三")
        return me.phone, f.plan([me]).id


def test_r8_three_first_three_last_two_other_photos_go_up_shrunk_with_their_exif(page, data):
    with data as f:
        me = f.auditor(name="张三")
        plan_id, phone = f.plan([me]).id, me.phone
        check_in(me, plan_id)
    open_plan(page, phone, plan_id)
    chosen = {"first": ["DSCN0010.jpg", "HMD_Nokia_8.3_5G.jpg", "jolla.jpg"],
              "last": ["portrait_6.jpg", "Canon_40D.jpg", "DSCN0012.jpg"],
              "other": ["30-type_error.jpg", "corrupted.jpg"]}
    for key, names in chosen.items():
        choose(page, key, *names)
    # Each photo is on screen at once, before it has gone up.
    expect(group(page, "first").locator(".photo-tile")).to_have_count(3)

    for key, names in chosen.items():
        expect(uploaded(page, key)).to_have_count(len(names), timeout=UPLOADS)
    expect(group(page, "first").locator(".photo-count")).to_have_text("(3/3)")
    expect(group(page, "last").locator(".photo-count")).to_have_text("(3/3)")
    expect(group(page, "other").locator(".photo-count")).to_have_text("(2/9)")
    expect(page.locator("#photos .photo-pending, #photos .photo-failed")).to_have_count(0)
    # The plain-words line follows the uploads without a reload: nothing is missing any more.
    expect(page.locator("#photo-verdict")).not_to_contain_text("尚缺")
    expect(page.locator("#photo-verdict")).to_contain_text("张无 GPS")
    for tile in uploaded(page, "first").all():
        expect(tile.locator(".photo-badges .badge").first).to_be_visible()
        expect(tile.locator("img")).to_have_js_property("complete", True)
        assert tile.locator("img").evaluate("img => img.naturalWidth") > 0  # the team sees its thumbnail

    rows = stored(data, plan_id)
    assert sorted((row["group"], row["name"]) for row in rows) == sorted(
        (key, name) for key, names in chosen.items() for name in names)
    for row in rows:
        original = fixture(row["name"]).read_bytes()
        assert row["sha256_original"] == hashlib.sha256(original).hexdigest()
        assert row["bytes_original"] == len(original)
        received, received_exif, taken = exif_of(row["evidence"])
        source, source_exif, source_taken = exif_of(original)
        assert max(received.size) <= 1600
        assert taken == source_taken, row["name"]  # the EXIF block came along, byte for byte
        assert received.info.get("exif") == source.info.get("exif"), row["name"]
        assert received_exif.get(ORIENTATION) == source_exif.get(ORIENTATION)
    by_name = {row["name"]: row for row in rows}
    nokia = by_name["HMD_Nokia_8.3_5G.jpg"]
    assert Image.open(io.BytesIO(nokia["evidence"])).size == (1600, 686)
    assert nokia["bytes_received"] < nokia["bytes_original"] / 5
    # A 640 px photo is worth little shrinking (a copy would save ~11 %): it went as it was.
    assert by_name["DSCN0010.jpg"]["evidence"] == fixture("DSCN0010.jpg").read_bytes()

    # jolla.jpg has no GPS: neutral grey "cannot check", not a red mismatch.
    jolla = page.locator(f"#photo-{by_name['jolla.jpg']['id']}")
    expect(jolla.locator('.badge-unknown[data-check="place"]')).to_contain_text("无法核验")
    expect(jolla.locator('.badge-mismatch[data-check="place"]')).to_have_count(0)
    # DSCN0010.jpg was taken in Italy, far from this check-in.
    nikon = page.locator(f"#photo-{by_name['DSCN0010.jpg']['id']}")
    expect(nikon.locator('.badge-mismatch[data-check="place"]')).to_be_visible()

    # What the page shows is what the server has: a reload draws the same tiles.
    page.reload()
    expect(uploaded(page, "first")).to_have_count(3)
    expect(group(page, "last").locator(".photo-count")).to_have_text("(3/3)")


def test_r8_long_press_deletes_a_photo_after_confirming_and_so_does_the_button(page, data, team_plan):
    phone, plan_id = team_plan
    open_plan(page, phone, plan_id)
    choose(page, "first", "DSCN0010.jpg", "jolla.jpg", "Canon_40D.jpg")
    expect(uploaded(page, "first")).to_have_count(3, timeout=UPLOADS)
    asked = []
    answer = {"accept": False}

    def on_dialog(dialog):
        asked.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()
    page.on("dialog", on_dialog)

    def long_press(tile):
        tile.scroll_into_view_if_needed()  # the plan page has the record and map above the photos
        box = tile.locator("img").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.wait_for_timeout(700)
        page.mouse.up()

    first = uploaded(page, "first").first
    first_id = int(first.get_attribute("data-photo-id"))
    long_press(first)  # answered "cancel": nothing happens
    assert asked == ["删除这张照片？"]
    expect(uploaded(page, "first")).to_have_count(3)
    assert page.url.endswith(f"/plans/{plan_id}")  # the press did not open the photo either

    answer["accept"] = True
    long_press(first)
    expect(page.locator(f"#photo-{first_id}")).to_have_count(0)
    expect(uploaded(page, "first")).to_have_count(2)
    expect(group(page, "first").locator(".photo-count")).to_have_text("(2/3)")
    assert page.url.endswith(f"/plans/{plan_id}")

    # The visible control, for those who don't know the gesture: it asks too.
    second = uploaded(page, "first").first
    second_id = int(second.get_attribute("data-photo-id"))
    second.locator(".photo-delete-button").click()
    expect(page.locator(f"#photo-{second_id}")).to_have_count(0)
    expect(group(page, "first").locator(".photo-count")).to_have_text("(1/3)")
    assert len(asked) == 3

    assert sorted(row["id"] for row in stored(data, plan_id, deleted=True)) == sorted([first_id, second_id])
    assert len(stored(data, plan_id)) == 1
    page.reload()
    expect(uploaded(page, "first")).to_have_count(1)


def test_r8_a_fourth_first_meeting_photo_is_refused_on_the_phone_and_by_the_server(page, data, team_plan):
    phone, plan_id = team_plan
    open_plan(page, phone, plan_id)
    # Four at once from the album: three go up, the fourth is refused at once.
    choose(page, "first", "DSCN0010.jpg", "jolla.jpg", "Canon_40D.jpg", "DSCN0012.jpg")
    message = group(page, "first").locator(".photo-group-message")
    expect(message).to_contain_text("最多 3 张")
    expect(group(page, "first").locator(".photo-tile")).to_have_count(3)
    expect(uploaded(page, "first")).to_have_count(3, timeout=UPLOADS)
    choose(page, "first", "portrait_6.jpg")  # and one more from the camera
    expect(message).to_contain_text("最多 3 张")
    expect(group(page, "first").locator(".photo-tile")).to_have_count(3)
    assert len(stored(data, plan_id)) == 3

    # A phone whose count is wrong (another member's photos came meanwhile): the server
    # refuses the fourth, and says so in that photo's tile.
    group(page, "first").evaluate("g => { g.dataset.max = '9'; }")
    choose(page, "first", "portrait_6.jpg")
    refused = group(page, "first").locator(".photo-tile.photo-failed")
    expect(refused.locator(".photo-error")).to_have_text(
        refusal_in_chinese(data.app, "group_full", group="first", max=3), timeout=UPLOADS)
    expect(refused.locator(".photo-retry-button")).to_have_count(0)  # sending again won't help
    expect(uploaded(page, "first")).to_have_count(3)
    assert len(stored(data, plan_id)) == 3
    refused.get_by_role("button", name="移除").click()
    expect(group(page, "first").locator(".photo-tile")).to_have_count(3)


def test_r8_a_photo_can_be_added_after_the_audit_ended(page, data):
    with data as f:
        me = f.auditor()
        plan = f.plan([me], start=f.local_today(-3, 8, 30), end=f.local_today(-1, 17, 0))
        plan_id, phone = plan.id, me.phone
    open_plan(page, phone, plan_id)
    choose(page, "last", "DSCN0012.jpg")
    expect(uploaded(page, "last")).to_have_count(1, timeout=UPLOADS)
    expect(group(page, "last").locator(".photo-count")).to_have_text("(1/3)")
    (row,) = stored(data, plan_id)
    assert (row["group"], row["name"]) == ("last", "DSCN0012.jpg")


def test_r8_a_truncated_photo_gets_its_own_error_while_the_others_go_up(page, data, team_plan):
    phone, plan_id = team_plan
    open_plan(page, phone, plan_id)
    choose(page, "other", "DSCN0010.jpg", "truncated.jpg", "jolla.jpg")
    expect(uploaded(page, "other")).to_have_count(2, timeout=UPLOADS)
    failed = group(page, "other").locator(".photo-tile.photo-failed")
    expect(failed).to_have_count(1)
    # Sent as it was (the phone does not re-encode a cut-off photo into a whole one), and
    # refused by the server in its own words, in this photo's tile only.
    expect(failed.get_by_role("alert")).to_have_text(refusal_in_chinese(data.app, "unreadable_image"))
    expect(failed.locator(".photo-name")).to_have_text("truncated.jpg")
    expect(group(page, "other").locator(".photo-count")).to_have_text("(2/9)")
    assert sorted(row["name"] for row in stored(data, plan_id)) == ["DSCN0010.jpg", "jolla.jpg"]


def test_r8_a_lost_connection_is_shown_on_the_photo_and_retry_sends_it(page, data, team_plan):
    phone, plan_id = team_plan
    open_plan(page, phone, plan_id)
    cut = {"done": False}

    def network(route):  # the one true outer edge: the phone's connection drops once
        if route.request.method == "POST" and not cut["done"]:
            cut["done"] = True
            route.abort("internetdisconnected")
        else:
            route.continue_()
    page.context.route(re.compile(r"/plans/\d+/photos$"), network)

    choose(page, "first", "jolla.jpg")
    tile = group(page, "first").locator(".photo-tile.photo-retry")
    expect(tile.get_by_role("alert")).to_have_text("网络错误，照片未上传。")
    expect(tile.locator("img")).to_have_attribute("src", re.compile(r"^blob:"))  # the preview stays
    expect(group(page, "first").locator(".photo-count")).to_have_text("(0/3)")
    assert stored(data, plan_id) == []

    tile.get_by_role("button", name="重试").click()
    expect(uploaded(page, "first")).to_have_count(1, timeout=UPLOADS)
    expect(group(page, "first").locator(".photo-tile")).to_have_count(1)
    expect(group(page, "first").locator(".photo-count")).to_have_text("(1/3)")
    assert [row["name"] for row in stored(data, plan_id)] == ["jolla.jpg"]


def test_r8_a_session_that_ended_meanwhile_is_explained_on_the_photo(page, data, team_plan):
    """The phone sat on the plan page past the session (or the auditor logged out in another
    tab): the photo's tile says what the server said, not a bare status code, and the photo
    waits in the outbox (R17) to be sent after the next login."""
    phone, plan_id = team_plan
    open_plan(page, phone, plan_id)
    page.context.clear_cookies()
    choose(page, "first", "jolla.jpg")
    kept = group(page, "first").locator(".photo-tile.photo-queued")
    with data.app.test_request_context(), force_locale("zh_CN"):
        ended = gettext("Your session has ended. Please log in again; nothing waiting on this phone is lost.")
    expect(kept.get_by_role("alert")).to_have_text(ended)
    expect(page.locator("#outbox-badge .outbox-count")).to_have_text("1")
    assert stored(data, plan_id) == []


# --- shrink and spliceExif, in the page ------------------------------------------------------

SHRINK = """async ([b64, name, type]) => {
  const raw = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const result = await window.CheckinPhotos.shrink(new File([raw], name, { type }));
  const out = new Uint8Array(await result.blob.arrayBuffer());
  let s = ""; for (let i = 0; i < out.length; i += 0x8000) s += String.fromCharCode.apply(null, out.subarray(i, i + 0x8000));
  return { shrunk: result.shrunk, b64: btoa(s) };
}"""

SPLICE = """async ([b64]) => {
  const original = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const canvas = document.createElement("canvas"); canvas.width = 40; canvas.height = 30;
  canvas.getContext("2d").fillRect(0, 0, 20, 15);
  const jpeg = new Uint8Array(await (await new Promise(r => canvas.toBlob(r, "image/jpeg", 0.85))).arrayBuffer());
  const out = window.CheckinPhotos.spliceExif(original, jpeg);
  const b = x => { let s = ""; for (const v of x) s += String.fromCharCode(v); return btoa(s); };
  return { jpeg: b(jpeg), out: b(out) };
}"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def shrink_in_page(page, data: bytes, name: str, mime: str = "image/jpeg") -> tuple[bool, bytes]:
    result = page.evaluate(SHRINK, [b64(data), name, mime])
    return result["shrunk"], base64.b64decode(result["b64"])


def segments(jpeg: bytes) -> list[tuple[int, bytes]]:
    """The JPEG's header segments up to the start of scan: (marker, whole segment)."""
    found, i = [], 2
    while i + 4 <= len(jpeg) and jpeg[i] == 0xFF:
        marker, length = jpeg[i + 1], int.from_bytes(jpeg[i + 2:i + 4], "big")
        found.append((marker, jpeg[i:i + 2 + length]))
        if marker == 0xDA:
            break
        i += 2 + length
    return found


def test_splice_exif_puts_the_originals_exif_segment_right_after_soi(page, team_plan):
    phone, plan_id = team_plan
    open_plan(page, phone, plan_id)
    original = fixture("DSCN0010.jpg").read_bytes()
    result = page.evaluate(SPLICE, [b64(original)])
    jpeg, out = base64.b64decode(result["jpeg"]), base64.b64decode(result["out"])
    (exif_segment,) = [seg for marker, seg in segments(original) if marker == 0xE1 and seg[4:10] == b"Exif\0\0"]
    assert segments(jpeg)[0][0] == 0xE0  # the canvas wrote JFIF first ...
    assert out[:2] == b"\xff\xd8" and out[2:2 + len(exif_segment)] == exif_segment
    assert 0xE0 not in [marker for marker, _ in segments(out)]  # ... which gave way to EXIF
    assert exif_of(out)[2] == "2008:10:22 16:28:39"
    assert Image.open(io.BytesIO(out)).size == (40, 30)

    # Nothing to carry, or nothing to trust: the canvas JPEG goes unchanged, no exception.
    lying = b"\xff\xd8\xff\xe1\xff\xf0Exif\0\0MM" + b"\0" * 20  # APP1 longer than the file
    for bad in (b"", b"not a photo at all", lying, fixture("image00971.jpg").read_bytes()):
        assert base64.b64decode(page.evaluate(SPLICE, [b64(bad)])["out"])[:2] == b"\xff\xd8"
        result = page.evaluate(SPLICE, [b64(bad)])
        assert result["out"] == result["jpeg"]


def test_shrink_keeps_the_raw_layout_and_orientation_and_leaves_what_it_cannot_shrink(page, team_plan):
    phone, plan_id = team_plan
    open_plan(page, phone, plan_id)

    # Orientation 6: the pixels go in the camera's layout with the tag, turned once by the server.
    original = fixture("portrait_6.jpg").read_bytes()
    shrunk, sent = shrink_in_page(page, original, "portrait_6.jpg")
    assert shrunk
    image, exif, _ = exif_of(sent)
    assert image.size == (600, 450) and exif.get(ORIENTATION) == 6
    assert ImageOps.exif_transpose(image).size == (450, 600)
    source = Image.open(fixture("portrait_6.jpg")).convert("RGB")
    got = image.convert("RGB")

    def apart(a, b):
        return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean)
    turned = [source.transpose(t) for t in (Image.Transpose.ROTATE_180, Image.Transpose.FLIP_LEFT_RIGHT,
                                             Image.Transpose.FLIP_TOP_BOTTOM)]
    assert apart(source, got) < min(apart(other, got) for other in turned) / 2

    # PNG and WebP over 1600 px with EXIF (an eXIf chunk, an EXIF chunk): a 1600 px JPEG
    # with that EXIF.
    nikon_exif = Image.open(fixture("DSCN0010.jpg")).info["exif"]
    for fmt, options in (("PNG", {}), ("WEBP", {"lossless": True})):
        buffer = io.BytesIO()
        strip = Image.open(fixture("jolla.jpg")).reduce(2).crop((0, 600, 1632, 900))  # 1632 x 300
        strip.save(buffer, fmt, exif=nikon_exif, **options)
        shrunk, sent = shrink_in_page(page, buffer.getvalue(), f"photo.{fmt.lower()}", f"image/{fmt.lower()}")
        image, _, taken = exif_of(sent)
        assert shrunk and image.format == "JPEG" and image.size == (1600, 294), fmt
        assert taken == "2008:10:22 16:28:39", fmt

    # Sent as they are: a HEIC within the byte budget (no decoder loaded for it), a cut-off
    # JPEG (the server judges it), and a photo already smaller than the phone's copy of it
    # would be. (A HEIC over the budget: test_photo_budget.py.)
    small = io.BytesIO()
    Image.open(fixture("DSCN0010.jpg")).save(small, "JPEG", quality=20, exif=Image.open(fixture("DSCN0010.jpg")).getexif())
    small_heic = io.BytesIO()
    pillow_heif.from_pillow(Image.open(fixture("DSCN0010.jpg"))).save(small_heic, quality=50)
    cases = {"small.heic": small_heic.getvalue(), "truncated.jpg": fixture("truncated.jpg").read_bytes(),
             "small.jpg": small.getvalue()}
    for name, data in cases.items():
        assert shrink_in_page(page, data, name) == (False, data), name


def test_r8_without_javascript_the_plain_forms_upload_and_delete(browser, browser_context_args, data, team_plan):
    phone, plan_id = team_plan
    context = browser.new_context(**{**browser_context_args, "java_script_enabled": False})
    page = context.new_page()
    try:
        login_in_browser(page, phone)
        page.goto(f"/plans/{plan_id}")
        form = group(page, "first").locator("form.photo-add")
        form.locator("input[data-photo-input]").set_input_files(fixture("jolla.jpg"))
        form.locator("button[type=submit]").click()
        expect(uploaded(page, "first")).to_have_count(1)
        expect(group(page, "first").locator(".photo-count")).to_have_text("(1/3)")
        (row,) = stored(data, plan_id)
        assert row["sha256_original"] is None  # no script, no hash from the phone: the server's own
        uploaded(page, "first").first.locator(".photo-delete-button").click()
        expect(uploaded(page, "first")).to_have_count(0)
        assert stored(data, plan_id) == []
    finally:
        context.close()
