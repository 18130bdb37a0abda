"""Helpers for server tests: CSRF is on in tests as in production."""
import re

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token_from(response) -> str:
    """The CSRF token of a rendered page (a form field, or the htmx header in base.html)."""
    match = _TOKEN.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def csrf_token(client, path: str = "/login") -> str:
    return csrf_token_from(client.get(path))
