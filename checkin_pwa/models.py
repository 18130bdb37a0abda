"""Typed SQLAlchemy 2.0 models. Every time is a UtcDateTime (timestamps.py): aware UTC."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    LargeBinary,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    true,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .domain import clock, offline
from .extensions import db
from .timestamps import UtcDateTime, keep_attributes_aware




class Agency(db.Model):
    """A certification body (认证机构)."""

    __tablename__ = "agency"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The contact person the regulator asks each body for (R18), filled in on the console.
    contact_name: Mapped[Optional[str]] = mapped_column(String(100))
    contact_phone: Mapped[Optional[str]] = mapped_column(String(50))
    contact_email: Mapped[Optional[str]] = mapped_column(String(200))
    # A change of an auditor's login number waits for a staff member's approval
    # (PhoneChangeRequest); off: it applies at once.
    phone_change_approval: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="agency")

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_name and self.contact_phone and self.contact_email)


class ApiToken(db.Model):
    """A bearer token a body uses for the plan import API; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the token is for, as its maker named it (None: made by the CLI without a name).
    name: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    # The staff member who made it on the console; None: made on the command line.
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    revoked_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    # The last API request with the token (written at most once a minute) and its address.
    last_used_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    last_used_from: Mapped[Optional[str]] = mapped_column(String(64))

    agency: Mapped[Agency] = relationship(back_populates="tokens")
    created_by: Mapped[Optional["Staff"]] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[Optional["Staff"]] = relationship(foreign_keys=[revoked_by_id])


class Auditor(UserMixin, db.Model):
    """An auditor's account; the login is the mobile number (R1)."""

    __tablename__ = "auditor"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[str] = mapped_column(String(20), default="id_card")
    id_number: Mapped[Optional[str]] = mapped_column(String(64))
    agency_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agency.id"))
    password_hash: Mapped[str] = mapped_column(String(256))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change so other sessions of the account end.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    # R1 personal page: the avatar as stored by the photo store (a re-encoded square JPEG).
    avatar_key: Mapped[Optional[str]] = mapped_column(String(128))
    avatar_updated_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    # Disabled by the body's staff (R18): no login, no session; records and team places stay.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_login_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)

    agency: Mapped[Optional[Agency]] = relationship()

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class EndedSession(db.Model):
    """A login session ended by logging out (R1): a copy of its cookie made before is
    refused (auth_loader). Kept until such a copy would have expired anyway."""

    __tablename__ = "ended_session"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class RateLimitCounter(db.Model):
    """A throttle's count for one key in its current window (checkin_pwa.limits_storage):
    in the database, so every worker and host counts once."""

    __tablename__ = "rate_limit_counter"
    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # Unix time, as the limiter counts


class SharedSetting(db.Model):
    """A fact every host of one installation must agree on, in the database they share
    (checkin_pwa.production keeps the SECRET_KEY's fingerprint here)."""

    __tablename__ = "shared_setting"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Enterprise(db.Model):
    """An audited enterprise (受审核企业), by name within a body."""

    __tablename__ = "enterprise"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[Optional[str]] = mapped_column(String(100))
    phone: Mapped[Optional[str]] = mapped_column(String(50))


