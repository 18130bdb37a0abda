"""Photos and avatars whatever the bytes (R8, R1): each hostile file is made here, sent
through the real routes (real SQLite, the real store, the real decoder process with
its limits), and must get a clear Chinese refusal with nothing written, never a 500 and
never an unbounded decode. docs/security.md lists these cases with their bounds.
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from checkin_pwa.domain import image_format
from checkin_pwa.extensions import db

from . import factories as f
from .helpers import csrf_token, csrf_token_from, in_app_context, log_in
from .servers import dies_with_run

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "photos"
PHOTO_SCRIPT = {"X-Checkin-Client": "photos"}
TOO_COSTLY = "处理该照片文件所需资源过多：这不是相机拍摄的文件。请发送相机拍摄的原始照片。"
INCOMPLETE = "照片文件不完整，请重新拍摄。"



# --- the hostile files ---------------------------------------------------------------------------

def _segments(data: bytes):
    """(marker, start, end) of a JPEG's segments; a scan's end includes its entropy data."""
    pos, out = 2, []
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            out.append((marker, pos, pos + 2))
            return out
        end = pos + 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xDA:
            while not (data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
        out.append((marker, pos, end))
        pos = end
    return out


def many_scans(scans: int, size=(4000, 3000)) -> bytes:
    """A valid progressive JPEG of a flat grey picture whose last scan (an AC refinement of
    a few bytes) is repeated until the file has `scans` scans: small on the wire, and each
    scan makes the decoder walk every block of the picture again."""
    out = io.BytesIO()
    Image.new("L", size, 128).save(out, "JPEG", progressive=True, quality=90)
    data = out.getvalue()
    segments = _segments(data)
    last_scan = [(s, e) for marker, s, e in segments if marker == 0xDA][-1]
    written = sum(1 for marker, _s, _e in segments if marker == 0xDA)
    eoi = segments[-1][1]
    return data[:eoi] + data[last_scan[0]:last_scan[1]] * (scans - written) + b"\xff\xd9"


def png(width: int, height: int) -> bytes:
    """A valid 1-bit black PNG of any size: a few hundred kB at most on the wire."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = (b"\x00" * (1 + (width + 7) // 8)) * height  # each row: filter byte + packed bits
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


# --- helpers ----------------------------------------------------------------------------------------

def team(app):
    person = f.auditor()
    plan = f.plan([person])
    db.session.commit()
    client = app.test_client()
    log_in(client, person)
    return client, plan


def send(client, plan_id: int, data: bytes, name: str = "photo.jpg"):
    token = csrf_token_from(client.get(f"/plans/{plan_id}"))
    form = {"csrf_token": token, "group": "first", "photo": (io.BytesIO(data), name)}
    return client.post(f"/plans/{plan_id}/photos", data=form, content_type="multipart/form-data", headers=PHOTO_SCRIPT)


def stored(app) -> tuple[int, list]:
    from sqlalchemy import func, select

    from checkin_pwa.models import Photo

    db.session.expire_all()
    count = db.session.scalar(select(func.count()).select_from(Photo))
    return count, [key for key, _ in app.extensions["photo_store"].keys()]


def assert_refused(app, response, status: int, message: str) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert '<p class="photo-error" role="alert">' in body
    assert message in body
    assert stored(app) == (0, [])


# --- item: scans, CPU, memory -----------------------------------------------------------------------

def test_r8_a_jpeg_of_two_thousand_scans_is_refused_before_it_is_decoded(app_context, app):
    """100 kB, 2,000 scans: 12-14 s of CPU to decode. No camera writes more than about ten."""
    client, plan = team(app)
    hostile = many_scans(2000)
    assert len(hostile) < 150_000
    assert image_format.jpeg_scans(hostile) > image_format.MAX_JPEG_SCANS

    assert_refused(app, send(client, plan.id, hostile), 422, TOO_COSTLY)


def test_r8_a_progressive_jpeg_as_a_camera_writes_it_is_accepted(app_context, app):
    client, plan = team(app)
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (30, 120, 200)).save(out, "JPEG", progressive=True)
    assert 1 < image_format.jpeg_scans(out.getvalue()) <= 10

    assert send(client, plan.id, out.getvalue()).status_code == 201


def test_r8_a_decode_past_its_cpu_limit_is_stopped_and_refused(app_context, app, monkeypatch):
    """Whatever slips past the header checks still costs at most PHOTO_DECODE_CPU_S: the
    scan cap is lifted here so the 14-second decode starts, and the kernel stops it."""
    monkeypatch.setattr(image_format, "MAX_JPEG_SCANS", 10**6)
    app.config["PHOTO_DECODE_CPU_S"] = 1
    client, plan = team(app)

    assert_refused(app, send(client, plan.id, many_scans(2000)), 422, TOO_COSTLY)


