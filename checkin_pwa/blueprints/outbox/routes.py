"""The outbox page (R17): what is still waiting on this phone to be sent. The entries live
in the phone's IndexedDB, not on the server, so the server only renders the frame and
static/js/outbox-page.js fills it. No login needed: after a session ends the auditor must
still see what waits (the page holds no server data)."""
from flask import render_template

from . import bp


@bp.get("/outbox")
def outbox():
    return render_template("outbox/page.html")
