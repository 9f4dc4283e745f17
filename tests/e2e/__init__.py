"""End-to-end tests on a real local Bluesky network (PLC + PDS + AppView from @atproto/dev-env)."""
