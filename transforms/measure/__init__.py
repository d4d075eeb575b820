"""Measure: per-window metrics and the safety figures by period and segment."""
