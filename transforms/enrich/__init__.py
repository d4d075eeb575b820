"""Enrich: read plates from frames, place each sighting on its road segment, match the
watchlist, pseudonymise plates."""
