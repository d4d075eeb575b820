"""Test modules share fixtures through conftest.py and helpers through tests/*.py modules
that are not tests: no test module imports another, nor a conftest."""
import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def is_test_or_conftest(module: str) -> bool:
    """`tests.x.test_y`, `tests.conftest`, or the bare `test_y` and `conftest` that pytest's
    own import path would resolve."""
    parts = module.split(".")
    local = parts[0] == "tests" or len(parts) == 1
    return local and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def test_no_test_module_imports_another_or_a_conftest():
    offending = {
        f"{path.relative_to(TESTS.parent)}: {name}"
        for path in [*TESTS.rglob("*.py"), *(TESTS.parent / "bench").rglob("*.py")]
        for name in imported_modules(path) if is_test_or_conftest(name)}
    assert not offending, sorted(offending)


def test_the_rule_catches_both_spellings_of_a_test_module_import():
    assert is_test_or_conftest("tests.pipelines.test_prism") and is_test_or_conftest("test_prism")
    assert is_test_or_conftest("tests.conftest") and not is_test_or_conftest("tests.builders")
    assert not is_test_or_conftest("apache_beam.testing.test_pipeline")
