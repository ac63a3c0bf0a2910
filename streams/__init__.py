"""Everything that knows about platforms and transport: formats, producers and the bus."""
