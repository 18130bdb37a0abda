"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from checkin_pwa import create_app
from checkin_pwa.production import NotReadyForProduction, refuse_to_start

try:
    app = create_app()
except NotReadyForProduction as refusal:  # production mode without what it needs
    refuse_to_start(refusal)
