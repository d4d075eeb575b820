"""Operator tools over Redis: replay a file into a stream, watch and escalate dispatches."""
