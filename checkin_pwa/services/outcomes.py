"""What a service answers when it writes nothing: one refusal type for every service an
auditor posts to (photos, explanations), so the web layer words them one way."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Refusal:
    """Nothing was written. `code` is for the web layer to word; `params` are its numbers.
    `not_found` is R16's answer: the same 404 for another team's plan as for none."""

    code: str
    params: dict = field(default_factory=dict)

    @property
    def not_found(self) -> bool:
        return self.code == "not_found"
