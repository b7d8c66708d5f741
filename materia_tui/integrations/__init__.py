"""Hooks for optimizers people already run, so materia-tui can watch them unchanged.

- ``materia_tui.integrations.optuna.MateriaCallback``: publish an Optuna study
  while ``study.optimize`` runs (``pip install 'materia-tui[optuna]'``).

Each module imports its optimizer lazily: importing this package costs nothing.
"""