def test_r8_a_decode_past_its_memory_limit_is_refused(app_context, app):
    """A 49-megapixel PNG of 160 kB needs about 330 MB to decode: with the limit set at
    250 MB the allocation fails in the child, and the upload gets the same answer."""
    app.config["PHOTO_DECODE_MEMORY_MB"] = 250
    client, plan = team(app)
    out = io.BytesIO()
    Image.new("RGB", (7000, 7000), (10, 200, 30)).save(out, "PNG")

    assert_refused(app, send(client, plan.id, out.getvalue(), "big.png"), 422, TOO_COSTLY)


# --- item: shapes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("width, height", [(1, 50_000_000), (50_000_000, 1), (30_000, 1_000), (9_000, 800)])
def test_r8_a_picture_no_camera_takes_is_refused_by_its_shape_before_decoding(app_context, app, width, height):
    """1 x 50,000,000 passes the 50-megapixel cap and costs 400 MB of row pointers."""
    client, plan = team(app)
    hostile = png(width, height)
    assert len(hostile) < 300_000

    response = send(client, plan.id, hostile, "thin.png")

    assert_refused(app, response, 422, f"照片形状不像照片（{width} × {height}；每边最多 20000 像素，长边最多为短边的 10 倍）。")


def test_r8_a_panorama_is_still_a_photo(app_context, app):
    client, plan = team(app)
    assert send(client, plan.id, png(12_000, 2_000), "pano.png").status_code == 201


# --- item: HEIC cut short ----------------------------------------------------------------------------

@pytest.mark.parametrize("kept", [0.5, 0.9, 0.999])
def test_r8_a_heic_cut_short_is_refused_like_a_truncated_jpeg(app_context, app, kept):
    """libheif decodes what is there and paints the rest green: the boxes are checked first."""
    client, plan = team(app)
    whole = (FIXTURES / "IMG_5195.HEIC").read_bytes()

    response = send(client, plan.id, whole[:int(len(whole) * kept)], "IMG_5195.HEIC")

    assert_refused(app, response, 422, INCOMPLETE)
    assert send(client, plan.id, whole, "IMG_5195.HEIC").status_code == 201


def test_r8_a_heic_cut_short_whose_last_box_claims_the_rest_of_the_file_is_refused(app_context, app):
    """A data box of size 0 ("up to the end of the file") cannot be cut inside: where each
    tile lies (the iloc box) tells that the file ends too early."""
    client, plan = team(app)
    whole = (FIXTURES / "iphone_13_pro_max.HEIC").read_bytes()
    mdat = whole.index(b"mdat") - 4
    open_ended = whole[:mdat] + b"\x00\x00\x00\x00" + whole[mdat + 4:]  # its 64-bit size left as padding

    assert send(client, plan.id, open_ended, "whole.heic").status_code == 201
    cut = send(client, plan.id, open_ended[:int(len(open_ended) * 0.6)], "cut.heic")
    body = cut.get_data(as_text=True)
    assert cut.status_code == 422 and INCOMPLETE in body
    assert stored(app)[0] == 1


# --- the avatar goes through the same decoder ------------------------------------------------------

@pytest.mark.parametrize("name, make, words", [
    ("scans.jpg", lambda: many_scans(2000), "处理该图片文件所需资源过多"),
    ("thin.png", lambda: png(1, 50_000_000), "图片形状不像照片"),
    ("cut.heic", lambda: (FIXTURES / "IMG_5195.HEIC").read_bytes()[:400_000], "图片文件不完整或已损坏"),
])
def test_r1_avatar_hostile_picture_is_refused_and_changes_nothing(app_context, app, name, make, words):
    person = f.auditor()
    db.session.commit()
    client = app.test_client()
    log_in(client, person)
    token = csrf_token(client, "/me/avatar")

    response = client.post("/me/avatar", data={"csrf_token": token, "avatar": (io.BytesIO(make()), name)},
                           content_type="multipart/form-data")

    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(person), person.id).avatar_key is None
    assert stored(app)[1] == []


# --- a claimed hash flags nobody else's photo -----------------------------------------------------

