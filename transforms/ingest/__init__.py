"""Ingest: read lines from files, Redis Streams or Kafka, parse them into typed records, drop repeated deliveries."""
