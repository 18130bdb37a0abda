"""Flask CLI commands: import-plans, create-token, seed-demo. Placeholder."""
from flask import Flask


def register_cli(app: Flask) -> None:
    pass
