"""Which plans an auditor may see, and how a plan is loaded (R16).

An auditor sees a plan only if its team includes them (`visible_plan`); another team's plan
is answered like one that does not exist. Other teams' plans are loaded only for what the
rules need of them (R7: the same enterprise's plans signed together), and shown by project
alone (services.checkin's module doc).

Every page of a plan reads the same things of it, so every load of plans uses PLAN_LOADING:
the plans with their enterprise, then their teams, events and sites, each row with its
auditor — four statements whatever the number of plans.

No Flask request in here: callers pass the auditor and `now` (aware UTC, the server's clock).
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..domain import clock
from ..extensions import db
from ..models import AuditPlan, Auditor, CheckEvent, TeamMember

PLAN_LOADING = (
    joinedload(AuditPlan.enterprise),
    selectinload(AuditPlan.team).joinedload(TeamMember.auditor),
    selectinload(AuditPlan.events).joinedload(CheckEvent.signer),
    selectinload(AuditPlan.sites),
)


# Built once: a statement built anew on every call costs its construction and its cache
# key again (SQLAlchemy memoizes both on the statement object); the values come as parameters.
_VISIBLE = (
    select(AuditPlan)
    .join(TeamMember, TeamMember.plan_id == AuditPlan.id)
    .where(AuditPlan.id == bindparam("plan_id"), TeamMember.auditor_id == bindparam("auditor_id"))
    .options(joinedload(AuditPlan.enterprise))
)


def _part(relationship, *options):
    """The statement of one of PLAN_LOADING's collections for one plan, in its own order."""
    prop = relationship.property
    (column,) = prop.remote_side
    return (prop.key, select(prop.mapper.class_).where(column == bindparam("plan_id"))
            .options(*options).order_by(*prop.order_by))


# PLAN_LOADING's collections for a single plan. Written out rather than left to
# selectinload: for one parent its loader machinery cost ~0.3 ms a collection against
# ~0.1 ms for the same rows by a plain statement (benchmarks/where_time_goes.py), and every
# page of one plan (a check-in above all) loads one.
_ONE_PLANS_PARTS = (
    _part(AuditPlan.team, joinedload(TeamMember.auditor)),
    _part(AuditPlan.events, joinedload(CheckEvent.signer)),
    _part(AuditPlan.sites),
)


def visible_plan(auditor: Auditor, plan_id: int) -> Optional[AuditPlan]:
    """R16: the plan only if its team includes the auditor; None otherwise (or if absent).
    Loaded as PLAN_LOADING loads plans."""
    plan = db.session.scalar(_VISIBLE, {"plan_id": plan_id, "auditor_id": auditor.id})
    if plan is not None:
        for key, statement in _ONE_PLANS_PARTS:
            set_committed_value(plan, key, db.session.scalars(statement, {"plan_id": plan.id}).all())
    return plan


def on_team(auditor: Auditor, plan: AuditPlan) -> bool:
    """Whether the auditor is on the plan's team (its team loaded)."""
    return any(member.auditor_id == auditor.id for member in plan.team)


def around_today(now: dt.datetime):
    """Plans that can be a task today in any time zone: a local day lies within a day
    of `now` either way, so this window is exact before the per-zone check."""
    moment = clock.as_utc(now)
    day = dt.timedelta(days=1)
    return (AuditPlan.start_utc <= moment + day, AuditPlan.end_utc >= moment - day)


def teams_plans_around_today(auditor: Auditor, now: dt.datetime, *, cancelled: bool = False) -> list[AuditPlan]:
    """The auditor's plans around today (around_today), cancelled or not, by start."""
    status = AuditPlan.status == "cancelled" if cancelled else AuditPlan.status != "cancelled"
    return db.session.scalars(
        select(AuditPlan)
        .join(TeamMember, TeamMember.plan_id == AuditPlan.id)
        .where(TeamMember.auditor_id == auditor.id, status, *around_today(now))
        .options(*PLAN_LOADING)
        .order_by(AuditPlan.start_utc, AuditPlan.id)
    ).all()


def plans_around_today(auditor: Auditor, now: dt.datetime, *, since: dt.timedelta
                       ) -> tuple[list[AuditPlan], list[AuditPlan]]:
    """One load for today's page: the auditor's plans from `since` before `now` to tomorrow
    (any status), and all it loaded: those and the other teams' plans of the same
    enterprises around today (for the R7 together-sets). By start."""
    moment = clock.as_utc(now)
    day = dt.timedelta(days=1)
    mine = select(TeamMember.plan_id).where(TeamMember.auditor_id == auditor.id)
    enterprises = select(AuditPlan.enterprise_id).where(AuditPlan.id.in_(mine), *around_today(now))
    plans = db.session.scalars(
        select(AuditPlan)
        .where(or_(and_(AuditPlan.id.in_(mine), AuditPlan.start_utc <= moment + 2 * day,
                        AuditPlan.end_utc >= moment - since),
                   and_(AuditPlan.enterprise_id.in_(enterprises), *around_today(now))))
        .options(*PLAN_LOADING)
        .order_by(AuditPlan.start_utc, AuditPlan.id)
    ).all()
    return [plan for plan in plans if on_team(auditor, plan)], plans


_AROUND_TODAY_BOUNDS = (AuditPlan.start_utc <= bindparam("latest_start"),
                        AuditPlan.end_utc >= bindparam("earliest_end"))
_ENTERPRISE_PLANS = (
    select(AuditPlan)
    .where(AuditPlan.enterprise_id.in_(bindparam("enterprise_ids", expanding=True)), *_AROUND_TODAY_BOUNDS)
    .options(*PLAN_LOADING)
    .order_by(AuditPlan.start_utc, AuditPlan.id)
)
_ENTERPRISE_PLANS_BESIDES = _ENTERPRISE_PLANS.where(AuditPlan.id != bindparam("besides"))


def enterprise_plans(enterprise_ids, now: dt.datetime, *, besides: Optional[int] = None) -> list[AuditPlan]:
    """The plans of these enterprises around today (around_today's window), whichever teams
    they have (R7), but the plan `besides`; by start."""
    moment = clock.as_utc(now)
    day = dt.timedelta(days=1)
    values = {"enterprise_ids": sorted(set(enterprise_ids)),
              "latest_start": moment + day, "earliest_end": moment - day}
    if besides is None:
        return db.session.scalars(_ENTERPRISE_PLANS, values).all()
    return db.session.scalars(_ENTERPRISE_PLANS_BESIDES, {**values, "besides": besides}).all()
