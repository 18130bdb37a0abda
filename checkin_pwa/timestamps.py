"""One column type for every moment the app stores (UtcDateTime): UTC in the database, an
aware UTC datetime in Python, on SQLite and PostgreSQL alike.

The database holds a plain timestamp (no zone): the representation every migration made,
so no data changes. What goes in is converted to UTC (a naive value is taken as UTC, the
server's clock); what comes out, and what is assigned to a mapped attribute, is aware. So
a row's times compare with `clock.now()` and with each other however the row was made.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, event
from sqlalchemy.types import TypeDecorator

from .domain.clock import as_utc


class UtcDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else as_utc(value).replace(tzinfo=None)

    def process_literal_param(self, value, dialect):
        return self.process_bind_param(value, dialect)

    def process_result_value(self, value, dialect):
        return as_utc(value)


def keep_attributes_aware(base) -> None:
    """Every mapped UtcDateTime attribute turns what is assigned to it into aware UTC, so an
    object reads the same before it is written as after it is loaded."""
    def aware(target, value, oldvalue, initiator):
        return as_utc(value) if isinstance(value, dt.datetime) else value

    for mapper in base.registry.mappers:
        for prop in mapper.column_attrs:
            if any(isinstance(column.type, UtcDateTime) for column in prop.columns):
                event.listen(prop.class_attribute, "set", aware, retval=True)
