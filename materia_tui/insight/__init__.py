"""Pure computations behind the analysis views (issue 18): no Textual, no I/O, no state.

- ``hypervolume``: exact hypervolume (2-D and 3-D sweeps, WFG beyond), the
  per-iteration trace and the reference-point rule;
- ``importance``: per-objective parameter importance (permutation importance on
  a random forest);
- ``filter``: the filter language of ``/`` and ``export --where``;
- ``advisor``: the stop advisor;
- ``dominance``: Pareto dominance of two points (plain Python: the state's front
  and the Optuna source use it).

The submodules import numpy (and ``importance`` scikit-learn, lazily, inside
its function), so nothing here is imported at start-up: import a submodule
where it is used. This package file stays empty on purpose.
"""
