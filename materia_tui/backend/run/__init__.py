"""``materia-tui run``: a user's own optimization campaign from a YAML config.

config (the YAML file) -> runner (the campaign loop, publishing protocol events and
keeping a journal) -> optimizer (space, surrogate, acquisition) and executor (where
evaluations run) -> evaluation (one evaluator process per candidate, in its own
process group).
"""
