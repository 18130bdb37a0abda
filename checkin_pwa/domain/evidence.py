"""EXIF as corroborating evidence (R8, R17): PhotoEvidence from a photo's bytes, defensively.

Pure: no Flask, no database. A photo's EXIF is written by the phone and can be missing,
stripped (Android's photo picker removes GPS), damaged or hostile, so every field has its
own status: read (with its value), absent (the photo does not say), or unreadable (it says
something we cannot trust, with a short why). read_exif never raises and never takes longer
than its time limit; a bad field costs that field, never the upload.

Where the bytes come from: JPEG APP1 "Exif", PNG eXIf, WebP EXIF chunks are found by
walking the container ourselves (bounded); HEIC/HEIF through pillow-heif (libheif), which
hands back the same TIFF block.

The TIFF block itself is read by the small reader below, not by exifread (the EXIF
library), because of what exifread 3.5.1 does with details=False, extract_thumbnail=False,
strict=False, measured on its TIFF-stream entry (process_file on the block):
- Time. It decodes every value of every entry of every IFD it reaches: up to 999 values a
  tag (a Fraction each for rationals), with no cap on the number of entries, so its cost is
  what the block claims, not what we need. An IFD whose entries each claim 999 rationals
  costs it 7-9 ms an entry: 5.7 s for an 8 kB block, 37 s for 64 kB (the most a JPEG APP1
  segment holds), where this reader takes under 1 ms. The time limit of read_exif would
  answer "timeout" after 2 s, but a thread cannot be stopped: it would run on for the rest
  of the half minute, and meanwhile other Python work in the same worker ran 4 times
  slower. Even the tests' IFD claiming 65535 entries costs it 0.5 s. (The real fixture
  photos take it 0.3-2.6 ms: only hostile input is slow. details=True is worse still: a
  MakerNote's count is not capped at 999.)
- Meaning. Where the evidence needs a "why", it says nothing or the wrong thing: a tag of
  an unknown type is dropped (absent, not unreadable); a value past the end of the block
  reads as "" or 0; an ASCII count of 2**31 reads whatever follows up to a NUL as the
  value; an IFD pointer back to IFD0 is followed (IFD0 read again as the Exif IFD); an
  Exif IFD pointer typed ASCII (30-type_error.jpg) silently loses the whole Exif IFD.
Bounding exifread would mean walking every IFD ourselves first to check each count and
offset, which is this reader. We need about fifteen tags from three IFDs; it bounds every
count, offset and IFD visit and says why for each field it cannot trust.
tests/test_r8_evidence.py pins both findings, so an exifread that fixes them shows up.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from PIL import ExifTags

from checkin_pwa.domain.geo import Point
from checkin_pwa.domain.image_format import sniff_format

READ = "read"
ABSENT = "absent"
UNREADABLE = "unreadable"

# Bounds. A real EXIF block is a few kB (a JPEG APP1 segment cannot exceed 64 kB); the
# parser only ever sees a copy capped at MAX_EXIF_BYTES, so no offset or count in it can
# make us read or allocate more than that.
MAX_EXIF_BYTES = 256 * 1024
MAX_JPEG_SEGMENTS = 64  # markers before the image data; real files have about 10
MAX_CONTAINER_CHUNKS = 1024  # PNG / WebP chunks walked looking for EXIF
MAX_IFD_ENTRIES = 512  # real IFDs have under 100
MAX_RAW_TAGS = 200
MAX_RAW_CHARS = 200
MAX_RAW_VALUES = 32  # values shown per raw tag (the rest is "...")
MAX_TEXT_CHARS = 100  # make and model
DEFAULT_TIME_LIMIT_S = 2.0


# Tags never kept in the raw dump: maker blobs, embedded profiles, thumbnails and packets
# that are large, opaque and not evidence of time or place.
_BLOB_TAGS = {
    0x927C,  # MakerNote
    0x8773,  # ICC profile
    0x83BB,  # IPTC
    0x02BC,  # XMP packet
    0xC4A5,  # PrintIM
    0x0201, 0x0202,  # JPEG thumbnail offset / length
    0xEA1C,  # Padding (Windows)
    0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F,  # Windows XP text blobs
}
_IFD_POINTERS = {0x8769: "EXIF", 0x8825: "GPS"}

# TIFF field types: size in bytes of one value.
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_ASCII, _BYTE, _UNDEFINED, _SHORT, _LONG, _RATIONAL, _SRATIONAL, _IFD = 2, 1, 7, 3, 4, 5, 10, 13


# --- the evidence ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceField:
    """One EXIF field: read (value set), absent, or unreadable (why says what was wrong).

    source names the EXIF tag the value came from where there is a choice (taken_at).
    """

    status: str = ABSENT
    value: Any = None
    why: Optional[str] = None
    source: Optional[str] = None

    @property
    def read(self) -> bool:
        return self.status == READ


_ABSENT = EvidenceField()


@dataclass(frozen=True)
class PhotoEvidence:
    """What a photo's EXIF says about when, where and with what it was taken.

    taken_at     naive local datetime as the camera's clock showed it (DateTimeOriginal;
                 DateTimeDigitized only when there is no DateTimeOriginal: see source)
    offset       "+03:00" from OffsetTimeOriginal (absent: the time zone is unknown)
    gps          Point, signed by its Refs (S and W negative)
    gps_time     naive UTC datetime from GPSDateStamp + GPSTimeStamp
    make, model  the device, as it names itself
    orientation  1..8 (6: rotate 90 degrees clockwise for display)
    raw          the tags as read, str values, capped; no blobs
    status/why   of the EXIF block as a whole: read, absent ("no_exif"), or unreadable
    container    jpeg | png | webp | heif | unknown (what the bytes are, by their magic)
    """

    taken_at: EvidenceField = _ABSENT
    offset: EvidenceField = _ABSENT
    gps: EvidenceField = _ABSENT
    gps_time: EvidenceField = _ABSENT
    make: EvidenceField = _ABSENT
    model: EvidenceField = _ABSENT
    orientation: EvidenceField = _ABSENT
    raw: dict = field(default_factory=dict)
    status: str = ABSENT
    why: Optional[str] = None
    container: str = "unknown"

    FIELDS = ("taken_at", "offset", "gps", "gps_time", "make", "model", "orientation")

    @property
    def offset_minutes(self) -> Optional[int]:
        """The offset of taken_at from UTC in minutes, when the photo says it."""
        if not self.offset.read:
            return None
        return _offset_minutes(self.offset.value)

    def to_json(self) -> dict:
        """A JSON-safe dict for Photo.exif; from_json reads it back."""
        out: dict = {"v": 1, "status": self.status, "container": self.container}
        if self.why:
            out["why"] = self.why
        for name in self.FIELDS:
            f: EvidenceField = getattr(self, name)
            item: dict = {"status": f.status}
            if f.status == READ:
                item["value"] = _ENCODERS.get(name, _same)(f.value)
            if f.why:
                item["why"] = f.why
            if f.source:
                item["source"] = f.source
            out[name] = item
        out["raw"] = dict(self.raw)
        return out

    @classmethod
    def from_json(cls, data: Any) -> "PhotoEvidence":
        """Back from Photo.exif. Never raises: a stored value that no longer reads is
        unreadable ("stored_value_unreadable"), not an error on the plan page."""
        if not isinstance(data, dict):
            return cls()
        fields: dict = {}
        for name in cls.FIELDS:
            item = data.get(name)
            if not isinstance(item, dict) or item.get("status") not in (READ, ABSENT, UNREADABLE):
                continue
            why = item.get("why") if isinstance(item.get("why"), str) else None
            source = item.get("source") if isinstance(item.get("source"), str) else None
            if item["status"] == READ:
                try:
                    value = _DECODERS.get(name, _same)(item.get("value"))
                except (TypeError, ValueError, KeyError):
                    fields[name] = EvidenceField(UNREADABLE, why="stored_value_unreadable")
                    continue
                fields[name] = EvidenceField(READ, value, why, source)
            else:
                fields[name] = EvidenceField(item["status"], None, why, source)
        raw = data.get("raw") if isinstance(data.get("raw"), dict) else {}
        status = data.get("status") if data.get("status") in (READ, ABSENT, UNREADABLE) else ABSENT
        why = data.get("why") if isinstance(data.get("why"), str) else None
        container = data.get("container") if isinstance(data.get("container"), str) else "unknown"
        return cls(**fields, raw={str(k): str(v) for k, v in raw.items()}, status=status, why=why,
                   container=container)


def _same(value):
    return value


def _iso_utc(value: dt.datetime) -> str:
    return value.isoformat() + "Z"


def _from_iso_utc(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def _decode_point(value: dict) -> Point:
    lat, lon = float(value["lat"]), float(value["lon"])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("out of range")
    return Point(lat, lon)


def _decode_offset(value: str) -> str:
    if not isinstance(value, str) or _offset_minutes(value) is None:
        raise ValueError("bad offset")
    return value


def _decode_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not text")
    return value[:MAX_TEXT_CHARS]


def _decode_orientation(value: Any) -> int:
    if not isinstance(value, int) or not 1 <= value <= 8:
        raise ValueError("bad orientation")
    return value


_ENCODERS: dict[str, Callable] = {
    "taken_at": lambda v: v.isoformat(),
    "gps_time": _iso_utc,
    "gps": lambda p: {"lat": p.lat, "lon": p.lon},
}
_DECODERS: dict[str, Callable] = {
    "taken_at": lambda v: dt.datetime.fromisoformat(v).replace(tzinfo=None),
    "gps_time": _from_iso_utc,
    "gps": _decode_point,
    "offset": _decode_offset,
    "make": _decode_text,
    "model": _decode_text,
    "orientation": _decode_orientation,
}


def _whole_block(status: str, why: Optional[str], container: str = "unknown") -> PhotoEvidence:
    """Every field with the block's own status: nothing can be read, or there is nothing."""
    f = EvidenceField(status, why=why if status == UNREADABLE else None)
    return PhotoEvidence(**{name: f for name in PhotoEvidence.FIELDS}, status=status, why=why,
                         container=container)