class AuditPlan(db.Model):
    """An audit plan (审核计划) as reported by the body; plan_no is unique per body."""

    __tablename__ = "audit_plan"
    __table_args__ = (
        UniqueConstraint("agency_id", "plan_no"),
        # A body's plans by their end: today's board and its weekly chart read a few days or
        # weeks of one body among a year of all (without it, the agency_id of the unique
        # constraint above reads every plan of the body).
        Index("ix_audit_plan_agency_end", "agency_id", "end_utc"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    plan_no: Mapped[str] = mapped_column(String(64))
    project_code: Mapped[str] = mapped_column(String(64))
    project_levels: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    certificate_no: Mapped[Optional[str]] = mapped_column(String(64))
    activity: Mapped[Optional[str]] = mapped_column(String(100))
    start_utc: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    end_utc: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    # The offset the body wrote the times in, and the zone used for "today" (R2).
    utc_offset_minutes: Mapped[int] = mapped_column(Integer, default=480)
    timezone: Mapped[str] = mapped_column(String(64), default=clock.DEFAULT_ZONE_NAME)
    region: Mapped[Optional[str]] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(20), default="onsite")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    remarks: Mapped[Optional[str]] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="valid")
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)

    agency: Mapped[Agency] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    sites: Mapped[list[PlanSite]] = relationship(
        back_populates="plan", order_by="PlanSite.position", cascade="all, delete-orphan"
    )
    team: Mapped[list[TeamMember]] = relationship(
        back_populates="plan", order_by="TeamMember.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[CheckEvent]] = relationship(
        back_populates="plan", order_by="CheckEvent.server_time"
    )


class PlanChange(db.Model):
    """One change of a plan after it was first imported (R19): when (the server's clock),
    who (a snapshot: the staff member, or the import's channel), what (each field's before
    and after, services.plan_changes) and why. Append only, like the audit log."""

    __tablename__ = "plan_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("audit_plan.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    # console | api | cli | upload: how the change came (the words are the web layer's).
    source: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[Optional[str]] = mapped_column(String(140))
    # [{"field": "start", "before": ..., "after": ...}, ...] in domain.plan_changes.FIELDS order.
    changes: Mapped[list] = mapped_column(JSON, default=list)
    reason: Mapped[Optional[str]] = mapped_column(Text)


@db.event.listens_for(PlanChange, "before_update")
@db.event.listens_for(PlanChange, "before_delete")
def _plan_history_is_append_only(mapper, connection, target):
    raise PermissionError("a plan's history is append-only")


