from flask import Blueprint

bp = Blueprint("verifications", __name__)

from . import routes  # noqa: E402,F401
