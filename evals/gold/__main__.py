"""``python -m evals.gold``: see :mod:`evals.gold.cli`."""

from .cli import main

raise SystemExit(main())
