"""What the app answers when a request fails, for every area (microblog's `errors`): a page in
the user's language, JSON under /api/, never a stack trace."""
from flask import Blueprint

bp = Blueprint("errors", __name__)

from . import handlers  # noqa: E402,F401
