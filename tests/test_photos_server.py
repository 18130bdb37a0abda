"""Photo evidence over HTTP (R8): upload with the real fixture photos, what is stored, each
refusal of bad input (too many pixels, not a photo, truncated or empty, one photo too many,
too large), soft delete, orphan sweep, duplicates, headers.

Real SQLite, the real filesystem store (a temporary folder per test), CSRF on. Each refusal
asserts the Chinese message a phone shows, and that nothing was written: no row, no file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent, Photo
from checkin_pwa.storage import new_key

from . import factories as f
from .helpers import csrf_token_from, log_in

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "photos"
PHOTO_SCRIPT = {"X-Checkin-Client": "photos"}


pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def store(app):
    return app.extensions["photo_store"]


# --- helpers -----------------------------------------------------------------------------------

def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def team(app, **plan_options):
    """A logged-in phone of a team member and the team's plan."""
    person = f.auditor()
    plan = f.plan([person], **plan_options)
    db.session.commit()
    client = app.test_client()
    log_in(client, person)
    return client, plan, person


def send(client, plan_id: int, data: bytes, group: str = "first", name: str = "photo.jpg",
         content_type: str = "image/jpeg", headers=None, **fields):
    token = csrf_token_from(client.get(f"/plans/{plan_id}"))
    form = {"csrf_token": token, "group": group, "photo": (io.BytesIO(data), name, content_type), **fields}
    return client.post(f"/plans/{plan_id}/photos", data=form, content_type="multipart/form-data",
                       headers=headers or {})


def text(response) -> str:
    return response.get_data(as_text=True)


def photos_in_db() -> list[Photo]:
    db.session.expire_all()
    return list(db.session.scalars(select(Photo).order_by(Photo.id)))


def files(store) -> list[str]:
    return [key for key, _ in store.keys()]


def jpeg(color=(200, 30, 30), size=(64, 48), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    options = {"exif": exif.tobytes()} if exif is not None else {}
    Image.new("RGB", size, color).save(out, "JPEG", **options)
    return out.getvalue()


def distinct_jpegs(count: int) -> list[bytes]:
    return [jpeg((i * 25 % 256, 100, 255 - i * 25 % 256)) for i in range(count)]


def png_claiming(width: int, height: int) -> bytes:
    """A real, valid 1-bit PNG of width x height, all black: a few kB on the wire, many
    megapixels once decoded (what a decompression bomb looks like)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def exif_at(taken_local: dt.datetime, offset: str = "+08:00", lat_lon=None) -> Image.Exif:
    """EXIF as a phone writes it: DateTimeOriginal with its offset, and GPS with Refs."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "TestMake", "TestPhone"
    sub = exif.get_ifd(0x8769)
    sub[36867] = taken_local.strftime("%Y:%m:%d %H:%M:%S")
    sub[36881] = offset
    if lat_lon:
        def dms(value: float):
            value = abs(value)
            degrees, rest = int(value), (abs(value) - int(value)) * 60
            return (float(degrees), float(int(rest)), round((rest - int(rest)) * 60, 4))

        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if lat_lon[0] >= 0 else "S"), dms(lat_lon[0])
        gps[3], gps[4] = ("E" if lat_lon[1] >= 0 else "W"), dms(lat_lon[1])
    return exif


def check_event(plan, person, kind: str, at: dt.datetime, point=f.SITE) -> CheckEvent:
    event = CheckEvent(plan_id=plan.id, kind=kind, signer_id=person.id, server_time=at,
                       device_lat=point[0], device_lon=point[1], chosen_lat=point[0], chosen_lon=point[1])
    db.session.add(event)
    db.session.commit()
    return event


def assert_refused(response, status: int, message: str, store) -> None:
    assert response.status_code == status, text(response)
    body = text(response)
    assert '<p class="photo-error" role="alert">' in body
    assert message in body
    assert photos_in_db() == []
    assert files(store) == []


# --- the happy paths ------------------------------------------------------------------------------

