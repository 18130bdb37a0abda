"""One package per area, each making `bp` (microblog style)."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .main import bp as main_bp
    from .outbox import bp as outbox_bp
    from .photos import bp as photos_bp
    from .pwa import bp as pwa_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(photos_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(pwa_bp)