class PlanSite(db.Model):
    """One audit address of a plan; lat/lon are WGS-84, None when not located (R5, R15)."""

    __tablename__ = "plan_site"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("audit_plan.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[Optional[float]] = mapped_column(Float)
    lon: Mapped[Optional[float]] = mapped_column(Float)

    plan: Mapped[AuditPlan] = relationship(back_populates="sites")


class TeamMember(db.Model):
    """An auditor on a plan's team, with a role (R3)."""

    __tablename__ = "team_member"
    __table_args__ = (
        UniqueConstraint("plan_id", "auditor_id"),
        # An auditor's plans (tasks, history, the calendar, their filters' options) read,
        # counted and paged from these indexes alone, however many plans the auditor has had.
        Index("ix_team_member_auditor_end", "auditor_id", "plan_end_utc", "plan_start_utc", "plan_id"),
        Index("ix_team_member_auditor_enterprise", "auditor_id", "plan_enterprise_id", "plan_end_utc", "plan_start_utc", "plan_id"),
        Index("ix_team_member_auditor_levels", "auditor_id", "plan_levels", "plan_end_utc", "plan_start_utc", "plan_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("audit_plan.id"), index=True)
    auditor_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"))
    role: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Copies of the plan's start_utc, end_utc, enterprise_id and project_levels (as JSON
    # text), kept equal by the events below and by the plan import's bulk write (copy_plan_columns).
    plan_start_utc: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    plan_end_utc: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    plan_enterprise_id: Mapped[Optional[int]] = mapped_column(Integer)
    plan_levels: Mapped[Optional[str]] = mapped_column(Text)

    plan: Mapped[AuditPlan] = relationship(back_populates="team")
    auditor: Mapped[Auditor] = relationship()


def _plan_columns(plan_id):
    """The values TeamMember copies, read from the plan row `plan_id` (a column or a value)."""
    plans = AuditPlan.__table__
    return {name: db.select(column).where(plans.c.id == plan_id).scalar_subquery() for name, column in (
        ("plan_start_utc", plans.c.start_utc), ("plan_end_utc", plans.c.end_utc),
        ("plan_enterprise_id", plans.c.enterprise_id), ("plan_levels", db.cast(plans.c.project_levels, Text)))}


def copy_plan_columns(plan_ids):
    """The statement copying the plans `plan_ids` onto their team rows."""
    team = TeamMember.__table__
    return team.update().where(team.c.plan_id.in_(plan_ids)).values(**_plan_columns(team.c.plan_id))


@db.event.listens_for(TeamMember, "before_insert")
def _team_row_copies_its_plan(mapper, connection, target):
    """The plan's row is written first (even in the same flush), so it is read from there."""
    for name, value in _plan_columns(target.plan_id).items():
        setattr(target, name, value)


@db.event.listens_for(AuditPlan, "after_update")
def _team_rows_follow_their_plan(mapper, connection, target):
    connection.execute(copy_plan_columns([target.id]))


class CheckEvent(db.Model):
    """The team's record of one check-in (in) or check-out (out): see shared/docs/evidence.md.

    Never edited in place. At most one event per plan and kind counts for the team
    (a partial unique index), so two members signing at once cannot both win.
    """

    __tablename__ = "check_event"
    __table_args__ = (
        Index(
            "uq_check_event_team_record",
            "plan_id",
            "kind",
            unique=True,
            sqlite_where=text("counts_for_team = 1"),
            postgresql_where=text("counts_for_team"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("audit_plan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    signer_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"))
    group_key: Mapped[Optional[str]] = mapped_column(String(36), index=True)
    counts_for_team: Mapped[bool] = mapped_column(Boolean, default=True)

    server_time: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    device_time: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    device_time_sent: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    clock_skew_s: Mapped[Optional[float]] = mapped_column(Float)
    queued_offline: Mapped[bool] = mapped_column(Boolean, default=False)

    device_lat: Mapped[float] = mapped_column(Float)
    device_lon: Mapped[float] = mapped_column(Float)
    device_accuracy_m: Mapped[Optional[float]] = mapped_column(Float)
    device_position_time: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)

    chosen_lat: Mapped[float] = mapped_column(Float)
    chosen_lon: Mapped[float] = mapped_column(Float)
    pin_offset_m: Mapped[float] = mapped_column(Float, default=0.0)

    nearest_site_id: Mapped[Optional[int]] = mapped_column(ForeignKey("plan_site.id"))
    nearest_site_distance_m: Mapped[Optional[float]] = mapped_column(Float)
    site_not_located: Mapped[bool] = mapped_column(Boolean, default=False)
    warning_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)

    idempotency_key: Mapped[Optional[str]] = mapped_column(String(64))
    # Rule outcomes, each {"code": ..., plus its numbers}: see domain.rules.
    flags: Mapped[list] = mapped_column(JSON, default=list)
    # The login session it came with (services.presence.session_ref): an event sent later is
    # set beside that session's OnlineStretch rows (domain.anomalies.late_sends).
    session_ref: Mapped[Optional[str]] = mapped_column(String(32))

    plan: Mapped[AuditPlan] = relationship(back_populates="events")
    signer: Mapped[Auditor] = relationship()
    nearest_site: Mapped[Optional[PlanSite]] = relationship()


class Photo(db.Model):
    """A meeting or site photo (R8) and the evidence read from it: see evidence.md.

    The received file is kept as private evidence (never served as uploaded); a display
    copy and a thumbnail are made from it. Deleting hides a photo from the team and frees
    its place in the group, but keeps the row and the evidence file (deleted_at, deleted_by):
    nothing an auditor sent is lost.
    """

    __tablename__ = "photo"
    __table_args__ = (
        # The same bytes at most once in a group of a plan (deleted photos aside), however
        # many requests bring them at once: the database decides, not a check before the insert.
        Index(
            "uq_photo_plan_group_bytes",
            "plan_id",
            "group",
            "sha256_received",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("audit_plan.id"), index=True)
    group: Mapped[str] = mapped_column(String(8))  # first | last | other
    uploader_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)

    sha256_original: Mapped[Optional[str]] = mapped_column(String(64), index=True)  # from the phone
    sha256_received: Mapped[str] = mapped_column(String(64), index=True)
    bytes_received: Mapped[int] = mapped_column(Integer)
    bytes_original: Mapped[Optional[int]] = mapped_column(Integer)  # as the phone reported it
    format: Mapped[str] = mapped_column(String(8))  # jpeg | png | webp | heif
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[Optional[str]] = mapped_column(String(120))  # cleaned, for display only

    evidence_key: Mapped[str] = mapped_column(String(128))
    display_key: Mapped[str] = mapped_column(String(128))
    thumb_key: Mapped[str] = mapped_column(String(128))

    # Each EXIF field with its own status (read / absent / unreadable), and the raw tags.
    exif: Mapped[dict] = mapped_column(JSON, default=dict)
    # Verdicts (time, place, duplicate), each ok / mismatch / cannot_check with numbers.
    verdicts: Mapped[dict] = mapped_column(JSON, default=dict)

    deleted_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    deleted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("auditor.id"))

    plan: Mapped[AuditPlan] = relationship()
    uploader: Mapped[Auditor] = relationship(foreign_keys=[uploader_id])


class IdempotencyRecord(db.Model):
    """R17 exactly once: the answer the server gave to one action key of one auditor.

    The phone's outbox sends an action again until it has an answer; the same key with the
    same payload gets the stored answer back and writes nothing. `fingerprint` is the SHA-256
    of the canonical payload (services.idempotency), so the same key with another payload
    is told apart and refused.
    """

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("auditor_id", "key", name="uq_idempotency_auditor_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    auditor_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"))
    key: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # None while the first request with this key is still running (its claim).
    status_code: Mapped[Optional[int]] = mapped_column(Integer)
    # The answer as given: the headers a client acts on (Content-Type, HX-Trigger...), the body.
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)


