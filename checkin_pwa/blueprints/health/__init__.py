"""/healthz and /readyz for load balancers, systemd and monitoring."""
from flask import Blueprint

from ...extensions import limiter

bp = Blueprint("health", __name__)
limiter.exempt(bp)

from . import routes  # noqa: E402,F401
