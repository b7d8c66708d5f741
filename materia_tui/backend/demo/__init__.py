"""The demo: a reverse-osmosis membrane model (``membrane.py``) evaluated by ``evaluator.py``
in a ``materia-tui run`` of the bundled ``membrane.yaml`` (``materia-tui demo``)."""
