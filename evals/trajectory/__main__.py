"""``python -m evals.trajectory``: see :mod:`evals.trajectory.cli`."""

from .cli import main

raise SystemExit(main())
