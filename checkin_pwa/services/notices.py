"""Notices (通知公告, R14): made by the `add-notice` CLI (and the demo), listed and opened by
auditors, attachments downloaded.

Who sees what: an auditor sees the notices of their own body (Notice.agency_id equal to
theirs) and the regulator's (agency_id None), published at or before now; anything else is
answered as missing (the routes give 404). Opening a notice marks it read for that auditor
once (NoticeRead, unique per notice and auditor: the first read_at is kept).

Attachments live in the app's one file store (app.extensions["photo_store"]) under
"notices/<sha256>": named by content, so the same file attached twice is stored once and no
sender-chosen name ever reaches a path. The file name is kept only for display and the
download's Content-Disposition. The content type comes from the name's extension through a
small allow-list; everything else (html, svg, exe ...) is application/octet-stream, and every
download is an attachment, so nothing is ever rendered inline.

No duplicate check: running the CLI twice with the same title makes two notices (the files
themselves are stored once).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Optional, Sequence

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..domain.filters import Page, page_of
from ..extensions import db
from ..models import Agency, Auditor, Notice, NoticeAttachment, NoticeRead
from ..storage import PhotoStore, notice_key
from .photos import clean_name

PER_PAGE = 20
TITLE_MAX = 200  # Notice.title's column
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# The extensions a body may attach, with the type they are served as. Nothing that a
# browser would run or render as a page (html, svg, xml, js) is here.
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "txt": "text/plain",
    "zip": "application/zip",
}
FALLBACK_TYPE = "application/octet-stream"
SERVED_TYPES = frozenset(CONTENT_TYPES.values())


class NoticeRefused(ValueError):
    """Bad input for a new notice; `code` names the reason, `params` fill its message."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def max_attachment_bytes() -> int:
    return int(current_app.config.get("NOTICE_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def content_type_for(filename: str) -> str:
    """The served type, from the name's extension through the allow-list."""
    _stem, dot, ext = filename.rpartition(".")
    return CONTENT_TYPES.get(ext.lower(), FALLBACK_TYPE) if dot else FALLBACK_TYPE


def served_type(attachment: NoticeAttachment) -> str:
    """What a download is sent as: the stored type if it is one we allow, else bytes."""
    return attachment.content_type if attachment.content_type in SERVED_TYPES else FALLBACK_TYPE


def display_filename(raw: str) -> str:
    """The name a body gave, cleaned for display (no path parts, no control characters)."""
    return clean_name(raw) or "attachment"


# --- making notices ---------------------------------------------------------------------

def find_agency(code: str) -> Optional[Agency]:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def create_notice(agency: Optional[Agency], title: str, body: str = "",
                  attachments: Sequence[tuple[str, bytes]] = (), published_at: Optional[dt.datetime] = None,
                  *, store: Optional[PhotoStore] = None, max_bytes: Optional[int] = None) -> Notice:
    """A notice from `agency` (None: the regulator, to everyone) with its attachments,
    committed. `published_at` is naive UTC (default: now). Raises NoticeRefused before
    anything is written: empty or too long title, an empty or too large attachment.

    Files are written first, the row last; files of a failed commit stay in the store with
    no row pointing at them, and the orphan sweep (sweep-photos) removes them.
    """
    title = (title or "").strip()
    if not title:
        raise NoticeRefused("empty_title")
    if len(title) > TITLE_MAX:
        raise NoticeRefused("title_too_long", limit=TITLE_MAX)
    limit = max_attachment_bytes() if max_bytes is None else max_bytes
    prepared = []
    for raw_name, data in attachments:
        name = display_filename(raw_name)
        if len(data) == 0:
            raise NoticeRefused("empty_file", name=name)
        if len(data) > limit:
            raise NoticeRefused("too_large", name=name, size=len(data), limit=limit)
        prepared.append((name, data, hashlib.sha256(data).hexdigest()))

    store = store or current_app.extensions["photo_store"]
    notice = Notice(agency_id=agency.id if agency else None, title=title, body=body or "")
    if published_at is not None:
        notice.published_at = published_at
    for name, data, digest in prepared:
        key = notice_key(digest)
        if not store.exists(key):  # named by content: already there means the same bytes
            store.save(key, data)
        notice.attachments.append(NoticeAttachment(
            filename=name, content_type=content_type_for(name), size=len(data), sha256=digest,
            storage_key=key))
    db.session.add(notice)
    db.session.commit()
    return notice


# --- what an auditor sees ---------------------------------------------------------------

def _visible(auditor: Auditor, now: dt.datetime):
    """The notices `auditor` may see at `now` (aware or naive UTC): their body's and the
    regulator's, already published."""
    source = Notice.agency_id.is_(None)
    if auditor.agency_id is not None:
        source = or_(source, Notice.agency_id == auditor.agency_id)
    return and_(source, Notice.published_at <= _naive_utc(now))


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _read_by(auditor: Auditor):
    return exists().where(NoticeRead.notice_id == Notice.id, NoticeRead.auditor_id == auditor.id)


def unread_count(auditor: Auditor, now: dt.datetime) -> int:
    """Visible notices the auditor has not opened: one COUNT with NOT EXISTS."""
    return db.session.scalar(
        select(func.count(Notice.id)).where(_visible(auditor, now), ~_read_by(auditor))) or 0


@dataclass(frozen=True)
class NoticeRow:
    id: int
    title: str
    agency_name: Optional[str]  # None: the regulator
    published_at: dt.datetime  # naive UTC
    unread: bool
    attachment_count: int


@dataclass(frozen=True)
class NoticePage:
    rows: list[NoticeRow]
    page: Page  # which page of how many (the lists' own rule, domain.filters)


def notice_page(auditor: Auditor, asked_page: object, now: dt.datetime, per_page: int = PER_PAGE) -> NoticePage:
    """One page of the auditor's notices, newest first; `asked_page` as the URL gave it
    (not a number: the first page; after the last: the last page)."""
    visible = _visible(auditor, now)
    total = db.session.scalar(select(func.count(Notice.id)).where(visible)) or 0
    page = page_of(asked_page, total, per_page)
    attachment_count = (select(func.count(NoticeAttachment.id))
                        .where(NoticeAttachment.notice_id == Notice.id).scalar_subquery())
    query = (
        select(Notice.id, Notice.title, Agency.name, Notice.published_at, ~_read_by(auditor), attachment_count)
        .outerjoin(Agency, Agency.id == Notice.agency_id)
        .where(visible)
        .order_by(Notice.published_at.desc(), Notice.id.desc())
        .limit(page.per_page).offset(page.offset)
    )
    rows = [NoticeRow(id=i, title=t, agency_name=a, published_at=p, unread=bool(u), attachment_count=c)
            for i, t, a, p, u, c in db.session.execute(query)]
    return NoticePage(rows, page)


def visible_notice(auditor: Auditor, notice_id: int, now: dt.datetime) -> Optional[Notice]:
    """The notice if the auditor may see it; None for another body's, a future or a missing one."""
    return db.session.scalar(select(Notice).where(Notice.id == notice_id, _visible(auditor, now)))


def open_notice(auditor: Auditor, notice_id: int, now: dt.datetime) -> Optional[Notice]:
    """The notice as `visible_notice`, marked read by the auditor (the first time only)."""
    notice = visible_notice(auditor, notice_id, now)
    if notice is None:
        return None
    already = db.session.scalar(
        select(NoticeRead.id).where(NoticeRead.notice_id == notice.id, NoticeRead.auditor_id == auditor.id))
    if already is None:
        try:
            with db.session.begin_nested():
                db.session.add(NoticeRead(notice_id=notice.id, auditor_id=auditor.id, read_at=_naive_utc(now)))
            db.session.commit()
        except IntegrityError:  # the same auditor opened it at the same moment elsewhere
            db.session.rollback()
            notice = visible_notice(auditor, notice_id, now)
    return notice


def visible_attachment(auditor: Auditor, notice_id: int, attachment_id: int,
                       now: dt.datetime) -> Optional[NoticeAttachment]:
    """The attachment if it belongs to `notice_id` and that notice is visible to the auditor;
    None otherwise (another body's notice, or another notice's attachment)."""
    return db.session.scalar(
        select(NoticeAttachment).join(Notice, Notice.id == NoticeAttachment.notice_id)
        .where(NoticeAttachment.id == attachment_id, NoticeAttachment.notice_id == notice_id,
               _visible(auditor, now)))


# --- demo -------------------------------------------------------------------------------

DEMO_TITLES = ("关于做好审核签到工作的通知", "关于认证审核现场签到规范的说明")


def _demo_pdf(text: str) -> bytes:
    """A one-page PDF (ASCII text) built here, so the demo needs no file on disk."""
    content = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def add_demo_notices(agency: Optional[Agency], now: dt.datetime) -> list[Notice]:
    """Two demo notices, once (skipped when their titles exist): one from `agency` with a
    PDF attached, one from the regulator. `now` is aware or naive UTC."""
    existing = set(db.session.scalars(select(Notice.title).where(Notice.title.in_(DEMO_TITLES))))
    made = []
    moment = _naive_utc(now)
    if DEMO_TITLES[0] not in existing:
        made.append(create_notice(
            agency, DEMO_TITLES[0],
            "各位审核员：\n\n请在审核首日到达现场后及时签到，末次会议结束后签退，"
            "并上传首次会议和末次会议照片。\n未能按时签到的，请在审核结束后 5 个工作日内提交异常说明。\n\n"
            "具体要求见附件。",
            [("审核签到说明.pdf", _demo_pdf("Audit check-in: demo attachment"))],
            moment - dt.timedelta(hours=2)))
    if DEMO_TITLES[1] not in existing:
        made.append(create_notice(
            None, DEMO_TITLES[1],
            "签到地点与计划审核地址直线距离超过 5 公里的，系统将标记为地点偏差。\n多场所审核可在任一场所签到。",
            (), moment - dt.timedelta(days=1)))
    return made