def test_r8_a_claimed_original_hash_cannot_flag_another_teams_photo(app):
    """The phone's original_sha256 is a claim: sent by another team with the SHA-256 of our
    photo (as received, or as our phone claimed its original), it flags neither photo."""
    import hashlib

    with in_app_context(app):
        ours, theirs = f.auditor(), f.auditor()
        our_plan, their_plan = f.plan([ours]), f.plan([theirs])
    our_phone, their_phone = app.test_client(), app.test_client()
    log_in(our_phone, ours)
    log_in(their_phone, theirs)
    photo = (FIXTURES / "Canon_40D.jpg").read_bytes()
    our_claim = hashlib.sha256(b"our original, before the phone shrank it").hexdigest()
    token = csrf_token_from(our_phone.get(f"/plans/{our_plan.id}"))
    assert our_phone.post(f"/plans/{our_plan.id}/photos", headers=PHOTO_SCRIPT, content_type="multipart/form-data", data={
        "csrf_token": token, "group": "first", "photo": (io.BytesIO(photo), "a.jpg"),
        "original_sha256": our_claim}).status_code == 201

    for shade, claim in ((1, hashlib.sha256(photo).hexdigest()), (2, our_claim)):
        other = io.BytesIO()
        Image.new("RGB", (64, 48), (shade, 2, 3)).save(other, "JPEG")
        token = csrf_token_from(their_phone.get(f"/plans/{their_plan.id}"))
        response = their_phone.post(f"/plans/{their_plan.id}/photos", headers=PHOTO_SCRIPT, content_type="multipart/form-data",
                                    data={"csrf_token": token, "group": "other", "photo": (io.BytesIO(other.getvalue()), "b.jpg"),
                                          "original_sha256": claim})
        assert response.status_code == 201
        assert "该照片已用于其他审核计划" not in response.get_data(as_text=True)

    assert "该照片已用于其他审核计划" not in our_phone.get(f"/plans/{our_plan.id}").get_data(as_text=True)
    assert "该照片已用于其他审核计划" not in their_phone.get(f"/plans/{their_plan.id}").get_data(as_text=True)


# --- one EXIF parse, no log flood ---------------------------------------------------------------

def hostile_exif_jpeg(entries: int = 5000) -> bytes:
    """A small JPEG as a camera writes it (EXIF, no JFIF header) whose IFD0 claims `entries`
    tags of 400 kB each: Pillow's own EXIF parser warned once per tag ("Tag data larger than
    file. Skipping tag N", each message its own, so none is de-duplicated), on every parse."""
    ifd = struct.pack("<H", entries) + b"".join(
        struct.pack("<HHII", 0x1000 + i, 4, 100_000, 0x100) for i in range(entries)) + b"\x00" * 4
    app1 = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd
    assert len(app1) + 2 < 65536
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 10, 10)).save(out, "JPEG")
    plain = out.getvalue()
    assert plain[2:4] == b"\xff\xe0"  # Pillow's JFIF header: left out, as cameras do
    after_jfif = 4 + struct.unpack(">H", plain[4:6])[0]
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + plain[after_jfif:]


@pytest.fixture
def gunicorn_server(tmp_path, migrated_db):
    """The app as `make run` serves it (gunicorn, threads), its log (stderr) in a file."""
    import os
    import re
    import subprocess
    import sys
    import time

    from checkin_pwa import create_app
    from checkin_pwa.config import TestConfig

    env = {**os.environ, "DATABASE_URL": migrated_db.new_url(tmp_path), "SECRET_KEY": "gunicorn-test",
           "PHOTO_STORAGE_DIR": str(tmp_path / "photos"), "TILE_URL": ""}
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"])
    with app.app_context():
        person = f.auditor()
        plan = f.plan([person])
        db.session.commit()
        phone, plan_id = person.phone, plan.id
        db.session.remove()
        db.engine.dispose()
    log = tmp_path / "server.log"
    root = Path(__file__).resolve().parents[1]
    with open(log, "wb") as sink:
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--bind", "127.0.0.1:0",
                                   "--workers", "1", "--threads", "4", "wsgi:app"],
                                  cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                  preexec_fn=dies_with_run())
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield f"http://127.0.0.1:{found.group(1)}", phone, plan_id, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_r8_a_hostile_exif_block_is_read_once_and_writes_no_flood_into_the_log(gunicorn_server):
    from .helpers import HttpPhone

    base, phone_no, plan_id, log = gunicorn_server
    phone = HttpPhone(base, phone_no)
    token = phone.token(f"/plans/{plan_id}")
    before = len(log.read_text().splitlines())

    status, body = phone.request(f"/plans/{plan_id}/photos", fields={"csrf_token": token, "group": "first"},
                                 files={"photo": ("exif.jpg", hostile_exif_jpeg())},
                                 headers={"X-Checkin-Client": "photos"})

    assert status == 201, body  # the picture is fine; only its EXIF is not
    written = log.read_text().splitlines()[before:]
    assert len(written) < 5, "\n".join(written[:20])
