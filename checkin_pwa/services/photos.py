"""Photo evidence (R8, R16): upload, soft delete, what the plan page shows, orphan sweep.

Where the photo's bytes, domain.evidence (EXIF), domain.photo_checks (verdicts), the
database and the PhotoStore meet. No Flask request in here: callers pass the auditor, the
bytes and the server's clock, and get a Photo or a Refusal with a code the web layer words.

An upload, in order (each step refuses before anything is written):
  1. R16: the plan must be the auditor's (else "not_found", like a plan that does not exist);
     a remote or cancelled plan takes no photos;
  2. bytes: not empty, at most PHOTO_MAX_BYTES; the same photo already in this group is a
     retry (R17: exactly once) and answers the stored one (two at once: the database's
     unique index lets one row in, the other answers it); then the group must have room
     (first/last 3, other 9);
  3. type from the bytes only (magic numbers), never the name or Content-Type;
  4-6. services.imaging, in a child process with CPU, memory and time limits: a JPEG of more
     scans than a camera writes or a HEIC cut short is refused before it starts; there, the
     EXIF read once (never raises), the size from the header (at most PHOTO_MAX_PIXELS, each
     side and the ratio capped) before any decoding, the full decode (a truncated or corrupt
     image is refused: "retake the photo") and the display copies; the EXIF is then judged
     against the team's check-in/out;
  7. files first (evidence as received, display copy, thumbnail), the row last in one commit;
     if the commit fails the files just written are removed. A crash between the two
     leaves only files no row points at: `sweep_orphans` removes them later.

Verdicts are judged at upload and again each time the photos are shown (judging is pure and
cheap). The stored verdicts are updated when the facts they rest on changed: the team
checked out after a last-meeting photo was sent, or the same photo turned up in another
plan. The EXIF read at upload is never re-read or changed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..domain.image_format import sniff_format
from ..domain import clock, evidence as exif_evidence
from ..domain import geo, photo_checks, rules
from ..extensions import db
from ..models import AuditPlan, Auditor, ExportJob, NoticeAttachment, Photo, TeamMember
from ..storage import PhotoStore, new_key
from . import imaging
from .checkin import plan_facts, team_record
from .plan_access import PLAN_LOADING, on_team, visible_plan
from .outcomes import Refusal

log = logging.getLogger(__name__)

# R8: how many photos each group holds, and how many it needs.
GROUPS = ("first", "last", "other")
GROUP_MAX = {"first": 3, "last": 3, "other": 9}
GROUP_MIN = {"first": 1, "last": 1, "other": 0}

DISPLAY_LONG_SIDE = 1600
THUMB_LONG_SIDE = 320
# The display copy: a phone's shrunk JPEG that fits is kept as sent (imaging.Copy); the
# thumbnail is made from the display copy's pixels.
COPIES = (("display", DISPLAY_LONG_SIDE), ("fit", THUMB_LONG_SIDE))
JPEG_QUALITY = imaging.JPEG_QUALITY
NAME_MAX = 120  # Photo.original_name

# Our format name -> the evidence file's extension.
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "heif": "heic"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# What domain.rules needs of a plan (its team, its record), loaded with it.



@dataclass(frozen=True)
class Limits:
    max_bytes: int
    picture: imaging.Limits  # what decoding may cost, and the pixel and shape caps

    @property
    def max_pixels(self) -> int:
        return self.picture.max_pixels

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(int(config["PHOTO_MAX_BYTES"]), imaging.Limits.from_config(config))


# --- what the bytes are -----------------------------------------------------------------

def clean_name(name: Optional[str]) -> Optional[str]:
    """The phone's file name, for display only: the last path part, no control or format
    characters, at most NAME_MAX characters (the extension kept). Never used for a key."""
    if not isinstance(name, str):
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if base in ("", ".", ".."):
        return None
    if len(base) > NAME_MAX:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 10 and stem:
            base = stem[: NAME_MAX - len(ext) - 1] + "." + ext
        else:
            base = base[:NAME_MAX]
    return base


def clean_sha256(value: Optional[str]) -> Optional[str]:
    """The phone's SHA-256 of the original, if it is one (64 hex); evidence, never refused."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if _HEX64.match(value) else None


