from flask import Blueprint

bp = Blueprint("plan_edits", __name__)

from . import routes  # noqa: E402,F401
