"""The union of a list side input of sets, once per list handed over."""
from transforms.sides import UnionOfSides


def test_the_union_of_a_list_of_sets_is_made_once_per_list():
    union = UnionOfSides()
    sides = [frozenset({"a:1", "a:2"}), frozenset({"b:3"}), frozenset({"a:2"})]
    first = union(sides)
    assert first == {"a:1", "a:2", "b:3"}
    assert union(sides) is first  # the same list again: not worked out again
    assert union([frozenset({"c:4"})]) == {"c:4"}  # another list: its own union
    assert union([]) == frozenset()
