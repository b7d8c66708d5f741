"""Line output for logs, pipes and CI: ``--plain`` and ``--json``."""