def clean_size(value) -> Optional[int]:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


# --- judging ---------------------------------------------------------------------------------

def _same_photo_plans(plan: AuditPlan, received_sha: str, original_sha: Optional[str],
                      uploader_id: int) -> list[AuditPlan]:
    """The other plans holding the same photo, not deleted (same_photo_plans for one photo)."""
    return same_photo_plans(plan, [(received_sha, original_sha, uploader_id)])[0]


def same_photo_plans(plan: AuditPlan, photos: Sequence[tuple[str, Optional[str], int]]) -> list[list[AuditPlan]]:
    """For each photo of the plan, given as (received SHA-256, claimed original SHA-256,
    uploader id), the other plans holding the same photo, not deleted, by plan number; in
    two statements (and the plans' facts) however many photos. Across plans only what the
    server can vouch for is compared: the SHA-256 of the bytes it received with the others'
    received ones. The phone's claimed SHA-256 of the original is compared only with photos
    the same account sent: a claim can then flag only its sender's own photos, never
    another team's (anyone can claim any hash)."""
    if not photos:
        return []
    claimed: dict[int, set[str]] = {}
    for received, original, uploader in photos:
        if original:
            claimed.setdefault(uploader, set()).update({received, original})
    same = [Photo.sha256_received.in_(sorted({received for received, _, _ in photos}))]
    same += [and_(Photo.uploader_id == uploader,
                  or_(Photo.sha256_received.in_(sorted(hashes)), Photo.sha256_original.in_(sorted(hashes))))
             for uploader, hashes in claimed.items()]
    rows = db.session.execute(
        select(Photo.plan_id, Photo.sha256_received, Photo.sha256_original, Photo.uploader_id)
        .where(Photo.plan_id != plan.id, Photo.deleted_at.is_(None), or_(*same))
    ).all()
    if not rows:
        return [[] for _ in photos]
    plans = {other.id: other for other in db.session.scalars(
        select(AuditPlan).where(AuditPlan.id.in_({row.plan_id for row in rows})).options(*PLAN_LOADING))}
    found = []
    for received, original, uploader in photos:
        hashes = {received, original} if original else set()
        ids = {row.plan_id for row in rows
               if row.sha256_received == received
               or (hashes and row.uploader_id == uploader
                   and (row.sha256_received in hashes or row.sha256_original in hashes))}
        found.append(sorted((plans[i] for i in ids), key=lambda other: (other.plan_no, other.id)))
    return found


def _same_audit(plan: AuditPlan, other: AuditPlan) -> bool:
    return rules.same_audit(plan_facts(plan), plan_facts(other))


def _duplicate_plans(plan: AuditPlan, received_sha: str, original_sha: Optional[str], uploader_id: int) -> list[str]:
    """Numbers of the other plans holding the same photo, but for the plans of the same
    combined audit (R7): their shared meeting photographed once is no duplicate."""
    return [other.plan_no for other in _same_photo_plans(plan, received_sha, original_sha, uploader_id)
            if not _same_audit(plan, other)]


def judge_photo(plan: AuditPlan, group: str, found: exif_evidence.PhotoEvidence,
                duplicate_plan_nos: list[str]) -> dict:
    """The verdicts (JSON) of one photo against the team's record as it stands now."""
    checked_in, checked_out = team_record(plan, "in"), team_record(plan, "out")
    verdicts = photo_checks.judge(
        found,
        group=group,
        plan_start=clock.as_utc(plan.start_utc),
        plan_end=clock.as_utc(plan.end_utc),
        plan_zone=plan.timezone or clock.DEFAULT_ZONE_NAME,
        checkin_time=clock.as_utc(checked_in.server_time) if checked_in else None,
        checkout_time=clock.as_utc(checked_out.server_time) if checked_out else None,
        checkin_point=geo.Point(checked_in.chosen_lat, checked_in.chosen_lon) if checked_in else None,
        sites=geo.points((site.lat, site.lon) for site in plan.sites),
        duplicate_plan_nos=duplicate_plan_nos,
        # R17: an event queued offline happened at its device time, not at its receipt.
        checkin_device_time=_offline_action_time(checked_in),
        checkout_device_time=_offline_action_time(checked_out),
    )
    return verdicts.to_json()


