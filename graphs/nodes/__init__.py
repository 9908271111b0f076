"""The nodes of one run: ingest -> plan <-> act -> propose (fan-out) -> verify -> consensus -> review -> finalize."""

from .act import act
from .consensus import consensus
from .finalize import finalize
from .ingest import ingest
from .plan import plan
from .propose import propose
from .review import review
from .verify import verify

__all__ = ["act", "consensus", "finalize", "ingest", "plan", "propose", "review", "verify"]