def test_r8_jpeg_with_gps_is_kept_as_evidence_with_a_display_copy_and_thumbnail(app, store):
    client, plan, person = team(app)
    original = fixture("DSCN0010.jpg")
    response = send(client, plan.id, original, name="DSCN0010.jpg", headers=PHOTO_SCRIPT,
                    original_sha256="AB" * 32, original_bytes=str(len(original)))

    assert response.status_code == 201
    [photo] = photos_in_db()
    tile = text(response)
    assert f'<li class="photo-tile" id="photo-{photo.id}" data-photo-id="{photo.id}" data-delete-url="/photos/{photo.id}/delete">' in tile
    assert f'<img src="/photos/{photo.id}/thumb"' in tile and f'href="/photos/{photo.id}/display"' in tile
    assert 'data-check="time"' in tile and 'data-check="place"' in tile
    assert 'class="photo-delete-button">删除</button>' in tile
    assert response.headers["HX-Trigger"] == "photos-changed"

    assert (photo.plan_id, photo.group, photo.uploader_id) == (plan.id, "first", person.id)
    assert photo.sha256_received == hashlib.sha256(original).hexdigest()
    assert photo.sha256_original == "ab" * 32
    assert (photo.bytes_received, photo.bytes_original) == (len(original), len(original))
    assert (photo.format, photo.width, photo.height) == ("jpeg", 640, 480)
    assert photo.original_name == "DSCN0010.jpg"
    # The evidence is the bytes as received, under a random key that owes nothing to the name.
    assert store.read(photo.evidence_key) == original
    assert "DSCN" not in photo.evidence_key and photo.evidence_key.endswith(".jpg")
    assert sorted(files(store)) == sorted([photo.evidence_key, photo.display_key, photo.thumb_key])
    # EXIF read once and kept: GPS N 43.47 E 11.88 (the fixture's README).
    assert photo.exif["gps"]["status"] == "read"
    assert photo.exif["gps"]["value"]["lat"] == pytest.approx(43.467, abs=0.01)
    assert photo.exif["gps"]["value"]["lon"] == pytest.approx(11.885, abs=0.01)
    assert set(photo.verdicts) == {"time", "place", "duplicate"}

    display = Image.open(io.BytesIO(store.read(photo.display_key)))
    thumb = Image.open(io.BytesIO(store.read(photo.thumb_key)))
    assert display.format == thumb.format == "JPEG"
    assert display.size == (640, 480)  # never upscaled
    assert max(thumb.size) == 320
    assert len(display.getexif()) == 0 and "exif" not in display.info
    assert b"Exif\x00\x00" not in store.read(photo.display_key)


def test_r8_heic_is_decoded_through_pillow_heif_and_kept_as_sent(app, store):
    client, plan, _ = team(app)
    original = fixture("IMG_5195.HEIC")
    response = send(client, plan.id, original, name="IMG_5195.HEIC", content_type="image/heic")

    assert response.status_code == 201
    [photo] = photos_in_db()
    assert photo.format == "heif" and photo.evidence_key.endswith(".heic")
    assert store.read(photo.evidence_key) == original
    assert photo.exif["gps"]["value"]["lon"] < 0  # W 94.30: the Ref is applied
    display = Image.open(io.BytesIO(store.read(photo.display_key)))
    assert display.format == "JPEG" and max(display.size) == 1600 and len(display.getexif()) == 0


def test_r8_png_and_webp_are_accepted_and_transparency_becomes_white(app, store):
    client, plan, _ = team(app)
    transparent = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    png = io.BytesIO()
    transparent.save(png, "PNG")
    webp = io.BytesIO()
    Image.new("RGB", (50, 20), (10, 120, 40)).save(webp, "WEBP")

    assert send(client, plan.id, png.getvalue(), group="other", name="screen.png", content_type="image/png").status_code == 201
    assert send(client, plan.id, webp.getvalue(), group="other", name="a.webp", content_type="image/webp").status_code == 201

    first, second = photos_in_db()
    assert (first.format, second.format) == ("png", "webp")
    assert (second.width, second.height) == (50, 20)
    display = Image.open(io.BytesIO(store.read(first.display_key))).convert("RGB")
    assert display.getpixel((5, 5))[0] > 240  # white, not black


def test_r8_portrait_photo_is_turned_upright_for_display(app, store):
    client, plan, _ = team(app)
    response = send(client, plan.id, fixture("portrait_6.jpg"), group="other", name="portrait_6.jpg")

    assert response.status_code == 201
    [photo] = photos_in_db()
    assert (photo.width, photo.height) == (600, 450)  # as stored: landscape pixels, Orientation 6
    display = Image.open(io.BytesIO(store.read(photo.display_key)))
    thumb = Image.open(io.BytesIO(store.read(photo.thumb_key)))
    assert display.size == (450, 600)  # turned: portrait
    assert thumb.size == (240, 320)
    assert display.getexif().get(0x0112) is None  # no Orientation left to apply twice


