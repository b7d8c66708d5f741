"""`materia-tui run`: run an optimization campaign defined by a config file."""