# --- the entry point -----------------------------------------------------------------------


def read_exif(data: bytes, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> PhotoEvidence:
    """The EXIF evidence in a photo's bytes (JPEG, PNG, WebP, HEIC/HEIF). Never raises.

    Bounded in time as well as in bytes: the reading runs in a worker thread and we wait
    at most time_limit_s for it; past that the evidence is "unreadable" ("timeout") and
    the upload goes on. A thread, not a process: the reader below is bounded by
    construction (capped copy, capped counts, each IFD visited once), so the limit guards
    against the unforeseen (libheif on a hostile HEIC, a bug of ours) rather than a known
    hang; a process per photo would cost a fork and an interpreter start on every upload,
    and forking a threaded web worker is itself a hazard. A thread cannot be killed, so
    it is a daemon and holds only its own capped copy; nothing waits on it afterwards.
    """
    try:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            return _whole_block(UNREADABLE, "not_bytes")
        # Our own immutable copy: the caller may reuse its buffer while a late thread runs.
        data = bytes(data)
        outcome: list[PhotoEvidence] = []

        def work() -> None:
            try:
                outcome.append(_read(data))
            except Exception:  # noqa: BLE001 - any failure of a parser is "unreadable"
                outcome.append(_whole_block(UNREADABLE, "parser_error", _container(data)))

        worker = threading.Thread(target=work, name="exif-reader", daemon=True)
        worker.start()
        worker.join(max(0.0, float(time_limit_s)))
        if worker.is_alive() or not outcome:
            return _whole_block(UNREADABLE, "timeout", _container(data))
        return outcome[0]
    except Exception:  # noqa: BLE001 - e.g. no thread could be started
        return _whole_block(UNREADABLE, "parser_error")


def _read(data: bytes) -> PhotoEvidence:
    container = _container(data)
    try:
        segment = _EXTRACTORS[container](data)
    except _Damaged as exc:
        return _whole_block(UNREADABLE, exc.why, container)
    except Exception:  # noqa: BLE001 - libheif and friends raise what they like
        return _whole_block(UNREADABLE, "container_unreadable", container)
    if segment is None:
        return _whole_block(ABSENT, "no_exif" if container != "unknown" else "unknown_format", container)
    segment = bytes(segment[:MAX_EXIF_BYTES])
    try:
        evidence = _parse_tiff(segment)
    except _Damaged as exc:
        return _whole_block(UNREADABLE, exc.why, container)
    return PhotoEvidence(**{name: getattr(evidence, name) for name in PhotoEvidence.FIELDS},
                         raw=evidence.raw, status=evidence.status, why=evidence.why,
                         container=container)


# --- finding the EXIF block in its container --------------------------------------------------


class _Damaged(Exception):
    """Something we cannot read; why is a short code kept in the evidence."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class _Absent(Exception):
    """A field present in form but saying "unknown" (blank date, empty text)."""


def _container(data: bytes) -> str:
    return sniff_format(data) or "unknown"


def _strip_exif_header(body: bytes) -> bytes:
    # "Exif\0\0" precedes the TIFF header in JPEG APP1 and HEIF; some PNG/WebP writers copy it.
    if body[:4] == b"Exif" and body[4:6] in (b"\x00\x00", b"\x00\xff"):
        return body[6:]
    return body


def _jpeg_exif(data: bytes) -> Optional[bytes]:
    pos = 2
    for _ in range(MAX_JPEG_SEGMENTS):
        while pos + 1 < len(data) and data[pos] == 0xFF and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 4 > len(data) or data[pos] != 0xFF:
            return None  # truncated or damaged before any EXIF: the file says nothing
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after this
            return None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2:
            return None
        body = data[pos + 4:pos + 2 + length]
        if marker == 0xE1 and body[:4] == b"Exif":
            return _strip_exif_header(body)
        pos += 2 + length
    return None


def _png_exif(data: bytes) -> Optional[bytes]:
    pos = 8
    for _ in range(MAX_CONTAINER_CHUNKS):
        if pos + 8 > len(data):
            return None
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"eXIf":
            return _strip_exif_header(data[pos + 8:pos + 8 + min(length, MAX_EXIF_BYTES)])
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


def _webp_exif(data: bytes) -> Optional[bytes]:
    pos = 12
    for _ in range(MAX_CONTAINER_CHUNKS):
        if pos + 8 > len(data):
            return None
        kind = data[pos:pos + 4]
        length = int.from_bytes(data[pos + 4:pos + 8], "little")
        if kind == b"EXIF":
            return _strip_exif_header(data[pos + 8:pos + 8 + min(length, MAX_EXIF_BYTES)])
        pos += 8 + length + (length & 1)
    return None


def _heif_exif(data: bytes) -> Optional[bytes]:
    # Imported here: only HEIF needs libheif, and open_heif reads the boxes without
    # decoding the image. No register_heif_opener: that changes Pillow for the whole process.
    import pillow_heif

    exif = pillow_heif.open_heif(io.BytesIO(data)).info.get("exif")
    if not exif:
        return None
    return _strip_exif_header(bytes(exif[:MAX_EXIF_BYTES + 6]))


def _no_exif(data: bytes) -> None:
    return None


_EXTRACTORS: dict[str, Callable[[bytes], Optional[bytes]]] = {
    "jpeg": _jpeg_exif,
    "png": _png_exif,
    "webp": _webp_exif,
    "heif": _heif_exif,
    "unknown": _no_exif,
}


# --- the TIFF block ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    tag: int
    kind: int
    count: int
    pos: int  # where the entry starts in the block


class _Tiff:
    """A bounded reader of one TIFF block (the body of an EXIF segment)."""

    def __init__(self, block: bytes):
        if len(block) < 8:
            raise _Damaged("not_tiff")
        order = block[:2]
        if order == b"II":
            self.endian = "<"
        elif order == b"MM":
            self.endian = ">"
        else:
            raise _Damaged("not_tiff")
        self.block = block
        if self.unpack("H", 2)[0] != 42:
            raise _Damaged("not_tiff")
        self.first_ifd = self.unpack("I", 4)[0]

    def unpack(self, fmt: str, pos: int, count: int = 1) -> tuple:
        size = struct.calcsize("<" + fmt) * count
        if pos < 0 or pos + size > len(self.block):
            raise _Damaged("out_of_bounds")
        return struct.unpack_from(f"{self.endian}{count}{fmt}", self.block, pos)

    def ifd(self, offset: int) -> dict[int, _Entry]:
        (n,) = self.unpack("H", offset)
        if n > MAX_IFD_ENTRIES or offset + 2 + 12 * n > len(self.block):
            raise _Damaged("entry_count_out_of_range")
        entries: dict[int, _Entry] = {}
        for i in range(n):
            pos = offset + 2 + 12 * i
            tag, kind, count = self.unpack("HHI", pos)
            entries.setdefault(tag, _Entry(tag, kind, count, pos))  # a repeated tag: the first counts
        return entries

    def payload(self, entry: _Entry, limit: Optional[int] = None) -> bytes:
        """The bytes of an entry's values (of the first `limit` values at most)."""
        size = _TYPE_SIZE.get(entry.kind)
        if size is None:
            raise _Damaged("unknown_type")
        total = entry.count * size
        if total <= 4:
            start = entry.pos + 8
        else:
            if total > len(self.block):  # a count no block of ours can hold (e.g. 2**31)
                raise _Damaged("count_out_of_range")
            (start,) = self.unpack("I", entry.pos + 8)
            if start + total > len(self.block):
                raise _Damaged("out_of_bounds")
        if limit is not None:
            total = min(total, limit * size)
        return self.block[start:start + total]

    def values(self, entry: _Entry, limit: Optional[int] = None) -> tuple:
        raw = self.payload(entry, limit)
        n = len(raw) // _TYPE_SIZE[entry.kind]
        fmt = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 11: "f", 12: "d", 13: "I"}.get(entry.kind)
        if entry.kind in (_RATIONAL, _SRATIONAL):
            flat = struct.unpack(f"{self.endian}{2 * n}{'I' if entry.kind == _RATIONAL else 'i'}", raw)
            return tuple(zip(flat[0::2], flat[1::2]))
        if fmt is None:  # ASCII, UNDEFINED: bytes
            return (raw,)
        return struct.unpack(f"{self.endian}{n}{fmt}", raw)

    def text(self, entry: _Entry) -> str:
        if entry.kind not in (_ASCII, _UNDEFINED, _BYTE):
            raise _Damaged("bad_type")
        raw = self.payload(entry).split(b"\x00", 1)[0]
        text = raw.decode("utf-8", errors="replace")
        return "".join(ch for ch in text if ch.isprintable()).strip()

    def pointer(self, entry: _Entry) -> int:
        if entry.kind not in (_LONG, _IFD) or entry.count != 1:
            raise _Damaged("bad_pointer")
        return self.values(entry)[0]


