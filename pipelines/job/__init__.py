"""The Beam job: options, the graph that wires the stages, running it and its end-of-run summary."""
