"""The backend side of docs/PROTOCOL.md: ``materia-tui serve`` (the client side never imports this).

- :mod:`materia_tui.backend.server.app`: the aiohttp application, ``start_server`` / ``RunningServer``
- :mod:`materia_tui.backend.server.bus`: ``MemoryBus`` and ``RedisBus`` (docs/PROTOCOL.md section 6)
- :mod:`materia_tui.backend.server.auth`: HS256 JWTs (``JwtAuth``, ``NoAuth``)
- :mod:`materia_tui.backend.server.fanout`: bounded per-client queues, 1013 for laggards
- :mod:`materia_tui.backend.server.layout`: Redis keys, the publish Lua script, event stamping

This package stays import-light (no aiohttp here) because ``materia_tui.backend.publish``
uses ``layout`` from worker processes that may not have the server extras.
"""