def _parse_tiff(block: bytes) -> PhotoEvidence:
    """Read the evidence fields from one (capped) TIFF block; _Damaged if IFD0 is unreadable."""
    tiff = _Tiff(block)
    ifds: dict[str, dict[int, _Entry]] = {}
    damaged: dict[str, str] = {}
    pending: list[tuple[str, int]] = [("Image", tiff.first_ifd)]
    visited: set[int] = set()
    while pending:
        name, offset = pending.pop(0)
        if offset in visited:
            damaged[name] = "cycle"
            continue
        visited.add(offset)
        try:
            ifds[name] = tiff.ifd(offset)
        except _Damaged as exc:
            damaged[name] = exc.why
            continue
        for tag, child in _IFD_POINTERS.items():
            entry = ifds[name].get(tag)
            if entry is None or child in ifds or child in damaged or any(c == child for c, _ in pending):
                continue
            try:
                pending.append((child, tiff.pointer(entry)))
            except _Damaged as exc:
                damaged[child] = exc.why
    if "Image" not in ifds:
        raise _Damaged(damaged.get("Image", "not_tiff"))

    def get(ifd: str, tag: int, convert: Callable[[_Entry], Any], source: Optional[str] = None) -> EvidenceField:
        if ifd in damaged:
            return EvidenceField(UNREADABLE, why=f"{ifd.lower()}_ifd_{damaged[ifd]}", source=source)
        entry = ifds.get(ifd, {}).get(tag)
        if entry is None:
            return EvidenceField(ABSENT)
        try:
            return EvidenceField(READ, convert(entry), source=source)
        except _Absent:
            return EvidenceField(ABSENT, source=source)
        except _Damaged as exc:
            return EvidenceField(UNREADABLE, why=exc.why, source=source)
        except (ValueError, OverflowError, struct.error, ZeroDivisionError):
            return EvidenceField(UNREADABLE, why="out_of_range", source=source)

    # Time taken: DateTimeOriginal is the shutter. DateTimeDigitized (the same instant for a
    # camera) stands in only when there is no DateTimeOriginal at all, and says so in source;
    # DateTime (0x0132) is when the file was last changed (an editor sets it), so it is never
    # taken as the time taken; it stays in the raw tags.
    taken_at = get("EXIF", 0x9003, lambda e: _exif_datetime(tiff.text(e)), "DateTimeOriginal")
    offset_tag = 0x9011
    if taken_at.status == ABSENT:
        digitized = get("EXIF", 0x9004, lambda e: _exif_datetime(tiff.text(e)), "DateTimeDigitized")
        if digitized.status != ABSENT:
            taken_at, offset_tag = digitized, 0x9012
        else:
            taken_at = EvidenceField(ABSENT)
    offset = get("EXIF", offset_tag, lambda e: _exif_offset(tiff.text(e)),
                 "OffsetTimeOriginal" if offset_tag == 0x9011 else "OffsetTimeDigitized")
    if offset.status == ABSENT:
        offset = EvidenceField(ABSENT)

    return PhotoEvidence(
        taken_at=taken_at,
        offset=offset,
        gps=_gps_position(tiff, ifds, damaged),
        gps_time=_gps_time(tiff, ifds, damaged),
        make=get("Image", 0x010F, lambda e: _device_text(tiff.text(e))),
        model=get("Image", 0x0110, lambda e: _device_text(tiff.text(e))),
        orientation=get("Image", 0x0112, lambda e: _orientation(tiff, e)),
        raw=_raw_tags(tiff, ifds),
        status=READ,
    )


