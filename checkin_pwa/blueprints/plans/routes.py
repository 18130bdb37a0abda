"""The plan page (R9), exceptions and explanations (R10): built in issue 5."""
from . import bp  # noqa: F401
