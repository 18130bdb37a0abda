"""The server does the least work a photo needs (R8): a phone's shrunk JPEG that fits is the
display copy as sent (its metadata left out, nothing encoded again), a camera original is
decoded by libjpeg at the scale its display copy needs, the EXIF is parsed once, and the
thumbnail comes from the display copy.

Uploads go over HTTP to the real decoder process; what happens inside the decode is watched by
running the child's own function (services.imaging._work) in this process, with the Pillow
calls it makes counted.
"""
from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat, JpegImagePlugin

from checkin_pwa.domain import evidence, image_format
from checkin_pwa.services import imaging, photos

from .test_photos_server import exif_at, photos_in_db, send, team


GPS = (31.2304, 121.4737)


@pytest.fixture
def store(app):
    return app.extensions["photo_store"]


def detailed(size: tuple[int, int], seed_color=(90, 140, 60)) -> Image.Image:
    """A picture with detail (noise over a gradient), so its JPEG is photo-like."""
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    base = ImageChops.multiply(base, Image.new("RGB", size, seed_color))
    noise = Image.merge("RGB", [Image.effect_noise(size, 12) for _ in range(3)])
    return ImageChops.add(base, noise, scale=1.0, offset=-128)


def encoded(picture: Image.Image, quality: int = 80, **options) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, **options)
    return out.getvalue()


def phone_copy(size=(1600, 1200), orientation: int | None = None, quality: int = 80) -> tuple[bytes, bytes]:
    """(what the phone sends, the same JPEG without any metadata): a shrunk copy as photos.js
    makes it, with the original's EXIF (time, GPS), an XMP packet and a comment."""
    picture = detailed(size)
    exif = exif_at(dt.datetime(2026, 5, 1, 9, 30), lat_lon=GPS)
    if orientation is not None:
        exif[0x0112] = orientation
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>31,13.8N</exif:GPSLatitude></x:xmpmeta>'
    sent = encoded(picture, quality, exif=exif.tobytes(), xmp=xmp, comment=b"Shot on a phone")
    return sent, encoded(picture, quality)


def loads_at(monkeypatch) -> list[tuple[int, int]]:
    """The size each JPEG is decoded at in this process (after libjpeg's scaling)."""
    sizes: list[tuple[int, int]] = []
    load = JpegImagePlugin.JpegImageFile.load

    def counted(self):
        decoding = bool(self.tile)  # a loaded image has no tiles left: load() answers at once
        done = load(self)
        if decoding:
            sizes.append(self.size)
        return done

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", counted)
    return sizes


LIMITS = imaging.Limits(max_pixels=50_000_000)


def test_r8_a_phone_shrunk_jpeg_that_fits_is_stored_as_the_display_copy_without_its_metadata(app_context, app, store):
    sent, bare = phone_copy()
    client, plan, _ = team(app)

    response = send(client, plan.id, sent, group="first")

    assert response.status_code == 201
    [photo] = photos_in_db()
    assert store.read(photo.evidence_key) == sent  # the evidence is what was sent, EXIF and all
    assert photo.exif["gps"]["status"] == "read"
    display = store.read(photo.display_key)
    # The same compressed picture, byte for byte; no EXIF (GPS), XMP or comment around it.
    assert display == bare
    assert b"Exif\x00" not in display and b"xmpmeta" not in display and b"Shot on a phone" not in display
    thumb = Image.open(io.BytesIO(store.read(photo.thumb_key)))
    assert thumb.size == (320, 240)


def test_r8_a_kept_display_copy_keeps_its_colour_profile_and_drops_what_follows_the_image(app_context, app, store):
    picture = detailed((1200, 900))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    with_profile = encoded(picture, 80, icc_profile=icc)
    sent = with_profile + b"\xff\xd8 a second picture (a phone's depth map) \xff\xd9"
    client, plan, _ = team(app)

    assert send(client, plan.id, sent, group="other").status_code == 201

    [photo] = photos_in_db()
    assert store.read(photo.display_key) == with_profile
    assert Image.open(io.BytesIO(store.read(photo.display_key))).info.get("icc_profile") == icc


