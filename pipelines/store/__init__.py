"""Where a run's tables live: a local folder or an s3:// prefix, one writer at a time, published whole."""
