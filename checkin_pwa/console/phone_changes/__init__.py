from flask import Blueprint

bp = Blueprint("phone_changes", __name__)

from . import routes  # noqa: E402,F401
