"""Operator tools over Redis: replay a file into a stream, watch and escalate dispatches."""


def show_at_once(line: str) -> None:
    """Print a line and flush it: an operator's pipe (`| grep 琼C`) sees each dispatch as it comes."""
    print(line, flush=True)
