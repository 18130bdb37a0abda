"""The bodies' API: plan import (shared/docs/plan-import.md). Placeholder."""
from . import bp  # noqa: F401
