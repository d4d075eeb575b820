"""Side inputs taken as lists of sets, and their union."""


class UnionOfSides:
    """The union of a list side input of sets, worked out once per list that Beam hands over.

    A side input taken as a list (`beam.pvalue.AsList`) needs no stages of its
    own, where combining its sets into one value first took three. Beam hands
    a DoFn the same list for every element of a bundle, so the union is made
    once for a bundle, not once per file."""

    def __init__(self) -> None:
        self._sides: list | None = None
        self._union: frozenset = frozenset()

    def __call__(self, sides: list[frozenset]) -> frozenset:
        if sides is not self._sides:
            self._sides, self._union = sides, frozenset().union(*sides)
        return self._union
