"""Serving side of gitfeed: ranking, the FastAPI app, service auth and the admin CLI."""