# --- field conversions ---------------------------------------------------------------------------

_DATETIME = re.compile(r"^(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})[:\-/](\d{2})[:\-/](\d{2})$")


def _exif_datetime(text: str) -> dt.datetime:
    # "    :  :     :  :  " (blanks) and zeros are how EXIF says "unknown".
    if not text.strip(" :0"):
        raise _Absent()
    match = _DATETIME.match(text)
    if not match:
        raise _Damaged("bad_format")
    try:
        return dt.datetime(*(int(g) for g in match.groups()))
    except ValueError:
        raise _Damaged("out_of_range") from None


def _offset_minutes(text: str) -> Optional[int]:
    match = _OFFSET.match(text or "")
    if not match:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes) >= 60:
        return None
    return (-1 if sign == "-" else 1) * (int(hours) * 60 + int(minutes))


def _exif_offset(text: str) -> str:
    if not text.strip(" :"):
        raise _Absent()
    if not _OFFSET.match(text):
        raise _Damaged("bad_format")
    if _offset_minutes(text) is None:
        raise _Damaged("out_of_range")
    return text


def _device_text(text: str) -> str:
    text = " ".join(text.split())[:MAX_TEXT_CHARS]
    if not text:
        raise _Absent()
    return text


def _orientation(tiff: _Tiff, entry: _Entry) -> int:
    if entry.kind not in (_SHORT, _LONG) or entry.count != 1:
        raise _Damaged("bad_type")
    value = tiff.values(entry)[0]
    if not 1 <= value <= 8:
        raise _Damaged("out_of_range")
    return value


