"""The full-screen Textual monitor (``materia-tui watch``)."""