class Explanation(db.Model):
    """An exception explanation (异常说明, R10) written by a team member for a plan.

    Append only: a new explanation never replaces an older one; the plan shows them all,
    newest first, each with who wrote it and the server time it arrived.
    """

    __tablename__ = "explanation"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("audit_plan.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    # R17: written offline and sent later from the outbox: the phone's clock at writing and at
    # sending are kept beside ours, and the skew they imply (phone minus server, at sending).
    device_time: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    device_time_sent: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    clock_skew_s: Mapped[Optional[float]] = mapped_column(Float)
    queued_offline: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[Optional[str]] = mapped_column(String(64))

    plan: Mapped[AuditPlan] = relationship()
    author: Mapped[Auditor] = relationship()

    @property
    def written_at(self) -> Optional[dt.datetime]:
        """For one sent later: when it was written, on the server's clock (aware UTC): the
        phone's writing time corrected by the skew, never after the receipt (domain.offline)."""
        if not self.queued_offline or self.device_time is None:
            return None
        corrected = offline.corrected_action_time(self.device_time, self.device_time_sent, self.created_at)
        return min(corrected, self.created_at)


class Notice(db.Model):
    """A notice (通知公告, R14) from a body (agency_id set) or the regulator (agency_id None)."""

    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agency.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # "text" (shown as typed) or "markdown" (a safe subset: domain.notice_body)
    body_format: Mapped[str] = mapped_column(String(10), default="text", server_default="text")
    # None: a draft, seen by nobody; ahead of now: scheduled. Auditors see it from this time on.
    published_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime, index=True)
    # Withdrawn by the body's staff: auditors no longer see it; its read receipts stay.
    withdrawn_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)

    agency: Mapped[Optional[Agency]] = relationship()
    attachments: Mapped[list[NoticeAttachment]] = relationship(
        back_populates="notice", order_by="NoticeAttachment.id", cascade="all, delete-orphan"
    )


class NoticeAttachment(db.Model):
    """A file attached to a notice, kept in the file store under `storage_key`."""

    __tablename__ = "notice_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128))

    notice: Mapped[Notice] = relationship(back_populates="attachments")


