from flask import Blueprint

bp = Blueprint("auditors", __name__)

from . import routes  # noqa: E402,F401
