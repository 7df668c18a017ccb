"""The live wire and the recording files: feed client, journal, handlers, recorders, file formats, ingest."""
