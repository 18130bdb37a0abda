from flask import Blueprint

bp = Blueprint("log", __name__)

from . import routes  # noqa: E402,F401