def _offline_action_time(event) -> Optional[dt.datetime]:
    if event is None or not event.queued_offline or event.device_time is None:
        return None
    return clock.as_utc(event.device_time)


# --- upload ----------------------------------------------------------------------------------

def _group_count(plan_id: int, group: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Photo)
        .where(Photo.plan_id == plan_id, Photo.group == group, Photo.deleted_at.is_(None))
    )


def _lock_plan(plan_id: int) -> None:
    """Hold the plan's row until this transaction ends, so that one upload at a time counts
    its group and adds to it (PostgreSQL: SELECT ... FOR NO KEY UPDATE, which leaves the
    row's foreign-key checks free; SQLite's single writer needs none)."""
    db.session.execute(select(AuditPlan.id).where(AuditPlan.id == plan_id).with_for_update(key_share=True))


def _same_photo_in_plan(plan: AuditPlan, hashes: Iterable[Optional[str]]) -> Optional[Photo]:
    wanted = sorted({h for h in hashes if h})
    return db.session.scalars(
        select(Photo).where(Photo.plan_id == plan.id, Photo.deleted_at.is_(None),
                            or_(Photo.sha256_received.in_(wanted), Photo.sha256_original.in_(wanted)))
        .order_by(Photo.id)
    ).first()


def _plan_takes_photos(plan: AuditPlan) -> Optional[Refusal]:
    if plan.mode == "remote":
        return Refusal("remote_plan")
    if plan.status == "cancelled":
        return Refusal("plan_cancelled")
    return None


def upload(
    auditor: Auditor,
    plan_id: int,
    group: str,
    file_bytes: Optional[bytes],
    *,
    store: PhotoStore,
    limits: Limits,
    original_sha256: Optional[str] = None,
    original_bytes=None,
    original_name: Optional[str] = None,
    now: dt.datetime,
) -> Union[Photo, Refusal]:
    """One photo for the team's plan (see the module doc for the order of the checks).

    Allowed at any time, also after the audit ended (R8: photos can be added later). The
    same photo sent again to the same group (a retry after a lost answer) gives back the
    photo already stored, and writes nothing.
    """
    plan = visible_plan(auditor, plan_id)
    if plan is None:
        return Refusal("not_found")
    if group not in GROUPS:
        return Refusal("bad_group")
    refused = _plan_takes_photos(plan)
    if refused:
        return refused
    if file_bytes is None:
        return Refusal("no_file")
    if not file_bytes:
        return Refusal("empty")
    if len(file_bytes) > limits.max_bytes:
        return Refusal("too_large", {"size_mb": round(len(file_bytes) / 1024 / 1024, 1),
                                     "limit_mb": round(limits.max_bytes / 1024 / 1024)})

    received_sha = hashlib.sha256(file_bytes).hexdigest()
    original_sha = clean_sha256(original_sha256)
    earlier = _same_photo_in_plan(plan, (received_sha, original_sha))
    if earlier is not None:
        # A retry whose first answer was lost (R17: exactly once), even into a full group.
        if earlier.group == group:
            return earlier
        return Refusal("already_in_plan", {"group": earlier.group})
    if _group_count(plan.id, group) >= GROUP_MAX[group]:
        return Refusal("group_full", {"group": group, "max": GROUP_MAX[group]})
    fmt = sniff_format(file_bytes)
    if fmt is None:
        return Refusal("unsupported_type")

    made = imaging.make(file_bytes, fmt, limits.picture, COPIES)
    if isinstance(made, Refusal):
        return made
    display, thumb = made.copies
    found = made.evidence
    verdicts = judge_photo(plan, group, found, _duplicate_plans(plan, received_sha, original_sha, auditor.id))

    keys = (new_key("evidence", EXTENSIONS[fmt]), new_key("display", "jpg"), new_key("thumb", "jpg"))
    written: list[str] = []
    try:
        for key, data in zip(keys, (file_bytes, display, thumb)):
            store.save(key, data)
            written.append(key)
        photo = Photo(
            plan_id=plan.id,
            group=group,
            uploader_id=auditor.id,
            uploaded_at=clock.as_utc(now),
            sha256_original=original_sha,
            sha256_received=received_sha,
            bytes_received=len(file_bytes),
            bytes_original=clean_size(original_bytes),
            format=fmt,
            width=made.width,
            height=made.height,
            original_name=clean_name(original_name),
            evidence_key=keys[0],
            display_key=keys[1],
            thumb_key=keys[2],
            exif=found.to_json(),
            verdicts=verdicts,
        )
        # Two uploads at once may both have seen room: counted again under the plan's lock,
        # and once more after the insert (SQLite: the second writer sees the first).
        _lock_plan(plan.id)
        if _group_count(plan.id, group) >= GROUP_MAX[group]:
            db.session.rollback()
            _remove(store, written)
            return Refusal("group_full", {"group": group, "max": GROUP_MAX[group]})
        db.session.add(photo)
        db.session.flush()
        if _group_count(plan.id, group) > GROUP_MAX[group]:
            db.session.rollback()
            _remove(store, written)
            return Refusal("group_full", {"group": group, "max": GROUP_MAX[group]})
        db.session.commit()
    except IntegrityError:
        # The same bytes reached this group by another request at the same moment, and its
        # row went in first (uq_photo_plan_group_bytes): that photo is the answer.
        db.session.rollback()
        _remove(store, written)
        earlier = _same_photo_in_plan(plan, (received_sha,))
        if earlier is not None and earlier.group == group:
            return earlier
        log.exception("photo row not written; its files removed")
        return Refusal("try_again")
    except SQLAlchemyError:
        log.exception("photo row not written; removing its files")
        db.session.rollback()
        _remove(store, written)
        return Refusal("try_again")
    except BaseException:
        db.session.rollback()
        _remove(store, written)
        raise
    return photo


