"""materia-tui: a terminal monitor for MatCraft materials-discovery campaigns."""

__version__ = "0.1.0"