def test_r8_photos_may_be_added_after_the_audit_ended(app, store):
    client, plan, _ = team(app, start=f.local_today(-5, 8, 30), end=f.local_today(-3, 17, 0))
    response = send(client, plan.id, jpeg(), group="last")
    assert response.status_code == 201
    assert len(photos_in_db()) == 1


def test_r8_the_same_photo_sent_again_is_stored_once(app, store):
    """A retry after a lost answer (R17: exactly once) gives back the same tile."""
    client, plan, _ = team(app)
    data = jpeg()
    first = send(client, plan.id, data, headers=PHOTO_SCRIPT)
    again = send(client, plan.id, data, headers=PHOTO_SCRIPT)

    assert first.status_code == again.status_code == 201
    [photo] = photos_in_db()
    assert f'id="photo-{photo.id}"' in text(again)
    assert len(files(store)) == 3

    other_group = send(client, plan.id, data, group="last")
    assert other_group.status_code == 409
    assert "该照片已在本计划的首次会议照片中。" in text(other_group)
    assert len(photos_in_db()) == 1


def test_r8_a_file_name_with_path_parts_or_300_characters_is_cleaned(app, store):
    client, plan, _ = team(app)
    assert send(client, plan.id, jpeg((1, 2, 3)), name="../../etc/passwd\x07.jpg").status_code == 201
    long_name = "照" * 150 + "a" * 150 + ".jpg"
    assert send(client, plan.id, jpeg((4, 5, 6)), name=long_name).status_code == 201
    assert send(client, plan.id, jpeg((7, 8, 9)), original_name="C:\\DCIM\\..\\IMG_0001.JPG").status_code == 201

    first, second, third = photos_in_db()
    assert first.original_name == "passwd.jpg"
    assert len(second.original_name) == 120 and second.original_name == "照" * 116 + ".jpg"
    assert third.original_name == "IMG_0001.JPG"
    for photo in (first, second, third):
        assert ".." not in photo.evidence_key and "passwd" not in photo.evidence_key
    # Nothing was written outside the store's own folders.
    assert all(key.split("/")[0] in ("evidence", "display", "thumb") for key in files(store))


# --- bad input: each refusal, and nothing written -------------------------------------------------

@pytest.mark.parametrize("megapixels, size", [(100, (10_000, 10_000)), (400, (20_000, 20_000))])
def test_r8_a_png_of_too_many_megapixels_is_refused_before_decoding(app, store, megapixels, size):
    client, plan, _ = team(app)
    bomb = png_claiming(*size)
    assert len(bomb) < 300_000  # small on the wire

    response = send(client, plan.id, bomb, name="bomb.png", content_type="image/png")

    assert_refused(response, 422, f"照片像素过多（{size[0]} × {size[1]}，约 {megapixels}.0 百万像素；上限 50 百万像素）。", store)


@pytest.mark.parametrize("megapixels", [100, 400])
def test_r8_pillows_decompression_bomb_check_is_a_refusal_too(app, store, megapixels):
    """With our own limit set above Pillow's (89 MP), Pillow's warning (100 MP) and its
    error (400 MP) still refuse the photo: never a 500."""
    app.config["PHOTO_MAX_PIXELS"] = 10**9
    client, plan, _ = team(app)
    side = 10_000 if megapixels == 100 else 20_000

    response = send(client, plan.id, png_claiming(side, side), name="bomb.png", content_type="image/png")

    assert_refused(response, 422, "照片像素过多", store)


