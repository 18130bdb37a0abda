"""Whom an auditor calls for help: the body's contact person and phone.

The body's profile on the management end keeps them (Agency.contact_*); until a body has
filled it in, they come from the configuration: HELP_CONTACTS (JSON,
by body code: {"CNCA-R-2002-117": {"name": "李老师", "phone": "0435-1234567"}}) for a server
shared by several bodies, else HELP_CONTACT_NAME / HELP_CONTACT_PHONE.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str

    @property
    def dial(self) -> str:
        """The number for a tel: link: digits and a leading +, nothing else."""
        return re.sub(r"[^\d+]", "", self.phone)


def _contact(name, phone) -> Contact | None:
    name = str(name or "").strip()
    phone = str(phone or "").strip()
    return Contact(name, phone) if phone else None


def contact_for(agency_code: str | None, config: Mapping) -> Contact | None:
    """The contact for the body `agency_code`, or the server's one; None when none is set."""
    by_body = config.get("HELP_CONTACTS") or ""
    if by_body and agency_code:
        try:
            entry = json.loads(by_body).get(agency_code)
        except (ValueError, AttributeError):
            log.warning("HELP_CONTACTS is not a JSON object of body code -> {name, phone}; ignored")
            entry = None
        if isinstance(entry, dict):
            found = _contact(entry.get("name"), entry.get("phone"))
            if found:
                return found
    return _contact(config.get("HELP_CONTACT_NAME"), config.get("HELP_CONTACT_PHONE"))


def contact_of(agency, config: Mapping) -> Contact | None:
    """The contact person the body filled in on the management end, else the configured one."""
    if agency is not None:
        found = _contact(agency.contact_name, agency.contact_phone)
        if found:
            return found
    return contact_for(agency.code if agency is not None else None, config)
