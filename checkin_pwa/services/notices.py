"""Notices (通知公告, R14): made by the `add-notice` CLI (and the demo) or written by a body's
staff in the console (a draft, published now or at a time, withdrawn; each change in the
audit log), listed and opened by auditors, attachments downloaded.

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

from ..domain import clock, notice_body
from ..domain.filters import Page, page_of, page_within
from ..extensions import db
from ..models import Agency, Auditor, Notice, NoticeAttachment, NoticeRead, Staff
from ..storage import PhotoStore, notice_key
from . import audit
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


def _prepared(attachments: Sequence[tuple[str, bytes]], limit: int) -> list[tuple[str, bytes, str]]:
    """Each file's display name, bytes and SHA-256; NoticeRefused for an empty or too large one."""
    prepared = []
    for raw_name, data in attachments:
        name = display_filename(raw_name)
        if len(data) == 0:
            raise NoticeRefused("empty_file", name=name)
        if len(data) > limit:
            raise NoticeRefused("too_large", name=name, size=len(data), limit=limit)
        prepared.append((name, data, hashlib.sha256(data).hexdigest()))
    return prepared


def _store_files(notice: Notice, prepared, store: Optional[PhotoStore]) -> None:
    """Write the files (named by content) and attach their rows to `notice`. Files of a
    failed commit stay in the store with no row pointing at them, and the orphan sweep
    (sweep-photos) removes them."""
    store = store or current_app.extensions["photo_store"]
    for name, data, digest in prepared:
        key = notice_key(digest)
        if not store.exists(key):  # named by content: already there means the same bytes
            try:
                store.save(key, data)
            except FileExistsError:  # the same file, sent with another notice meanwhile
                pass
        notice.attachments.append(NoticeAttachment(
            filename=name, content_type=content_type_for(name), size=len(data), sha256=digest,
            storage_key=key))


def _checked_text(title: str, body: str, body_format: str) -> tuple[str, str]:
    """A notice's title (trimmed) and body as they will be kept; NoticeRefused when either
    is empty or too long, or the format is not one we render."""
    title = (title or "").strip()
    if not title:
        raise NoticeRefused("empty_title")
    if len(title) > TITLE_MAX:
        raise NoticeRefused("title_too_long", limit=TITLE_MAX)
    body = body or ""
    if len(body) > notice_body.BODY_MAX:
        raise NoticeRefused("body_too_long", limit=notice_body.BODY_MAX)
    if body_format not in notice_body.FORMATS:
        raise NoticeRefused("unknown_format")
    return title, body


def _new_notice(agency: Optional[Agency], title: str, body: str, body_format: str,
                attachments: Sequence[tuple[str, bytes]], max_bytes: Optional[int]):
    """The checks every new notice passes (before anything is written) and its row, not yet
    added to the session, with its files prepared but not stored."""
    title, body = _checked_text(title, body, body_format)
    limit = max_attachment_bytes() if max_bytes is None else max_bytes
    prepared = _prepared(attachments, limit)
    notice = Notice(agency_id=agency.id if agency else None, title=title, body=body, body_format=body_format)
    return notice, prepared


def create_notice(agency: Optional[Agency], title: str, body: str = "",
                  attachments: Sequence[tuple[str, bytes]] = (), published_at: Optional[dt.datetime] = None,
                  *, store: Optional[PhotoStore] = None, max_bytes: Optional[int] = None) -> Notice:
    """A notice from `agency` (None: the regulator, to everyone) with its attachments,
    committed. `published_at` is UTC (default: now). Raises NoticeRefused before
    anything is written: empty or too long title, too long a body, an empty or too large
    attachment. Files are written first, the row last."""
    notice, prepared = _new_notice(agency, title, body, notice_body.TEXT, attachments, max_bytes)
    notice.published_at = published_at if published_at is not None else clock.now()
    _store_files(notice, prepared, store)
    db.session.add(notice)
    db.session.commit()
    return notice


# --- what an auditor sees ---------------------------------------------------------------

def _visible(auditor: Auditor, now: dt.datetime):
    """The notices `auditor` may see at `now` (aware, or naive meaning UTC): their body's and the
    regulator's, already published (a draft has no time: never) and not withdrawn."""
    source = Notice.agency_id.is_(None)
    if auditor.agency_id is not None:
        source = or_(source, Notice.agency_id == auditor.agency_id)
    return and_(source, Notice.published_at <= clock.as_utc(now), Notice.withdrawn_at.is_(None))


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
    published_at: dt.datetime  # UTC
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
                db.session.add(NoticeRead(notice_id=notice.id, auditor_id=auditor.id, read_at=clock.as_utc(now)))
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
    PDF attached, one from the regulator. `now` is aware, or naive meaning UTC."""
    existing = set(db.session.scalars(select(Notice.title).where(Notice.title.in_(DEMO_TITLES))))
    made = []
    moment = clock.as_utc(now)
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


# --- the body's staff (the console) -----------------------------------------------------

CONSOLE_PER_PAGE = 20
RECEIPTS_PER_PAGE = 25
FILES_PER_REQUEST = 5
READ_FILTERS = ("all", "read", "unread")


def _local(moment: Optional[dt.datetime]) -> Optional[str]:
    """A UTC time on the body's clock, for the audit log (ISO with its offset)."""
    if moment is None:
        return None
    return clock.local(moment).isoformat(timespec="minutes")


