"""Routes by resource: the JSON API, live events, pages, health."""
