"""The read side over published tables: queries, the safety report, retention and the audit log."""
