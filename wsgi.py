"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from checkin_pwa import create_app

app = create_app()
