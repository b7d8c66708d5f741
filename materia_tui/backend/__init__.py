"""The backend side of the protocol: the server, publishers and the demo campaign.

Nothing on the client side (protocol, source, state, ui, output, client) imports this package.
"""