def test_r8_the_thumbnail_is_made_from_the_kept_display_copy_decoded_small(monkeypatch):
    sent, bare = phone_copy()
    sizes = loads_at(monkeypatch)

    made = imaging._work(sent, "jpeg", LIMITS, photos.COPIES)

    display, thumb = made.copies
    assert display == bare
    assert made.kept_as_sent and made.decoded == (400, 300)
    # One decode, of the display copy's bytes, at 1/4 of its size: enough for a 320 px thumbnail.
    assert sizes == [(400, 300)]
    thumb_picture = Image.open(io.BytesIO(thumb)).convert("RGB")
    from_display = Image.open(io.BytesIO(display)).convert("RGB").resize(thumb_picture.size, Image.Resampling.LANCZOS)
    difference = ImageChops.difference(thumb_picture, from_display).convert("L")
    mean = ImageStat.Stat(difference).mean[0]
    assert mean < 8  # the same picture


def test_r8_a_camera_original_is_decoded_at_the_scale_its_display_copy_needs(monkeypatch):
    exif = exif_at(dt.datetime(2026, 5, 1, 9, 30), lat_lon=GPS)
    exif[0x0112] = 6  # held sideways: the pixels are landscape, shown portrait
    original = encoded(detailed((4000, 3000)), 92, exif=exif.tobytes())
    sizes = loads_at(monkeypatch)

    made = imaging._work(original, "jpeg", LIMITS, photos.COPIES)

    assert (made.width, made.height) == (4000, 3000)
    assert sizes == [(2000, 1500)]  # libjpeg's 1/2 scale, not 12 MP of pixels
    display, thumb = (Image.open(io.BytesIO(copy)) for copy in made.copies)
    assert display.size == (1200, 1600) and thumb.size == (240, 320)  # upright
    assert len(display.getexif()) == 0 and b"Exif\x00" not in made.copies[0]


def test_r8_a_shrunk_copy_not_upright_or_of_a_very_high_quality_is_encoded_again(monkeypatch):
    turned, _ = phone_copy(size=(1600, 1200), orientation=6)
    made = imaging._work(turned, "jpeg", LIMITS, photos.COPIES)
    assert Image.open(io.BytesIO(made.copies[0])).size == (1200, 1600)  # turned upright

    heavy = encoded(detailed((1600, 1200)), 100)  # more than half a byte a pixel
    made = imaging._work(heavy, "jpeg", LIMITS, photos.COPIES)
    assert made.copies[0] != heavy and len(made.copies[0]) < len(heavy)


def test_r8_the_exif_is_parsed_once_per_photo(monkeypatch):
    sent, _ = phone_copy()
    exif = exif_at(dt.datetime(2026, 5, 1, 9, 30), lat_lon=GPS)
    original = encoded(detailed((4000, 3000)), 92, exif=exif.tobytes())
    calls = {"ours": 0, "pillow": 0}
    ours, pillows = evidence.read_exif, Image.Exif.load

    def counted_ours(*args, **kwargs):
        calls["ours"] += 1
        return ours(*args, **kwargs)

    def counted_pillows(self, data):
        calls["pillow"] += 1
        return pillows(self, data)

    monkeypatch.setattr(evidence, "read_exif", counted_ours)
    monkeypatch.setattr(Image.Exif, "load", counted_pillows)
    for data in (sent, original):
        calls.update(ours=0, pillow=0)
        made = imaging._work(data, "jpeg", LIMITS, photos.COPIES)
        assert made.evidence.gps.read
        assert calls == {"ours": 1, "pillow": 0}


def test_r8_display_copy_of_a_jpeg_whose_markers_do_not_walk_is_not_kept():
    sent, bare = phone_copy(size=(320, 240))
    assert image_format.jpeg_display_copy(sent, 64 * 1024) == bare
    assert image_format.jpeg_display_copy(sent[:-200], 64 * 1024) is None  # cut: no end of image
    assert image_format.jpeg_display_copy(sent[:2] + b"\x00\x00" + sent[2:], 64 * 1024) is None
