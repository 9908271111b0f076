"""The parts a playbook is made of: plays (what to look at next) and lanes (who proposes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from tools.evidence import Candidate

from ..policy import RunView


class Play(ABC):
    """One step of the playbook."""

    name: str = "play"

    @abstractmethod
    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        """Tool calls (name, arguments) still to make; empty when this play is done."""


class Lane(ABC):
    """One family of evidence that proposes candidates."""

    name: str = "lane"

    @abstractmethod
    def candidates(self, view: RunView) -> list[Candidate]:
        """Candidates this lane derives from the evidence so far."""
