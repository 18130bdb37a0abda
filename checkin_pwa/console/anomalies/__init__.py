from flask import Blueprint

bp = Blueprint("anomalies", __name__)

from . import routes  # noqa: E402,F401
