"""What every page of both ends uses and no area owns: the language switch and a fresh CSRF
token for the phone's outbox."""
from flask import Blueprint

bp = Blueprint("core", __name__)

from . import routes  # noqa: E402,F401