class NoticeRead(db.Model):
    """When an auditor first opened a notice (unread count on the home page)."""

    __tablename__ = "notice_read"
    __table_args__ = (UniqueConstraint("notice_id", "auditor_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    auditor_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"), index=True)
    read_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)


class VerificationCode(db.Model):
    """A one-time SMS code (R1 §4.1-4.3): 6 digits, 5 minutes, 5 tries; only its hash is kept.

    `purpose` is change_password | reset_password | change_phone; `phone` is where it was
    sent (the new number for change_phone). Rows are kept after use as the sending record
    that limits resends.
    """

    __tablename__ = "verification_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    auditor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("auditor.id"))
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)


# --- the management end (R18) ---------------------------------------------------------------

class PhoneChangeRequest(db.Model):
    """An auditor's change of login number (R1 §4.3, the new number proved by a code), held
    until a staff member of the body decides it while the body's `phone_change_approval` is
    on. `state`: pending | approved | refused | replaced (a later request of the same
    auditor took its place, or a change applied at once). The auditor keeps logging in with
    `old_phone` until approval; `outcome_seen_at` is when they were shown the decision."""

    __tablename__ = "phone_change_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    auditor_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"), index=True)
    old_phone: Mapped[str] = mapped_column(String(20))
    new_phone: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[Optional[str]] = mapped_column(String(200))
    outcome_seen_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)

    auditor: Mapped[Auditor] = relationship()


class Staff(db.Model):
    """A body's staff member on the management end; separate from auditors, whose session
    and pages are another world (console.guard)."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    # None for the regulator (role "regulator"), who belongs to no body.
    agency_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agency.id"), index=True, nullable=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))  # domain.staff_roles.Role values
    password_hash: Mapped[str] = mapped_column(String(256))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Base32 TOTP secret; None until the second factor is set up at first login.
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64))
    # The last TOTP time step accepted: a code is good once (no replay).
    totp_last_step: Mapped[Optional[int]] = mapped_column(Integer)
    # Bumped on password change, reset, role change or disabling: other sessions end.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    last_login_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)

    agency: Mapped[Optional[Agency]] = relationship()
    recovery_codes: Mapped[list[StaffRecoveryCode]] = relationship(
        back_populates="staff", cascade="all, delete-orphan")


class StaffRecoveryCode(db.Model):
    """A one-time recovery code for the second factor; only its SHA-256 is kept (the
    codes are random, like API tokens, so a slow hash adds nothing)."""

    __tablename__ = "staff_recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)

    staff: Mapped[Staff] = relationship(back_populates="recovery_codes")


class AuditLogEntry(db.Model):
    """One staff action, append-only: nothing updates or deletes a row (the ORM refuses,
    below; no route does). `actor` is a snapshot (name and phone, or the number typed at a
    failed login), so the entry reads the same after the account changes."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now, index=True)
    agency_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agency.id"), index=True)
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(140))
    address: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[Optional[str]] = mapped_column(String(140))
    before: Mapped[Optional[dict]] = mapped_column(JSON)
    after: Mapped[Optional[dict]] = mapped_column(JSON)


@db.event.listens_for(AuditLogEntry, "before_update")
@db.event.listens_for(AuditLogEntry, "before_delete")
def _audit_log_is_append_only(mapper, connection, target):
    raise PermissionError("the audit log is append-only")


class PlanUpload(db.Model):
    """A plan document a staff member uploaded on the console, kept between its dry run
    and its commit (the bytes, with their SHA-256), and the job working on it: its state,
    phase, done of total and a heartbeat, in the database so that every worker process
    answers the page's polling. Belongs to its body and its uploader; expires."""

    __tablename__ = "plan_upload"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    address: Mapped[str] = mapped_column(String(64))  # where it came from, for the audit log
    filename: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))  # json | xlsx
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[Optional[bytes]] = mapped_column(LargeBinary, deferred=True)  # None once expired
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    # checking -> checked -> committing -> committed; failed when the job could not finish.
    state: Mapped[str] = mapped_column(String(20))
    phase: Mapped[Optional[str]] = mapped_column(String(20))  # waiting | reading | checking | writing
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    # The dry run's findings (counts, plans, problems, digest) and the commit's counts.
    result: Mapped[Optional[dict]] = mapped_column(JSON, deferred=True)
    outcome: Mapped[Optional[dict]] = mapped_column(JSON)


