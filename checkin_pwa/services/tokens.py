"""API tokens of certification bodies for the plan import API.

The plaintext is shown once, when made; only its SHA-256 is stored, and a token is found
by looking its hash up (a 256-bit random token needs no slow hash, and an index lookup
leaks nothing useful about other tokens).

Tokens are made on the command line (`create-token`, for a body that already exists: a
body comes into the app with its first plan import, which carries its name) or by a body's
administrator on the console, with a name saying what the token is for. The console lists
them (who made each, when it was last used and from where) and revokes them; a revoked
token is refused at once, with the same answer as an unknown one. Console changes write
the audit log in the same transaction, never the plaintext or its hash.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import or_, update

from ..domain import clock
from ..domain.filters import page_within
from ..extensions import db
from ..models import Agency, ApiToken, Staff
from . import audit

PER_PAGE = 25
# The last use is written at most once in this span: a busy system's requests do not each
# cost a write, and "last used" stays true to the minute.
USE_RECORDED_EVERY = dt.timedelta(minutes=1)
NAME_MAX = 100


class UnknownAgency(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _new_token(agency_id: int, name: Optional[str], created_by: Optional[Staff]) -> tuple[ApiToken, str]:
    plaintext = secrets.token_urlsafe(32)
    token = ApiToken(agency_id=agency_id, token_hash=token_hash(plaintext), name=name,
                     created_by_id=created_by.id if created_by else None)
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def create_token(agency_code: str, name: Optional[str] = None) -> str:
    """A new token for the body with this code, made on the command line (committed);
    the plaintext, once."""
    agency = db.session.scalar(db.select(Agency).filter_by(code=agency_code))
    if agency is None:
        raise UnknownAgency(agency_code)
    _token, plaintext = _new_token(agency.id, clean_name(name) or None, None)
    db.session.commit()
    return plaintext


def clean_name(name: Optional[str]) -> str:
    """A token's name on one line, its spaces collapsed, at most NAME_MAX characters."""
    return " ".join((name or "").split())[:NAME_MAX]


def _target(token: ApiToken) -> str:
    return f"api_token:{token.id} {token.name or ''}".strip()


def create_for(by: Staff, name: str, *, address: str) -> tuple[ApiToken, str]:
    """A new token of `by`'s body named `name` (already checked), in the audit log;
    committed. Returns the row and the plaintext, which is shown once and kept nowhere."""
    token, plaintext = _new_token(by.agency_id, clean_name(name), by)
    audit.record(audit.actor_for(by, address), "token_created", target=_target(token),
                 after={"name": token.name, "state": "active"})
    db.session.commit()
    return token, plaintext


def revoke(by: Staff, token: ApiToken, *, address: str) -> bool:
    """Revoke the token (the API refuses it from the next request on), in the audit log.
    False, and nothing logged, when it already was revoked."""
    if token.revoked:
        return False
    token.revoked = True
    token.revoked_at = clock.now()
    token.revoked_by_id = by.id
    audit.record(audit.actor_for(by, address), "token_revoked", target=_target(token),
                 before={"name": token.name, "state": "active"}, after={"name": token.name, "state": "revoked"})
    db.session.commit()
    return True


def agency_for_token(plaintext: Optional[str], *, used_from: Optional[str] = None) -> Optional[Agency]:
    """The body a live (not revoked) token belongs to, or None. With `used_from` (the
    caller's address) the use is recorded as the token's last (see record_use)."""
    if not plaintext:
        return None
    token = db.session.scalar(
        db.select(ApiToken).filter_by(token_hash=token_hash(plaintext), revoked=False)
    )
    if token is None:
        return None
    if used_from is not None:
        record_use(token, used_from)
    return token.agency


def record_use(token: ApiToken, address: str, now: Optional[dt.datetime] = None) -> bool:
    """Note a use of the token from `address` (committed), unless its last recorded use is
    less than USE_RECORDED_EVERY ago: then nothing is written. The UPDATE repeats the
    condition, so requests arriving together write once. True when written."""
    now = now or clock.now()
    last = token.last_used_at
    if last is not None and dt.timedelta(0) <= now - last < USE_RECORDED_EVERY:
        return False
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id,
               or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - USE_RECORDED_EVERY,
                   ApiToken.last_used_at > now))
        .values(last_used_at=now, last_used_from=address[:64])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount)


@dataclass(frozen=True)
class TokenPage:
    tokens: list[ApiToken]
    page: int
    pages: int
    total: int


def page_of(agency_id: int, page: int, *, per_page: int = PER_PAGE) -> TokenPage:
    """One page of the body's tokens: live ones first, newest first (paginated in the database)."""
    query = db.select(ApiToken).where(ApiToken.agency_id == agency_id)
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery())) or 0
    at = page_within(page, total, per_page)
    rows = db.session.scalars(query.order_by(ApiToken.revoked, ApiToken.id.desc())
                              .limit(per_page).offset(at.offset)).all()
    return TokenPage(list(rows), at.number, at.pages, total)
