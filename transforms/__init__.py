"""The stages of the roadchief pipeline: one composite PTransform per concern."""
