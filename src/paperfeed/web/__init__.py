"""The web interface: server-rendered HTML pages and the JSON API, both thin layers over
`paperfeed.core.PaperFeed`."""
