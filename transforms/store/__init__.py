"""Store: write each table as Parquet, per run or per window."""
