"""Everything that knows about platforms and transport: formats, producers and the bus."""

from streams.compiled import refuse_stale_build

# Every part of Signaal imports this package first: the place to stop a compiled build that is out of date.
refuse_stale_build()