def _remove(store: PhotoStore, keys: Iterable[str]) -> None:
    for key in keys:
        try:
            store.delete(key)
        except OSError:  # the sweep takes it later
            log.warning("could not remove %s", key, exc_info=True)


# --- delete, show, serve -------------------------------------------------------------------------

def team_photo(auditor: Auditor, photo_id: int) -> Optional[Photo]:
    """R16: the photo if it is not deleted and its plan's team includes the auditor."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.deleted_at is not None:
        return None
    if visible_plan(auditor, photo.plan_id) is None:
        return None
    return photo


def body_photo(agency_id: Optional[int], photo_id: int, *, any_body: bool = False) -> Optional[Photo]:
    """R16 for staff: the photo if it is not deleted and its plan is the body's own (any
    body's with `any_body`: the regulator's reading)."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.deleted_at is not None or (photo.plan.agency_id != agency_id and not any_body):
        return None
    return photo


def live_photos(plan_id: int) -> list[Photo]:
    """The plan's photos not deleted, in the order they came."""
    return list(db.session.scalars(
        select(Photo).where(Photo.plan_id == plan_id, Photo.deleted_at.is_(None))
        .order_by(Photo.uploaded_at, Photo.id)
    ))


def delete(auditor: Auditor, photo_id: int, now: dt.datetime) -> Union[Photo, Refusal]:
    """Soft delete by a team member: hidden from the team, its place in the group freed,
    row and files kept as evidence. Deleting an already deleted photo of the team again
    answers the same (a double tap)."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or visible_plan(auditor, photo.plan_id) is None:
        return Refusal("not_found")
    if photo.deleted_at is None:
        photo.deleted_at = clock.as_utc(now)
        photo.deleted_by_id = auditor.id
        db.session.commit()
    return photo


@dataclass(frozen=True)
class PhotoView:
    photo: Photo
    verdicts: dict
    evidence: dict  # Photo.exif as stored
    # Projects of the auditor's other plans of the same combined audit holding this photo.
    shared_with: tuple[str, ...] = ()

    @property
    def id(self) -> int:
        return self.photo.id

    def verdict(self, check: str) -> dict:
        value = self.verdicts.get(check) if isinstance(self.verdicts, dict) else None
        return value if isinstance(value, dict) else {}

    @property
    def uploaded_local(self) -> dt.datetime:
        return clock.local(self.photo.uploaded_at, self.photo.plan.timezone)


@dataclass(frozen=True)
class PhotoGroup:
    key: str
    max: int
    min: int
    photos: list[PhotoView]

    @property
    def missing(self) -> bool:
        return len(self.photos) < self.min


@dataclass(frozen=True)
class PhotoSection:
    plan: AuditPlan
    groups: list[PhotoGroup]
    takes_photos: bool
    tolerances: dict
    # The auditor's other plans of the same combined audit: a meeting photo may go to them too.
    combined: tuple[AuditPlan, ...] = ()

    @property
    def views(self) -> list[PhotoView]:
        return [view for group in self.groups for view in group.photos]

    def summary(self) -> dict:
        """Counts of each outcome of each check (photo_checks.summary), for the verdict line."""
        return photo_checks.summary(view.verdicts for view in self.views)


def plan_photos(auditor: Auditor, plan: AuditPlan) -> PhotoSection:
    """The plan's photos by group, not deleted, each judged against the record as it
    stands now (the stored verdicts are brought up to date when they changed)."""
    photos = live_photos(plan.id)
    views: dict[str, list[PhotoView]] = {group: [] for group in GROUPS}
    changed = False
    for photo in photos:
        found = exif_evidence.PhotoEvidence.from_json(photo.exif)
        elsewhere = _same_photo_plans(plan, photo.sha256_received, photo.sha256_original, photo.uploader_id)
        combined = [other for other in elsewhere if _same_audit(plan, other)]
        verdicts = judge_photo(plan, photo.group, found, [other.plan_no for other in elsewhere if other not in combined])
        if verdicts != photo.verdicts:
            photo.verdicts = verdicts
            changed = True
        shared = tuple(other.project_code for other in combined if on_team(auditor, other))
        views.setdefault(photo.group, []).append(PhotoView(photo, verdicts, photo.exif or {}, shared))
    if changed:
        try:
            db.session.commit()
        except SQLAlchemyError:  # shown right anyway; stored next time
            log.warning("photo verdicts not updated", exc_info=True)
            db.session.rollback()
    groups = [PhotoGroup(key, GROUP_MAX[key], GROUP_MIN[key], views.get(key, [])) for key in GROUPS]
    takes_photos = _plan_takes_photos(plan) is None
    return PhotoSection(plan, groups, takes_photos, dict(photo_checks.TOLERANCES),
                        tuple(same_audit_plans(auditor, plan)) if takes_photos else ())


# --- combined audits (R7): one meeting, one photo, every plan of it ------------------------------

MEETING_GROUPS = ("first", "last")


def same_audit_plans(auditor: Auditor, plan: AuditPlan) -> list[AuditPlan]:
    """The auditor's other plans of the plan's combined audit (domain.rules.same_audit) that
    take photos. R16: only plans whose team includes the auditor."""
    candidates = db.session.scalars(
        select(AuditPlan).join(TeamMember, TeamMember.plan_id == AuditPlan.id)
        .where(TeamMember.auditor_id == auditor.id, AuditPlan.enterprise_id == plan.enterprise_id,
               AuditPlan.id != plan.id)
        .options(*PLAN_LOADING).order_by(AuditPlan.start_utc, AuditPlan.id)
    )
    return [other for other in candidates if _plan_takes_photos(other) is None and _same_audit(plan, other)]


def share_with_same_audit(auditor: Auditor, photo: Photo, now: dt.datetime) -> list[tuple[AuditPlan, Union[Photo, Refusal]]]:
    """A meeting photo for each of the auditor's other plans of the same combined audit:
    one row per plan, all pointing at the one stored file and its copies (nothing is sent or
    written twice). A plan already holding the photo keeps what it has (a retry answers the
    same); a plan whose group is full is skipped, and said so. Each plan's row is its own
    commit: one refused plan costs the others nothing."""
    if photo.group not in MEETING_GROUPS or visible_plan(auditor, photo.plan_id) is None:
        return []
    found = exif_evidence.PhotoEvidence.from_json(photo.exif)
    group, received = photo.group, photo.sha256_received
    fields = {name: getattr(photo, name) for name in (
        "sha256_original", "sha256_received", "bytes_received", "bytes_original", "format", "width", "height",
        "original_name", "evidence_key", "display_key", "thumb_key", "exif")}
    results: list[tuple[AuditPlan, Union[Photo, Refusal]]] = []
    for other in same_audit_plans(auditor, photo.plan):
        held = _same_received_in_plan(other.id, received)
        if held is not None:  # one picture cannot be both meetings of a plan
            results.append((other, held if held.group == group else Refusal("already_in_plan", {"group": held.group})))
            continue
        if _group_count(other.id, group) >= GROUP_MAX[group]:
            results.append((other, Refusal("group_full", {"group": group, "max": GROUP_MAX[group]})))
            continue
        copy = Photo(plan_id=other.id, group=group, uploader_id=auditor.id,
                     uploaded_at=clock.as_utc(now), **fields,
                     verdicts=judge_photo(other, group, found,
                                          _duplicate_plans(other, received, fields["sha256_original"], auditor.id)))
        try:
            _lock_plan(other.id)  # counted and added one at a time (see upload)
            if _group_count(other.id, group) >= GROUP_MAX[group]:
                db.session.rollback()
                results.append((other, Refusal("group_full", {"group": group, "max": GROUP_MAX[group]})))
                continue
            db.session.add(copy)
            db.session.flush()
            # Two at once may both have seen room, or both not seen the other's row.
            if _group_count(other.id, group) > GROUP_MAX[group]:
                db.session.rollback()
                results.append((other, Refusal("group_full", {"group": group, "max": GROUP_MAX[group]})))
                continue
            if db.session.scalar(select(func.count()).select_from(Photo).where(
                    Photo.plan_id == other.id, Photo.deleted_at.is_(None), Photo.sha256_received == received)) > 1:
                db.session.rollback()
                results.append((other, _same_received_in_plan(other.id, received) or Refusal("try_again")))
                continue
            db.session.commit()
        except IntegrityError:  # the same bytes went into that group meanwhile (its unique index)
            db.session.rollback()
            results.append((other, _same_received_in_plan(other.id, received) or Refusal("try_again")))
            continue
        except SQLAlchemyError:
            log.exception("shared photo row not written")
            db.session.rollback()
            results.append((other, Refusal("try_again")))
            continue
        results.append((other, copy))
    return results


def _same_received_in_plan(plan_id: int, received_sha: str) -> Optional[Photo]:
    return db.session.scalars(
        select(Photo).where(Photo.plan_id == plan_id, Photo.deleted_at.is_(None), Photo.sha256_received == received_sha)
        .order_by(Photo.id)
    ).first()


# --- orphans ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepResult:
    removed: list[str]
    kept_young: int


def sweep_orphans(store: PhotoStore, older_than: dt.timedelta, now: Optional[dt.datetime] = None) -> SweepResult:
    """Remove files no Photo, NoticeAttachment, Auditor or ExportJob row points at (deleted rows keep theirs:
    evidence), once they are older than `older_than`, so an upload between its files and its row is left alone.
    Left-over temporaries of interrupted writes go the same way."""
    cutoff = clock.as_utc(now or clock.now()) - older_than
    referenced: set[str] = set()
    for row in db.session.execute(select(Photo.evidence_key, Photo.display_key, Photo.thumb_key)):
        referenced.update(row)
    # The store also keeps notice attachments (R14): those are not orphans either.
    referenced.update(db.session.scalars(select(NoticeAttachment.storage_key)))
    # And auditors' avatars (R1).
    referenced.update(db.session.scalars(select(Auditor.avatar_key).where(Auditor.avatar_key.is_not(None))))
    # And XLSX exports waiting for their download (their job removes them when it expires).
    referenced.update(db.session.scalars(select(ExportJob.path).where(ExportJob.path.is_not(None))))
    removed: list[str] = []
    young = 0
    for key, modified in list(store.keys()):
        if key in referenced:
            continue
        if clock.as_utc(modified) > cutoff:
            young += 1
            continue
        try:
            store.delete(key)
        except ValueError:  # not a key: a temporary of an interrupted write, or not ours
            if not store.delete_leftover(key):
                continue
        removed.append(key)
    return SweepResult(removed, young)
