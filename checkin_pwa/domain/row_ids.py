"""Row ids read from requests (URL paths, query strings, forms): the one range check.

Every id column is an INTEGER, which PostgreSQL keeps in 32 bits: a larger number is no row
of ours, and sent to the database in a comparison it fails the statement (a 500) instead of
finding nothing. So ids are checked here before any query, on SQLite as well.
"""
from __future__ import annotations

from typing import Optional

MAX_ROW_ID = 2**31 - 1


def digits_up_to(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers 1..limit (no leading zero):
    a URL rule that cannot match a larger number, so no other rule's method answers 405."""
    text = str(limit)
    shorter = rf"[1-9]\d{{0,{len(text) - 2}}}" if len(text) > 1 else ""
    same_length = [text]
    for at, digit in enumerate(text):
        low = "1" if at == 0 else "0"
        if int(digit) > int(low):
            rest = len(text) - at - 1
            same_length.append(f"{text[:at]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(filter(None, [shorter, *same_length])) + ")"


ROW_ID_PATTERN = digits_up_to(MAX_ROW_ID)


def row_id(value: object) -> Optional[int]:
    """`value` as a row id (ASCII digits, 1..MAX_ROW_ID), else None."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ROW_ID)):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ROW_ID else None
