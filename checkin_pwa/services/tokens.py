"""API tokens of certification bodies for the plan import API.

The plaintext is shown once, when made; only its SHA-256 is stored, and a token is found
by looking its hash up (a 256-bit random token needs no slow hash, and an index lookup
leaks nothing useful about other tokens).

A token is only made for a body that already exists: a body comes into the app with its
first plan import (which carries its name); `create-token` for an unknown code fails
rather than invent a body with no name.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Optional

from ..extensions import db
from ..models import Agency, ApiToken


class UnknownAgency(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_token(agency_code: str) -> str:
    """A new token for the body with this code (committed); the plaintext, once."""
    agency = db.session.scalar(db.select(Agency).filter_by(code=agency_code))
    if agency is None:
        raise UnknownAgency(agency_code)
    plaintext = secrets.token_urlsafe(32)
    db.session.add(ApiToken(agency_id=agency.id, token_hash=token_hash(plaintext)))
    db.session.commit()
    return plaintext


def agency_for_token(plaintext: Optional[str]) -> Optional[Agency]:
    """The body a live (not revoked) token belongs to, or None."""
    if not plaintext:
        return None
    token = db.session.scalar(
        db.select(ApiToken).filter_by(token_hash=token_hash(plaintext), revoked=False)
    )
    return token.agency if token else None
