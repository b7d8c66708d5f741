"""The backend: what runs, serves and publishes campaigns (the client side never imports it)."""
