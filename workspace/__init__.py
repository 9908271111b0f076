"""The investigation workspace: cases of photos in SQLite, runs in a worker pool that
stream their steps, review, notes and proof export, behind a token on 127.0.0.1.

The layer above ``agent``: it imports ``agent``, ``graphs`` and ``tools``, never ``evals``.
``geosleuth serve`` starts it; :class:`~workspace.api.Workspace` embeds it.
"""

from .config import WorkspaceConfig

__all__ = ["WorkspaceConfig"]
