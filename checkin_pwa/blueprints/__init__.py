"""One package per area, each making `bp` (microblog style)."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from .account import bp as account_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .calendar import bp as calendar_bp
    from .core import bp as core_bp
    from .errors import bp as errors_bp
    from .health import bp as health_bp
    from .main import bp as main_bp
    from .notices import bp as notices_bp
    from .outbox import bp as outbox_bp
    from .photos import bp as photos_bp
    from .plans import bp as plans_bp
    from .pwa import bp as pwa_bp
    from .tasks import bp as tasks_bp

    app.register_blueprint(errors_bp)
    app.register_blueprint(core_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(photos_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(pwa_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(health_bp)
