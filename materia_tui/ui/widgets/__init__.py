"""One widget a file; each redraws only when what it shows has changed."""