def state(notice: Notice, now: dt.datetime) -> str:
    return notice_body.state_of(notice.published_at, notice.withdrawn_at, clock.as_utc(now))


def _snapshot(notice: Notice, now: dt.datetime) -> dict:
    return {"title": notice.title, "format": notice.body_format, "state": state(notice, now),
            "published_at": _local(notice.published_at), "withdrawn_at": _local(notice.withdrawn_at),
            "attachments": [item.filename for item in notice.attachments]}


def _target(notice: Notice) -> str:
    return f"notice:{notice.id} {notice.title}"


def _scheduled_utc(local_text: str, now: dt.datetime) -> dt.datetime:
    try:
        return notice_body.checked_schedule(local_text, clock.DEFAULT_ZONE, clock.as_utc(now))
    except notice_body.ScheduleError as error:
        raise NoticeRefused(error.code) from None


WRITE_MODES = ("draft", "now", "at")


def write_notice(by: Staff, *, title: str, body: str, body_format: str, files: Sequence[tuple[str, bytes]],
                 mode: str, local_time: str = "", now: dt.datetime, address: str,
                 store: Optional[PhotoStore] = None) -> Notice:
    """A notice of the staff member's body: kept as a draft, published now, or scheduled for
    `local_time` (the body's clock). Logged with what it became (notice_created,
    notice_published or notice_scheduled). NoticeRefused before anything is written."""
    if mode not in WRITE_MODES:
        raise NoticeRefused("unknown_mode")
    if len(files) > FILES_PER_REQUEST:
        raise NoticeRefused("too_many_files", limit=FILES_PER_REQUEST)
    notice, prepared = _new_notice(by.agency, title, body, body_format, files, None)
    when = clock.as_utc(now)
    if mode == "at":
        when = _scheduled_utc(local_time, now)
    notice.published_at = None if mode == "draft" else when
    _store_files(notice, prepared, store)
    db.session.add(notice)
    db.session.flush()
    action = {"draft": "notice_created", "now": "notice_published", "at": "notice_scheduled"}[mode]
    audit.record(audit.actor_for(by, address), action, target=_target(notice), before=None,
                 after=_snapshot(notice, now))
    db.session.commit()
    return notice


def _change(by: Staff, notice: Notice, allowed: frozenset, action: str, now: dt.datetime, address: str, apply) -> None:
    """One state change: refused ("wrong_state") unless the notice's state is in `allowed`;
    logged with before and after in the same commit."""
    if state(notice, now) not in allowed:
        raise NoticeRefused("wrong_state", state=state(notice, now))
    before = _snapshot(notice, now)
    apply()
    audit.record(audit.actor_for(by, address), action, target=_target(notice), before=before,
                 after=_snapshot(notice, now))
    db.session.commit()


def edit_text(by: Staff, notice: Notice, *, title: str, body: str, body_format: str, now: dt.datetime,
              address: str) -> bool:
    """A draft's or a scheduled notice's title and text corrected (once auditors may have
    read it, it is withdrawn and written anew instead). Logged with the text before and
    after; False (and nothing logged) when nothing changed."""
    title, body = _checked_text(title, body, body_format)
    if (title, body, body_format) == (notice.title, notice.body, notice.body_format):
        return False
    if state(notice, now) not in notice_body.CAN_EDIT:
        raise NoticeRefused("wrong_state", state=state(notice, now))
    before = {**_snapshot(notice, now), "body": notice.body}
    notice.title, notice.body, notice.body_format = title, body, body_format
    audit.record(audit.actor_for(by, address), "notice_changed", target=_target(notice), before=before,
                 after={**_snapshot(notice, now), "body": notice.body})
    db.session.commit()
    return True


def publish_now(by: Staff, notice: Notice, *, now: dt.datetime, address: str) -> None:
    """A draft or scheduled notice is published at `now`."""
    def apply():
        notice.published_at = clock.as_utc(now)
    _change(by, notice, notice_body.CAN_PUBLISH, "notice_published", now, address, apply)


def schedule(by: Staff, notice: Notice, local_time: str, *, now: dt.datetime, address: str) -> None:
    """A draft or scheduled notice is (re)scheduled for `local_time` on the body's clock."""
    when = _scheduled_utc(local_time, now)

    def apply():
        notice.published_at = when
    _change(by, notice, notice_body.CAN_SCHEDULE, "notice_scheduled", now, address, apply)