@pytest.mark.parametrize("name, data", [
    ("notes.jpg", "会议纪要：首次会议 09:00 开始。\n".encode() * 20),
    ("animation.jpg", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
                      b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"),
    ("drawing.jpg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                    b'<script>alert(1)</script></svg>'),
    ("doc.jpg", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),
])
def test_r8_a_file_that_is_not_a_photo_is_refused_whatever_its_name_and_type(app, store, name, data):
    client, plan, _ = team(app)
    response = send(client, plan.id, data, name=name, content_type="image/jpeg")
    assert_refused(response, 415, "该文件不是可接受的照片格式（仅限 JPEG、PNG、WebP 或 HEIC）。", store)


def test_r8_a_real_gif_is_refused(app, store):
    client, plan, _ = team(app)
    gif = io.BytesIO()
    Image.new("P", (10, 10)).save(gif, "GIF")
    response = send(client, plan.id, gif.getvalue(), name="photo.jpg", content_type="image/jpeg")
    assert_refused(response, 415, "不是可接受的照片格式", store)


def test_r8_a_truncated_jpeg_is_refused_with_retake_the_photo(app, store):
    client, plan, _ = team(app)
    response = send(client, plan.id, fixture("truncated.jpg"), name="truncated.jpg")
    assert_refused(response, 422, "照片文件不完整，请重新拍摄。", store)


def test_r8_a_jpeg_header_with_nothing_after_it_is_refused(app, store):
    client, plan, _ = team(app)
    response = send(client, plan.id, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", name="x.jpg")
    assert_refused(response, 422, "照片文件不完整，请重新拍摄。", store)


def test_r8_an_empty_file_is_refused(app, store):
    client, plan, _ = team(app)
    response = send(client, plan.id, b"", name="empty.jpg")
    assert_refused(response, 422, "文件为空，请重新选择照片。", store)


def test_r8_a_request_without_a_photo_is_refused(app, store):
    client, plan, _ = team(app)
    token = csrf_token_from(client.get(f"/plans/{plan.id}"))
    response = client.post(f"/plans/{plan.id}/photos", data={"csrf_token": token, "group": "first"})
    assert_refused(response, 422, "未收到照片，请选择照片后重试。", store)


def test_r8_an_unknown_group_is_refused(app, store):
    client, plan, _ = team(app)
    response = send(client, plan.id, jpeg(), group="selfie")
    assert_refused(response, 422, "请选择照片所属的分组。", store)


def test_r8_a_fourth_first_meeting_photo_is_refused(app, store):
    client, plan, _ = team(app)
    for data in distinct_jpegs(3):
        assert send(client, plan.id, data, group="first").status_code == 201
    kept = sorted(files(store))

    response = send(client, plan.id, jpeg((9, 9, 9)), group="first")

    assert response.status_code == 409
    assert "首次会议照片最多 3 张，请先删除一张再添加。" in text(response)
    assert len(photos_in_db()) == 3 and sorted(files(store)) == kept
    # The other groups are not affected.
    assert send(client, plan.id, jpeg((9, 9, 9)), group="last").status_code == 201


def test_r8_a_tenth_other_photo_is_refused(app, store):
    client, plan, _ = team(app)
    for data in distinct_jpegs(9):
        assert send(client, plan.id, data, group="other").status_code == 201

    response = send(client, plan.id, jpeg((1, 1, 1)), group="other")

    assert response.status_code == 409
    assert "其他照片最多 9 张，请先删除一张再添加。" in text(response)
    assert len(photos_in_db()) == 9 and len(files(store)) == 27


def test_r8_a_photo_over_the_per_photo_cap_is_refused(app, store):
    client, plan, _ = team(app)
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (15 * 1024 * 1024 + 100)  # under the request cap
    response = send(client, plan.id, big, name="big.jpg")
    assert_refused(response, 413, "照片太大（15.0 MB，上限 15 MB）。", store)


def test_r8_a_request_over_the_size_cap_gets_the_photo_error_in_chinese(app, store):
    client, plan, _ = team(app)
    huge = b"\xff\xd8\xff\xe0" + b"\x00" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = send(client, plan.id, huge, name="huge.jpg")
    assert_refused(response, 413, "上传内容过大：每次上传一张照片，每张不超过 15 MB。", store)


def test_r8_a_plain_form_over_the_size_cap_returns_to_the_plan_page_with_the_message(app, store):
    client, plan, _ = team(app)
    huge = b"\xff\xd8\xff\xe0" + b"\x00" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = send(client, plan.id, huge, name="huge.jpg", headers={"Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/plans/{plan.id}#photos")
    assert "上传内容过大" in text(client.get(f"/plans/{plan.id}"))
    assert photos_in_db() == [] and files(store) == []


def test_r8_a_remote_audit_takes_no_meeting_photos(app, store):
    client, plan, _ = team(app, mode="remote")
    response = send(client, plan.id, jpeg())
    assert_refused(response, 422, "这是远程审核，无需上传会议照片。", store)


def test_r8_when_the_row_cannot_be_written_the_files_just_written_are_removed(app, store, monkeypatch):
    """Files first, the row last: a failing commit (the database's outer edge) leaves
    neither a row nor a file, and the phone is told to try again (not a 500)."""
    from sqlalchemy.exc import OperationalError

    client, plan, _ = team(app)

    def locked(*args, **kwargs):
        raise OperationalError("INSERT INTO photo", {}, Exception("database is locked"))

    monkeypatch.setattr(db.session, "commit", locked)
    response = send(client, plan.id, jpeg())
    monkeypatch.undo()

    assert response.status_code == 503
    assert "照片未能保存，请重试。" in text(response)
    assert photos_in_db() == [] and files(store) == []


# --- the plain form (no JavaScript) ------------------------------------------------------------

def test_r8_the_plain_form_uploads_and_comes_back_to_the_plan_page(app, store):
    client, plan, _ = team(app)
    page = text(client.get(f"/plans/{plan.id}"))
    assert 'enctype="multipart/form-data"' in page and 'capture="environment"' in page and "data-photo-input" in page

    token = csrf_token_from(client.get(f"/plans/{plan.id}"))
    response = client.post(
        f"/plans/{plan.id}/photos",
        data={"csrf_token": token, "group": "first",
              "photo": [(io.BytesIO(jpeg((1, 1, 1))), "a.jpg"), (io.BytesIO(b""), "b.jpg")]},
        content_type="multipart/form-data", headers={"Sec-Fetch-Mode": "navigate"},
    )

    assert response.status_code == 303
    page = text(client.get(f"/plans/{plan.id}"))
    assert "照片已上传：a.jpg" in page
    assert "b.jpg: 文件为空，请重新选择照片。" in page
    assert "(1/3)" in page
    assert len(photos_in_db()) == 1


# --- soft delete ---------------------------------------------------------------------------------

def test_r8_delete_hides_the_photo_frees_its_place_and_keeps_the_files(app, store):
    client, plan, person = team(app)
    for data in distinct_jpegs(3):
        send(client, plan.id, data)
    first = photos_in_db()[0]
    token = csrf_token_from(client.get(f"/plans/{plan.id}"))

    response = client.post(f"/photos/{first.id}/delete", data={"csrf_token": token}, headers=PHOTO_SCRIPT)

    assert response.status_code == 200 and text(response) == ""
    assert response.headers["HX-Trigger"] == "photos-changed"
    deleted = photos_in_db()[0]
    assert deleted.deleted_at is not None and deleted.deleted_by_id == person.id
    assert store.exists(first.evidence_key) and store.exists(first.display_key) and store.exists(first.thumb_key)
    page = text(client.get(f"/plans/{plan.id}"))
    assert f'id="photo-{first.id}"' not in page and "(2/3)" in page
    assert client.get(f"/photos/{first.id}/thumb").status_code == 404
    assert client.get(f"/photos/{first.id}/display").status_code == 404
    # Its place is free again.
    assert send(client, plan.id, jpeg((5, 5, 5))).status_code == 201
    # A double tap answers the same and changes nothing.
    again = client.post(f"/photos/{first.id}/delete", data={"csrf_token": token}, headers=PHOTO_SCRIPT)
    assert again.status_code == 200
    assert photos_in_db()[0].deleted_at == deleted.deleted_at


def test_r8_the_plain_delete_form_returns_to_the_plan_page(app, store):
    client, plan, _ = team(app)
    send(client, plan.id, jpeg())
    [photo] = photos_in_db()
    token = csrf_token_from(client.get(f"/plans/{plan.id}"))

    response = client.post(f"/photos/{photo.id}/delete", data={"csrf_token": token},
                           headers={"Sec-Fetch-Mode": "navigate"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/plans/{plan.id}#photos")
    assert photos_in_db()[0].deleted_at is not None


def test_r8_delete_needs_the_csrf_token(app, store):
    client, plan, _ = team(app)
    send(client, plan.id, jpeg())
    [photo] = photos_in_db()
    response = client.post(f"/photos/{photo.id}/delete", headers=PHOTO_SCRIPT)
    assert response.status_code == 400
    assert photos_in_db()[0].deleted_at is None


def test_r8_a_stored_file_is_never_overwritten(store):
    """Evidence is written once: a second write under the same key is refused, whichever
    store this run uses, and the first file stays as it was."""
    key = new_key("evidence", "jpg")
    store.save(key, b"the photo as received")
    with pytest.raises(FileExistsError):
        store.save(key, b"something else under the same key")
    assert store.read(key) == b"the photo as received"
    assert [k for k in files(store) if k.startswith("evidence/")] == [key]  # no temporary left


# --- orphans ----------------------------------------------------------------------------------

def test_r8_orphan_sweep_removes_only_old_files_no_row_points_at_on_filesystem(app, store, runner):
    # Ages files and plants a half-written temporary on disk; the object store's sweep
    # (where a PUT leaves no temporaries) is in test_s3_store.py.
    if not hasattr(store, "local_path"):
        pytest.skip("ages files on disk: the filesystem store only")
    client, plan, _ = team(app)
    send(client, plan.id, jpeg())
    send(client, plan.id, jpeg((3, 3, 3)))
    kept, deleted = photos_in_db()
    token = csrf_token_from(client.get(f"/plans/{plan.id}"))
    client.post(f"/photos/{deleted.id}/delete", data={"csrf_token": token}, headers=PHOTO_SCRIPT)

    # A crash between files and row leaves files like these; an upload in flight, a young one.
    old_orphan, young_orphan = new_key("evidence", "jpg"), new_key("display", "jpg")
    store.save(old_orphan, b"left by a crash")
    store.save(young_orphan, b"an upload in flight")
    leftover = store.local_path(old_orphan).with_name("0" * 32 + ".jpg.tmp-1234abcd")
    leftover.write_bytes(b"half written")
    two_hours_ago = (dt.datetime.now() - dt.timedelta(hours=2)).timestamp()
    referenced = [kept.evidence_key, kept.display_key, kept.thumb_key,
                  deleted.evidence_key, deleted.display_key, deleted.thumb_key]
    for path in [store.local_path(old_orphan), leftover, *map(store.local_path, referenced)]:
        os.utime(path, (two_hours_ago, two_hours_ago))

    result = runner.invoke(args=["sweep-photos"])

    assert result.exit_code == 0, result.output
    assert "已删除孤立照片文件：2 个" in result.output
    assert not store.exists(old_orphan) and not leftover.exists()
    assert store.exists(young_orphan)
    assert all(store.exists(key) for key in referenced)  # a deleted photo's files are evidence


# --- verdicts ----------------------------------------------------------------------------------

def test_r8_a_photo_taken_at_the_check_in_on_site_agrees(app, store):
    client, plan, person = team(app)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    check_event(plan, person, "in", now.replace(tzinfo=None) - dt.timedelta(minutes=30))
    taken = (now - dt.timedelta(minutes=20)).astimezone(f.SHANGHAI).replace(tzinfo=None)
    data = jpeg(exif=exif_at(taken, "+08:00", (f.SITE[0] + 0.001, f.SITE[1])))

    response = send(client, plan.id, data, group="first")

    assert response.status_code == 201
    tile = text(response)
    assert '<span class="badge badge-ok" data-check="time"' in tile and "时间与签到一致" in tile
    assert '<span class="badge badge-ok" data-check="place"' in tile and "位置与签到一致" in tile
    assert 'data-check="duplicate"' not in tile
    page = text(client.get(f"/plans/{plan.id}"))
    assert "1 张照片时间与签到记录一致；1 张位置与签到一致" in page


def test_r8_no_exif_is_cannot_check_in_neutral_words(app, store):
    client, plan, person = team(app)
    check_event(plan, person, "in", dt.datetime.now(dt.timezone.utc))
    response = send(client, plan.id, jpeg(), group="first")

    tile = text(response)
    assert tile.count('class="badge badge-unknown"') == 2
    assert "无法核验" in tile and "照片无 EXIF 信息" in tile
    assert "badge-mismatch" not in tile
    page = text(client.get(f"/plans/{plan.id}"))
    assert "1 张无拍摄时间；1 张无 GPS" in page


def test_r8_far_and_old_photos_are_flagged_with_their_numbers(app, store):
    client, plan, person = team(app)
    check_event(plan, person, "in", dt.datetime.now(dt.timezone.utc))
    response = send(client, plan.id, fixture("DSCN0010.jpg"), group="first")  # Italy, 2008

    tile = text(response)
    assert "拍摄时间与签到相差" in tile and "天" in tile
    assert "拍摄地点距签到点 8567 公里" in tile
    assert "时区未知，按 Asia/Shanghai 比对" in tile  # no offset in the EXIF: said so
    assert "容差 1 公里" in tile and "天（容差 2 小时）" in tile


def test_r8_a_last_meeting_photo_is_judged_again_once_the_team_checks_out(app, store):
    client, plan, person = team(app, start=f.local_today(-1, 8, 30), end=f.local_today(0, 23, 0))
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None)
    check_event(plan, person, "in", now - dt.timedelta(days=1))
    taken = (now - dt.timedelta(minutes=10)).replace(tzinfo=dt.timezone.utc).astimezone(f.SHANGHAI).replace(tzinfo=None)
    send(client, plan.id, jpeg(exif=exif_at(taken)), group="last")
    [photo] = photos_in_db()
    assert photo.verdicts["time"]["why"] == "no_checkout_yet"
    assert "待签退后核验" in text(client.get(f"/plans/{plan.id}"))

    check_event(plan, person, "out", now)

    page = text(client.get(f"/plans/{plan.id}"))
    assert "时间与签退一致" in page
    assert photos_in_db()[0].verdicts["time"]["outcome"] == "ok"  # stored too


def test_r8_the_same_photo_in_another_plan_is_flagged_on_both(app, store):
    person = f.auditor()
    one, two = f.plan([person]), f.plan([person])
    db.session.commit()
    client = app.test_client()
    log_in(client, person)
    data = fixture("Canon_40D.jpg")

    assert send(client, one.id, data).status_code == 201
    second = send(client, two.id, data, headers=PHOTO_SCRIPT)

    assert "该照片已用于其他审核计划" in text(second)
    assert one.plan_no not in text(second)  # R16: the other plan's number stays with the reviewers
    assert photos_in_db()[1].verdicts["duplicate"]["plan_nos"] == [one.plan_no]
    # The first plan's photo is flagged as well once it is shown again.
    assert "该照片已用于其他审核计划" in text(client.get(f"/plans/{one.id}"))


def test_r8_the_phones_original_hash_also_finds_a_duplicate(app, store):
    """The same original, shrunk twice on the phone into different bytes."""
    person = f.auditor()
    one, two = f.plan([person]), f.plan([person])
    db.session.commit()
    client = app.test_client()
    log_in(client, person)
    original_sha = hashlib.sha256(b"the original photo").hexdigest()

    send(client, one.id, jpeg((1, 2, 3)), original_sha256=original_sha)
    response = send(client, two.id, jpeg((4, 5, 6)), original_sha256=original_sha)

    assert "该照片已用于其他审核计划" in text(response)


# --- pages, headers ----------------------------------------------------------------------------

def test_r8_photo_files_are_served_as_private_jpeg_without_sniffing(app, store):
    client, plan, _ = team(app)
    send(client, plan.id, fixture("portrait_6.jpg"))
    [photo] = photos_in_db()

    for kind, key in (("thumb", photo.thumb_key), ("display", photo.display_key)):
        response = client.get(f"/photos/{photo.id}/{kind}")
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Content-Disposition" not in response.headers
        assert response.get_data() == store.read(key)
    # The evidence file is never served.
    assert client.get(f"/photos/{photo.id}/evidence").status_code == 404


def test_r8_plan_page_shows_groups_counts_and_the_verdict_line(app, store):
    client, plan, _ = team(app)
    page = text(client.get(f"/plans/{plan.id}"))

    assert f'<section id="photos" class="photos card" data-upload-url="/plans/{plan.id}/photos"' in page
    for group, maximum, minimum in (("first", 3, 1), ("last", 3, 1), ("other", 9, 0)):
        assert f'<div class="photo-group" data-group="{group}" data-max="{maximum}" data-min="{minimum}">' in page
        assert f'<input type="hidden" name="group" value="{group}">' in page
    assert "首次会议照片" in page and "末次会议照片" in page and "其他照片" in page
    assert "尚未上传照片；尚缺：首次会议照片、末次会议照片" in page
    assert "距签到点 1 公里以内，或距最近审核地址 5 公里以内" in page  # the tolerances, shown
    assert 'src="/static/js/photos.js?v=' in page

    section = client.get(f"/plans/{plan.id}/photos", headers={"HX-Request": "true"})
    assert section.status_code == 200 and text(section).lstrip().startswith("<section id=\"photos\"")
    assert "HX-Request" in section.headers["Vary"]


def test_r8_today_card_links_to_the_plan_page(app, store):
    client, plan, _ = team(app)
    page = text(client.get("/"))
    assert f'<a href="/plans/{plan.id}">{plan.enterprise.name}</a>' in page


def test_r8_check_in_success_offers_upload_now_or_later(app, store):
    client, plan, _ = team(app)
    token = csrf_token_from(client.get(f"/plans/{plan.id}/checkin"))
    now_ms = str(int(dt.datetime.now().timestamp() * 1000))
    response = client.post(f"/plans/{plan.id}/checkin", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "device_lat": str(f.SITE[0]), "device_lon": str(f.SITE[1]),
        "device_accuracy": "10", "device_time": now_ms, "device_position_time": now_ms,
    })

    body = text(response)
    assert "签到成功" in body
    assert f'href="/plans/{plan.id}#photos">现在上传</a>' in body
    assert 'href="/">稍后上传</a>' in body


def test_r8_uploads_at_the_same_moment_never_overfill_a_group(app, store):
    """Several phones of the team send first-meeting photos at once: three are kept, the
    others are told the group is full, and no file of a refused photo stays behind."""
    import threading

    person = f.auditor()
    plan = f.plan([person])
    db.session.commit()
    phones = []
    for _ in range(6):
        phone = app.test_client()
        log_in(phone, person)
        token = csrf_token_from(phone.get(f"/plans/{plan.id}"))
        phones.append((phone, token))
    photos = distinct_jpegs(6)
    start = threading.Barrier(len(phones))
    statuses: list[int] = []

    def send_one(index: int) -> None:
        phone, token = phones[index]
        form = {"csrf_token": token, "group": "first", "photo": (io.BytesIO(photos[index]), "a.jpg")}
        start.wait()
        response = phone.post(f"/plans/{plan.id}/photos", data=form, content_type="multipart/form-data")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send_one, args=(i,)) for i in range(len(phones))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [201, 201, 201, 409, 409, 409]
    stored = photos_in_db()
    assert len(stored) == 3
    assert sorted(files(store)) == sorted(k for p in stored for k in (p.evidence_key, p.display_key, p.thumb_key))


@pytest.mark.parametrize("name", [
    "30-type_error.jpg", "image00971.jpg", "corrupted.jpg", "jolla.jpg", "HMD_Nokia_8.3_5G.jpg",
    "iphone_13_pro_max.HEIC", "Canon_40D.jpg", "DSCN0012.jpg",
])
def test_r8_every_real_photo_that_decodes_is_accepted_whatever_its_exif(app, store, name):
    """Malformed or invalid EXIF costs that evidence (marked unreadable), never the photo."""
    client, plan, _ = team(app)
    original = fixture(name)
    response = send(client, plan.id, original, group="other", name=name)

    assert response.status_code == 201, text(response)
    [photo] = photos_in_db()
    assert store.read(photo.evidence_key) == original
    display = Image.open(io.BytesIO(store.read(photo.display_key)))
    assert max(display.size) <= 1600 and len(display.getexif()) == 0


def test_r8_a_plain_form_sent_without_choosing_a_file_says_no_photo_was_received(app, store):
    client, plan, _ = team(app)
    response = send(client, plan.id, b"", name="", content_type="application/octet-stream")
    assert_refused(response, 422, "未收到照片，请选择照片后重试。", store)


def test_r8_avif_is_not_a_phone_camera_format_here(app, store):
    client, plan, _ = team(app)
    avif = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(avif, "AVIF")
    response = send(client, plan.id, avif.getvalue(), name="photo.heic", content_type="image/heic")
    assert_refused(response, 415, "不是可接受的照片格式", store)


def test_r8_photo_copies_answer_304_when_the_phone_has_them(app, store):
    client, plan, _ = team(app)
    send(client, plan.id, jpeg())
    [photo] = photos_in_db()
    first = client.get(f"/photos/{photo.id}/thumb")
    again = client.get(f"/photos/{photo.id}/thumb", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert str(photo.thumb_key) not in first.headers["ETag"]
