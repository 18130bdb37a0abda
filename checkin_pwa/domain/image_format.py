"""What a photo's bytes are, from their magic numbers alone (never the name or the
Content-Type): one answer for the upload check and for the EXIF reader."""
from __future__ import annotations

import re
from typing import Iterator, Optional

# ISO-BMFF brands of HEIF stills (HEVC-coded, as iPhones and Android phones write them).
# AVIF (AV1) is left out: no phone camera writes it, and it is one more decoder exposed.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}


def sniff_format(data: bytes) -> Optional[str]:
    """jpeg / png / webp / heif from the magic numbers, or None for anything else
    (GIF, SVG, text, PDF, AVIF ...)."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        box_size = int.from_bytes(data[:4], "big")
        if 16 <= box_size <= min(len(data), 4096):
            major = data[8:12]
            compatible = {data[i:i + 4] for i in range(16, box_size - 3, 4)}
            if major in HEIF_BRANDS or (compatible & HEIF_BRANDS and b"avif" != major):
                return "heif"
    return None


# --- what the header says, before anything decodes ---------------------------------------------
#
# A camera writes a baseline JPEG (one scan) or a progressive one of about ten scans
# (libjpeg's default script: 10 for colour, 6 for grey). Each scan makes the decoder walk
# every block of the image again, so the cost of a decode grows with the number of scans, and
# a 100 kB file of 2,000 empty scans costs 12-14 s of CPU. 32 is three times any camera's.
MAX_JPEG_SCANS = 32

# A JPEG segment's entropy-coded data ends at the next marker: 0xFF followed by anything but
# a stuffed zero, a restart marker or another fill byte.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length follows


def jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """The one walk over a JPEG's markers, without decoding: (marker, start, end) of each
    segment after the start of image, in file order. A scan's segment takes in its
    entropy-coded data up to the next marker; a standalone marker (RST, TEM) is its two bytes;
    the end of image (0xD9) is the last one yielded. The walk stops where it breaks (a byte
    that is not a marker, a length that runs short or past the end): a file whose last
    segment is not 0xD9 did not walk cleanly. A scan that no marker follows (a cut file) is
    yielded up to the end of the data, and the walk ends there."""
    pos = 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte before the marker
            pos += 1
            continue
        if marker == 0xD9:  # end of image
            yield marker, pos, pos + 2
            return
        if marker in _STANDALONE:
            yield marker, pos, pos + 2
            pos += 2
            continue
        if pos + 4 > len(data):
            return
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if end > len(data) or end < pos + 4:
            return
        if marker == 0xDA:
            found = _NEXT_MARKER.search(data, end)
            if found is None:
                yield marker, pos, len(data)
                return
            end = found.start()
        yield marker, pos, end
        pos = end


def jpeg_scans(data: bytes, stop_after: int = MAX_JPEG_SCANS) -> int:
    """How many scans (SOS markers) a JPEG has (jpeg_segments); counting stops once
    `stop_after` is passed. A walk that breaks off answers the scans seen so far: the decoder
    judges the rest."""
    scans = 0
    for marker, _start, _end in jpeg_segments(data):
        if marker == 0xDA:
            scans += 1
            if scans > stop_after:
                break
    return scans


_METADATA_APP = ((0xE1, b"Exif\x00"), (0xE2, b"MPF\x00"))


def jpeg_without_metadata_blocks(data: bytes) -> bytes:
    """The JPEG with its EXIF (APP1) and multi-picture (APP2 MPF) segments left out, pixels
    untouched: what the decoder is given, so no second EXIF parser ever reads the phone's
    EXIF (ours reads it once). The colour profile (APP2 ICC_PROFILE) stays."""
    kept, start = [], 0
    for marker, pos, end in jpeg_segments(data):
        if marker == 0xDA or marker == 0xD9 or marker in _STANDALONE:
            break
        if any(marker == app and data[pos + 4:pos + 4 + len(tag)] == tag for app, tag in _METADATA_APP):
            kept.append(data[start:pos])
            start = end
    if not kept:
        return data
    return b"".join(kept) + data[start:]


# What a display copy keeps of a JPEG's segments besides the picture's own tables: the
# JFIF header (APP0), the colour profile (APP2 ICC_PROFILE) and Adobe's colour transform
# (APP14, it says how the decoder reads the colours). EXIF, XMP, IPTC, MPF, comments and
# every other application segment are left out; so is anything after the end of the image
# (a phone's depth map or second picture).
_DISPLAY_APP = ((0xE0, b"JFIF\x00"), (0xE2, b"ICC_PROFILE\x00"), (0xEE, b"Adobe"))


def jpeg_display_copy(data: bytes, max_icc_bytes: int) -> Optional[bytes]:
    """The JPEG's picture as it is (the same compressed bytes, nothing decoded or encoded
    again), with only the segments of _DISPLAY_APP among its metadata; the colour profile
    too only when its chunks hold at most `max_icc_bytes`. None when the markers do not
    walk cleanly from the start to the end of the image: such a file is re-encoded."""
    if data[:2] != b"\xff\xd8":
        return None
    parts, icc, icc_bytes, last = [b"\xff\xd8"], [], 0, None
    for marker, pos, end in jpeg_segments(data):
        last = marker
        segment = data[pos:end]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            tag = next((tag for app, tag in _DISPLAY_APP if marker == app and segment[4:4 + len(tag)] == tag), None)
            if tag == b"ICC_PROFILE\x00":
                icc.append(len(parts))
                icc_bytes += len(segment) - 4 - len(tag) - 2
            if tag is not None:
                parts.append(segment)
        else:
            parts.append(segment)
    if last != 0xD9:
        return None
    if icc_bytes > max_icc_bytes:
        parts = [part for i, part in enumerate(parts) if i not in set(icc)]
    return b"".join(parts)


def heif_cut_short(data: bytes) -> bool:
    """Whether an ISO-BMFF file (HEIC) is cut short: it ends inside one of its top-level
    boxes, or an item's data (iloc: where each image tile lies in the file) lies past its
    end. libheif decodes what is there and paints the rest green, so this is checked
    before decoding. Bounded: at most 4,096 boxes and 4,096 extents are read."""
    boxes = _boxes(data, 0, len(data))
    if boxes is None:
        return True
    meta = boxes.get(b"meta")
    if meta is None:
        return False
    inner = _boxes(data, meta[0] + 4, meta[1])  # meta is a full box: version and flags first
    if inner is None or b"iloc" not in inner:
        return inner is None
    try:
        return any(end > len(data) for end in _iloc_ends(data, *inner[b"iloc"]))
    except IndexError:  # the iloc box itself is cut or damaged
        return True


def _boxes(data: bytes, pos: int, end: int) -> Optional[dict[bytes, tuple[int, int]]]:
    """The boxes between pos and end, as type -> (start of body, end), the first of each
    type; None if one runs past `end` (or there are too many)."""
    found: dict[bytes, tuple[int, int]] = {}
    for _ in range(4096):
        if pos >= end:
            return found
        if pos + 8 > end:
            return None
        size, kind, header = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8], 8
        if size == 1:  # a 64-bit size follows the type
            if pos + 16 > end:
                return None
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:  # the last box, up to the end
            size = end - pos
        if size < header or pos + size > end:
            return None
        found.setdefault(kind, (pos + header, pos + size))
        pos += size
    return None


def _iloc_ends(data: bytes, pos: int, end: int) -> list[int]:
    """Where each extent of each item stored in this file ends (ISO/IEC 14496-12 8.11.3)."""
    def number(size: int) -> int:
        nonlocal pos
        if pos + size > end:
            raise IndexError("iloc cut")
        value = int.from_bytes(data[pos:pos + size], "big")
        pos += size
        return value

    version = number(1)
    number(3)  # flags
    sizes = number(2)
    offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version in (1, 2) else 0
    items = number(2 if version < 2 else 4)
    ends, extents = [], 0
    for _ in range(items):
        number(2 if version < 2 else 4)  # item id
        method = number(2) & 15 if version in (1, 2) else 0
        number(2)  # data reference index
        base = number(base_size)
        for _ in range(number(2)):
            extents += 1
            if extents > 4096:
                raise IndexError("too many extents")
            number(index_size)
            offset, length = number(offset_size), number(length_size)
            if method == 0:  # in this file (1: inside idat, 2: another item)
                ends.append(base + offset + length)
    return ends


# An image a phone takes or a screenshot is at most a few thousand pixels a side; a panorama is
# long but not thin. One side of 1 x 50,000,000 px passes a megapixel cap and costs the
# decoder a row pointer per line (400 MB): each side and the ratio are capped as well.
MAX_SIDE = 20_000
MAX_ASPECT = 10


def shape_problem(width: int, height: int, *, max_pixels: int, max_side: int = MAX_SIDE,
                  max_aspect: float = MAX_ASPECT) -> Optional[str]:
    """None for a shape a photo can have, else "too_many_pixels" or "bad_shape"."""
    if width <= 0 or height <= 0:
        return "bad_shape"
    if width * height > max_pixels:
        return "too_many_pixels"
    if max(width, height) > max_side or max(width, height) > max_aspect * min(width, height):
        return "bad_shape"
    return None