def withdraw(by: Staff, notice: Notice, *, now: dt.datetime, address: str) -> None:
    """Auditors no longer see it (nor its attachments); its read receipts stay."""
    def apply():
        notice.withdrawn_at = clock.as_utc(now)
    _change(by, notice, notice_body.CAN_WITHDRAW, "notice_withdrawn", now, address, apply)


def add_attachments(by: Staff, notice: Notice, files: Sequence[tuple[str, bytes]], *, now: dt.datetime,
                    address: str, store: Optional[PhotoStore] = None) -> None:
    """More files on a notice not withdrawn, with the same checks as a new notice's."""
    if not files:
        raise NoticeRefused("no_files")
    if len(files) > FILES_PER_REQUEST:
        raise NoticeRefused("too_many_files", limit=FILES_PER_REQUEST)
    prepared = _prepared(files, max_attachment_bytes())
    _change(by, notice, notice_body.CAN_ATTACH, "notice_attachment_added", now, address,
            lambda: _store_files(notice, prepared, store))


def body_attachment(agency_id: int, notice_id: int, attachment_id: int) -> Optional[NoticeAttachment]:
    """An attachment of one of the body's notices (any state), or None."""
    return db.session.scalar(
        select(NoticeAttachment).join(Notice, Notice.id == NoticeAttachment.notice_id)
        .where(NoticeAttachment.id == attachment_id, NoticeAttachment.notice_id == notice_id,
               Notice.agency_id == agency_id))


def auditor_count(agency_id: int) -> int:
    return db.session.scalar(select(func.count(Auditor.id)).where(Auditor.agency_id == agency_id)) or 0


def _reads_by_body(agency_id: int, notice_ids: Sequence[int]) -> dict[int, int]:
    """How many of the body's auditors opened each notice."""
    if not notice_ids:
        return {}
    rows = db.session.execute(
        select(NoticeRead.notice_id, func.count(NoticeRead.id))
        .join(Auditor, Auditor.id == NoticeRead.auditor_id)
        .where(NoticeRead.notice_id.in_(notice_ids), Auditor.agency_id == agency_id)
        .group_by(NoticeRead.notice_id))
    return {notice_id: count for notice_id, count in rows}


@dataclass(frozen=True)
class ConsoleRow:
    notice: Notice
    state: str
    readers: int


@dataclass(frozen=True)
class ConsolePage:
    rows: list[ConsoleRow]
    page: int
    pages: int
    total: int
    auditors: int  # the body's auditors: "read by n of m"


def console_page(agency_id: int, asked_page: int, now: dt.datetime, per_page: int = CONSOLE_PER_PAGE) -> ConsolePage:
    """One page of the body's notices, the latest written first (paginated in the database)."""
    query = select(Notice).where(Notice.agency_id == agency_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    at = page_within(asked_page, total, per_page)
    found = list(db.session.scalars(query.order_by(Notice.id.desc()).limit(per_page).offset(at.offset)))
    reads = _reads_by_body(agency_id, [notice.id for notice in found])
    rows = [ConsoleRow(notice, state(notice, now), reads.get(notice.id, 0)) for notice in found]
    return ConsolePage(rows, at.number, at.pages, total, auditor_count(agency_id))


def readers(notice: Notice) -> int:
    return _reads_by_body(notice.agency_id, [notice.id]).get(notice.id, 0)


@dataclass(frozen=True)
class Receipt:
    auditor: Auditor
    read_at: Optional[dt.datetime]  # UTC; None: not read


@dataclass(frozen=True)
class ReceiptPage:
    rows: list[Receipt]
    page: int
    pages: int
    total: int
    which: str


def receipt_page(notice: Notice, which: str, asked_page: int, per_page: int = RECEIPTS_PER_PAGE) -> ReceiptPage:
    """The body's auditors with when each first opened `notice` (readers first, in the order
    they read it; then those who have not, by name); `which` is all, read or unread."""
    which = which if which in READ_FILTERS else "all"
    query = (select(Auditor, NoticeRead.read_at)
             .outerjoin(NoticeRead, and_(NoticeRead.auditor_id == Auditor.id, NoticeRead.notice_id == notice.id))
             .where(Auditor.agency_id == notice.agency_id))
    if which == "read":
        query = query.where(NoticeRead.id.is_not(None))
    elif which == "unread":
        query = query.where(NoticeRead.id.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    at = page_within(asked_page, total, per_page)
    rows = db.session.execute(
        query.order_by(NoticeRead.read_at.is_(None), NoticeRead.read_at, Auditor.name, Auditor.id)
        .limit(per_page).offset(at.offset))
    return ReceiptPage([Receipt(person, read_at) for person, read_at in rows], at.number, at.pages, total, which)
