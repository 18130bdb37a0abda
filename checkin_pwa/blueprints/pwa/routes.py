"""The worker and the manifest live at the project root and are served from / so the
worker's scope is the whole app."""
from flask import current_app, send_from_directory

from ... import PROJECT_ROOT
from . import bp


@bp.get("/service-worker.js")
def service_worker():
    response = send_from_directory(PROJECT_ROOT, "service-worker.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.json")
def manifest():
    response = send_from_directory(PROJECT_ROOT, "manifest.json", mimetype="application/manifest+json", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
