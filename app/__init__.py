"""The Signaal service: consume posts, enrich, detect, store, serve."""

import streams  # noqa: F401  (refuses a stale compiled build before any compiled app module loads)
