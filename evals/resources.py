"""One gazetteer and one place index per eval process.

An eval loads the GeoNames gazetteer (hundreds of MB of arrays) for the agent's own tools,
for resolving gold answers, for judging, for the report's maps and for the error taxonomy.
Each of those used to reach for its own copy (the agent's, and the process-wide one in
:mod:`tools.gazetteer`), so one process could load two. Every evals module now asks here.

:func:`adopt` makes an agent's :class:`~tools.base.SharedResources` the process's: the
runner calls it with the agent it runs, so judging and reporting use the very gazetteer and
place index the agent's tools loaded. Without an agent the process-wide gazetteer is used.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tools.base import SharedResources

if TYPE_CHECKING:
    from tools.gazetteer import Gazetteer
    from tools.places import PlaceIndex

__all__ = ["adopt", "gazetteer", "place_index", "resources"]

_SHARED_KEYS = ("gazetteer", "place_index")
_lock = threading.Lock()
_resources = SharedResources()


def resources() -> SharedResources:
    """The resources every evals module of this process shares."""
    return _resources


def adopt(agent_resources: SharedResources) -> SharedResources:
    """Share an agent's resources from now on. Whatever this process loaded already is
    handed to the agent (its tools then find it there), so nothing is ever loaded twice."""
    global _resources
    with _lock:
        if agent_resources is _resources:
            return _resources
        for key in _SHARED_KEYS:
            if key in _resources.loaded():
                loaded = _resources.get(key, None)
                agent_resources.get(key, lambda value=loaded: value)
        _resources = agent_resources
        return _resources


def gazetteer() -> Gazetteer:
    """The process's gazetteer (the adopted agent's, else :func:`tools.gazetteer.shared_gazetteer`)."""
    from tools.gazetteer import shared_gazetteer

    return resources().get("gazetteer", shared_gazetteer)


def place_index() -> PlaceIndex:
    """The process's place index, built on :func:`gazetteer`."""
    from tools.places import PlaceIndex

    return resources().get("place_index", lambda: PlaceIndex(gazetteer()))
