"""The worker and the manifest live at the project root and are served from the app's root
(`/`, or the sub-path it is mounted at) so the worker's scope is the whole app; the offline page is what the worker shows for a page the
phone never loaded."""
from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path

from flask import current_app, render_template, request

from ... import PROJECT_ROOT, static_files
from . import bp

FINGERPRINT_PLACEHOLDER = "__STATIC_FINGERPRINT__"
VERSIONS_PLACEHOLDER = '"__STATIC_VERSIONS__"'
_fingerprints: dict[tuple, str] = {}
_lock = threading.Lock()


def static_fingerprint() -> str:
    """A short hash of every file the worker may precache (the static folder and the offline
    page's template). It names the worker's static cache, so a deploy that changes any of
    them makes a new worker that replaces the old cache. Recomputed only when a file's size
    or modification time changed."""
    static = Path(current_app.static_folder)
    files = sorted(static.rglob("*"))
    files.append(Path(current_app.root_path) / "templates" / "offline.html")
    stamped = []
    for path in files:
        try:  # a file may vanish between listing and reading (an editor's temporary file)
            if path.is_file():
                info = path.stat()
                stamped.append((path, info.st_mtime_ns, info.st_size))
        except OSError:
            continue
    stamp = tuple((str(p), mtime, size) for p, mtime, size in stamped)
    with _lock:
        if stamp not in _fingerprints:
            digest = hashlib.sha256()
            for path, _mtime, _size in stamped:
                name = path.relative_to(static) if path.is_relative_to(static) else path.name
                digest.update(str(name).encode() + b"\0")
                try:
                    digest.update(path.read_bytes())
                except OSError:
                    continue
            _fingerprints.clear()
            _fingerprints[stamp] = digest.hexdigest()[:16]
        return _fingerprints[stamp]


def static_versions(source: str) -> dict[str, str]:
    """The URL version (static_files.version) of each static file the worker names."""
    versions = {}
    for path in sorted(set(re.findall(r'"(/static/[^"*?]+)"', source))):
        found = static_files.version(current_app.static_folder, path.removeprefix("/static/"))
        if found:
            versions[path] = found
    return versions


@bp.get("/service-worker.js")
def service_worker():
    source = (PROJECT_ROOT / "service-worker.js").read_text(encoding="utf-8")
    source = source.replace(FINGERPRINT_PLACEHOLDER, static_fingerprint(), 1)
    source = source.replace(VERSIONS_PLACEHOLDER, json.dumps(static_versions(source), separators=(",", ":")), 1)
    response = current_app.response_class(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = request.script_root + "/"
    # By content (as the manifest): the same on every host, new with every change.
    response.add_etag()
    return response.make_conditional(request)


def mounted_manifest(manifest: dict, root: str) -> dict:
    """The manifest's paths (written for an app at the site's root) under `root`, the path
    the app is mounted at: the installed app opens, stays and finds its icons there."""
    def under(path: str) -> str:
        return root + path if path.startswith("/") else path

    mounted = {**manifest, **{key: under(manifest[key]) for key in ("id", "start_url", "scope") if key in manifest}}
    mounted["icons"] = [{**icon, "src": under(icon["src"])} for icon in manifest.get("icons", [])]
    return mounted


@bp.get("/manifest.json")
def manifest():
    source = json.loads((PROJECT_ROOT / "manifest.json").read_text(encoding="utf-8"))
    # The icons by version, as the pages name static files: the browser keeps them instead of
    # asking again on every load (no page names the 192 px icon, so no cache holds it).
    for icon in source.get("icons", []):
        found = static_files.version(current_app.static_folder, icon["src"].removeprefix("/static/"))
        if icon["src"].startswith("/static/") and found:
            icon["src"] += "?v=" + found
    response = current_app.response_class(
        json.dumps(mounted_manifest(source, request.script_root), ensure_ascii=False, indent=2),
        mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/offline")
def offline():
    """Shown by the worker, from its cache, for a page this phone never loaded. It names no
    one (it is precached for whoever is logged in), so it has no logout form or token."""
    response = current_app.make_response(render_template("offline.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response