def _rational_parts(tiff: _Tiff, entry: _Entry, most: int) -> list[float]:
    """Up to `most` non-negative rationals as floats; zero denominators are unreadable."""
    if entry.kind not in (_RATIONAL, _SRATIONAL):
        raise _Damaged("bad_type")
    if not 1 <= entry.count <= most:
        raise _Damaged("bad_count")
    parts = []
    for num, den in tiff.values(entry):
        if den == 0:
            raise _Damaged("zero_denominator")
        if num < 0 or den < 0:
            raise _Damaged("out_of_range")
        parts.append(num / den)
    return parts


def _degrees(tiff: _Tiff, entry: _Entry, limit: float) -> float:
    parts = _rational_parts(tiff, entry, 3) + [0.0, 0.0]
    degrees, minutes, seconds = parts[:3]
    if minutes >= 60 or seconds >= 60:
        raise _Damaged("out_of_range")
    value = degrees + minutes / 60 + seconds / 3600
    if value > limit:
        raise _Damaged("out_of_range")
    return value


def _gps_position(tiff: _Tiff, ifds: dict, damaged: dict) -> EvidenceField:
    if "GPS" in damaged:
        return EvidenceField(UNREADABLE, why=f"gps_ifd_{damaged['GPS']}")
    gps = ifds.get("GPS", {})
    lat_e, lon_e = gps.get(0x0002), gps.get(0x0004)
    if lat_e is None and lon_e is None:
        return EvidenceField(ABSENT)
    if lat_e is None or lon_e is None:
        return EvidenceField(UNREADABLE, why="incomplete")
    try:
        signs = []
        for ref_tag, accepted in ((0x0001, "NS"), (0x0003, "EW")):
            ref_e = gps.get(ref_tag)
            if ref_e is None:
                raise _Damaged("missing_ref")  # never guessed: a missing W would move us an ocean
            ref = tiff.text(ref_e).upper()
            if len(ref) != 1 or ref not in accepted:
                raise _Damaged("bad_ref")
            signs.append(-1.0 if ref in "SW" else 1.0)
        lat = signs[0] * _degrees(tiff, lat_e, 90.0)
        lon = signs[1] * _degrees(tiff, lon_e, 180.0)
    except _Damaged as exc:
        return EvidenceField(UNREADABLE, why=exc.why)
    except (ValueError, OverflowError, struct.error):
        return EvidenceField(UNREADABLE, why="out_of_range")
    if lat == 0.0 and lon == 0.0:
        return EvidenceField(UNREADABLE, why="null_island")  # what a receiver without a fix writes
    return EvidenceField(READ, Point(round(lat, 7), round(lon, 7)))


