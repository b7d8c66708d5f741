"""``python -m materia_tui`` runs the ``materia-tui`` command."""

from materia_tui.cli import main

raise SystemExit(main())
