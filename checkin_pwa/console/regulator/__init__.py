from flask import Blueprint

bp = Blueprint("regulator", __name__)

from . import routes  # noqa: E402,F401