def _gps_time(tiff: _Tiff, ifds: dict, damaged: dict) -> EvidenceField:
    if "GPS" in damaged:
        return EvidenceField(UNREADABLE, why=f"gps_ifd_{damaged['GPS']}")
    gps = ifds.get("GPS", {})
    date_e, time_e = gps.get(0x001D), gps.get(0x0007)
    if date_e is None and time_e is None:
        return EvidenceField(ABSENT)
    if date_e is None or time_e is None:
        return EvidenceField(UNREADABLE, why="incomplete")
    try:
        date_text = tiff.text(date_e)
        if not date_text.strip(" :0"):
            return EvidenceField(ABSENT)
        match = _DATE.match(date_text)
        if not match:
            raise _Damaged("bad_format")
        hours, minutes, seconds = (_rational_parts(tiff, time_e, 3) + [0.0, 0.0])[:3]
        if hours >= 24 or minutes >= 60 or seconds >= 61:  # 60: a leap second
            raise _Damaged("out_of_range")
        day = dt.datetime(*(int(g) for g in match.groups()))
        moment = day + dt.timedelta(hours=int(hours), minutes=int(minutes), seconds=seconds)
    except _Damaged as exc:
        return EvidenceField(UNREADABLE, why=exc.why)
    except (ValueError, OverflowError, struct.error):
        return EvidenceField(UNREADABLE, why="out_of_range")
    return EvidenceField(READ, moment.replace(microsecond=(moment.microsecond // 1000) * 1000))


# --- the raw tags --------------------------------------------------------------------------------


def _tag_name(ifd: str, tag: int) -> str:
    names = ExifTags.GPSTAGS if ifd == "GPS" else ExifTags.TAGS
    return f"{ifd} {names.get(tag, f'0x{tag:04X}')}"


def _raw_value(tiff: _Tiff, entry: _Entry) -> str:
    if entry.kind == _ASCII:
        return tiff.text(entry)
    if entry.kind == _UNDEFINED:
        if entry.count > 64:
            return f"<{entry.count} bytes>"
        raw = tiff.payload(entry)
        text = raw.rstrip(b"\x00")
        if text and all(32 <= b < 127 for b in text):
            return text.decode("ascii")  # e.g. ExifVersion "0230"
        return raw.hex(" ")
    values = tiff.values(entry, MAX_RAW_VALUES)
    shown = []
    for value in values:
        if isinstance(value, tuple):
            num, den = value
            shown.append(str(num) if den == 1 else f"{num}/{den}")
        elif isinstance(value, float):
            shown.append(f"{value:g}")
        else:
            shown.append(str(value))
    text = ", ".join(shown) + (", ..." if entry.count > MAX_RAW_VALUES else "")
    return text if entry.count == 1 else f"[{text}]"


def _raw_tags(tiff: _Tiff, ifds: dict[str, dict[int, _Entry]]) -> dict[str, str]:
    raw: dict[str, str] = {}
    for ifd in ("Image", "EXIF", "GPS"):
        for tag, entry in ifds.get(ifd, {}).items():
            if tag in _BLOB_TAGS:
                continue
            if len(raw) >= MAX_RAW_TAGS:
                return raw
            try:
                value = _raw_value(tiff, entry)
            except _Damaged as exc:
                value = f"<unreadable: {exc.why}>"
            except (ValueError, OverflowError, struct.error):
                value = "<unreadable>"
            raw[_tag_name(ifd, tag)] = value[:MAX_RAW_CHARS]
    return raw