class ExportJob(db.Model):
    """An XLSX export a staff member asked for (services.exports), written by a job of the
    same kind as a plan upload's (services.jobs): state, phase, done of
    total and a heartbeat in the row, so every worker answers the page's polling. The file
    waits in the file store under the key in `path` for its download until the job expires.
    Belongs to its body and asker."""

    __tablename__ = "export_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    address: Mapped[str] = mapped_column(String(64))  # where it was asked from, for the audit log
    dataset: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(8))
    filters: Mapped[dict] = mapped_column(JSON, default=dict)  # the plan list's query arguments
    locale: Mapped[str] = mapped_column(String(10))  # the headings' language
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    # exporting -> ready; failed when the job could not finish.
    state: Mapped[str] = mapped_column(String(20))
    phase: Mapped[Optional[str]] = mapped_column(String(20))  # waiting | reading | writing
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    rows: Mapped[Optional[int]] = mapped_column(Integer)
    path: Mapped[Optional[str]] = mapped_column(String(300))  # the file's store key, None once gone
    outcome: Mapped[Optional[dict]] = mapped_column(JSON)


class ExceptionVerification(db.Model):
    """The body's verification of a plan's exceptions (异常核实, R20) by a staff member.

    Append only: a later verification adds a row and the newest is the current one; nothing
    updates or deletes a row (the ORM refuses, below). `exceptions` are the R10 codes the
    plan had when it was recorded, `deadline` the deadline then in force and `late` whether
    it came after it. `form_token` is the form's one-time key: the same form posted twice
    (a double click, a retry) is stored once."""

    __tablename__ = "exception_verification"
    __table_args__ = (UniqueConstraint("plan_id", "form_token"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("audit_plan.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    result: Mapped[str] = mapped_column(String(20))  # domain.audit_exceptions.VERIFICATION_RESULTS
    text: Mapped[str] = mapped_column(Text, default="")
    exceptions: Mapped[list] = mapped_column(JSON, default=list)
    deadline: Mapped[dt.date] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=clock.now)
    form_token: Mapped[str] = mapped_column(String(64))

    staff: Mapped[Staff] = relationship()


@db.event.listens_for(ExceptionVerification, "before_update")
@db.event.listens_for(ExceptionVerification, "before_delete")
def _verifications_are_append_only(mapper, connection, target):
    raise PermissionError("verifications are append-only")


class OpenReview(db.Model):
    """A plan that may need the body's verification (R20): not cancelled, not remote, not
    verified, and its record lacks a team check-in or check-out or a meeting's photos, or
    has a team event far from the sites (services.open_reviews keeps it in step on every
    flush). A marker, not the decision: R10 still judges each plan it lists once its audit
    is over, and plans with a complete record never have a row, so the queue reads what
    needs doing rather than the body's whole history."""

    __tablename__ = "open_review"
    plan_id: Mapped[int] = mapped_column(ForeignKey("audit_plan.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)


class OnlineStretch(db.Model):
    """When an auditor's login session was seen online (services.presence): one row per
    stretch of the session's own requests (not the outbox's replays, not the service
    worker's fetches), each less than domain.anomalies.SEEN_STRETCH_GAP after the one
    before; `last_at` is moved on at most once a minute."""

    __tablename__ = "online_stretch"
    __table_args__ = (Index("ix_online_stretch_session_last", "session_ref", "last_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_ref: Mapped[str] = mapped_column(String(32))
    auditor_id: Mapped[int] = mapped_column(ForeignKey("auditor.id"), index=True)
    first_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


keep_attributes_aware(db.Model)
