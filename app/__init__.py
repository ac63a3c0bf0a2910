"""The Signaal service: consume posts, enrich, detect, store, serve."""
