from flask import Blueprint

bp = Blueprint("outbox", __name__)

from . import routes  # noqa: E402,F401
