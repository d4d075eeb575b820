"""Every shell command and SQL query of the README runs, so the README cannot go stale.

The `sh` and `sql` blocks run in order of appearance, each in a reader's checkout of its
own: the repository's files, and under `out/demo` a copy of a small demo that `make
demo`'s own recipe built once on fewer events. Redis commands go to the test's private
server. A block that cannot run in a test carries `<!-- not run: why -->` just above
it, and only a handful may."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SMALL_DEMO_EVENTS = 2000
MOST_NOT_RUN = 4
FIRST_SCREEN_LINES = 24
# The README's Redis address, replaced by the test server's.
README_REDIS = "redis://localhost:6379/0"

FENCE = re.compile(r"^(?P<indent>\s*)```(?P<language>[\w-]*)\s*$")
NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(?P<why>.+?)\s*-->\s*$")


class Block(NamedTuple):
    language: str
    line: int  # of the opening fence, counted from 1
    text: str
    not_run: str | None  # why it is not run, or None


def fenced_blocks(markdown: str) -> list[Block]:
    """The fenced blocks of `markdown`, each with the reason of a `not run` mark just above
    it. A mark that stands above no block is a mistake in the README, and raises."""
    lines = markdown.splitlines()
    blocks, mark, number = [], None, 0
    while number < len(lines):
        line = lines[number]
        fence = FENCE.match(line)
        if fence:
            indent, body, number = fence["indent"], [], number + 1
            while number < len(lines) and lines[number].strip() != "```":
                body.append(lines[number].removeprefix(indent))
                number += 1
            opening = number - len(body)
            blocks.append(Block(fence["language"], opening, "\n".join(body) + "\n",
                                mark[1] if mark else None))
            mark = None
        elif NOT_RUN.match(line):
            mark = (number + 1, NOT_RUN.match(line)["why"])
        elif line.strip() and mark:
            raise ValueError(f"README line {mark[0]}: a 'not run' mark must stand just above a block")
        number += 1
    if mark:
        raise ValueError(f"README line {mark[0]}: a 'not run' mark must stand just above a block")
    return blocks


def runnable(blocks: list[Block]) -> list[Block]:
    return [block for block in blocks if block.language in ("sh", "sql") and block.not_run is None]


README_BLOCKS = fenced_blocks(README.read_text(encoding="utf-8"))


def as_param(block: Block):
    marks = [pytest.mark.beam, pytest.mark.model]
    if README_REDIS in block.text:
        marks.append(pytest.mark.redis)
    return pytest.param(block, id=f"{block.language}-line{block.line}", marks=marks)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """`make demo` on fewer events, with this interpreter's roadchief: its folder."""
    demo = tmp_path_factory.mktemp("readme") / "out" / "demo"
    subprocess.run(
        ["make", "-C", str(REPO), "--no-print-directory", "-o", ".venv/.installed", "demo",
         f"DEMO={demo}", f"DEMO_EVENTS={SMALL_DEMO_EVENTS}", f"BIN={Path(sys.executable).parent}"],
        env=reader_environment(), check=True, capture_output=True, timeout=900)
    return demo


def reader_environment() -> dict[str, str]:
    """This interpreter's `roadchief` first on the PATH, importing this checkout."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(REPO)}


def reader_checkout(folder: Path, demo: Path) -> Path:
    """The repository as a reader has it after `make demo`: its files linked, and a copy of
    the demo that the README's commands may change."""
    folder.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in (".git", "out"):
            (folder / entry.name).symlink_to(entry)
    shutil.copytree(demo, folder / "out" / "demo", symlinks=True)
    shutil.copytree(demo.parent / "keys", folder / "out" / "keys")
    return folder


def shell_of(block: Block) -> str:
    if block.language == "sql":
        return 'roadchief query --tables out/demo --reason "README example" "$1"'
    return block.text


@pytest.mark.parametrize("block", [as_param(block) for block in runnable(README_BLOCKS)])
def test_the_readme_block_runs(block, small_demo, tmp_path, request):
    checkout = reader_checkout(tmp_path / "checkout", small_demo)
    script = shell_of(block)
    if README_REDIS in script:
        script = script.replace(README_REDIS, request.getfixturevalue("redis_url"))
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script, "readme", block.text],
                          cwd=checkout, env=reader_environment(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"README line {block.line}:\n{block.text}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr


def synopses(block: Block) -> list[tuple[list[str], set[str]]]:
    """The commands of a synopsis block, each as its subcommand words and the flags it shows:
    a line that starts with `roadchief` opens a command, an indented line continues it."""
    commands: list[tuple[list[str], set[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("roadchief "):
            words = []
            for word in line.split()[1:]:
                if not COMMAND_WORD.match(word):
                    break
                words.append(word.split("|")[0])
            commands.append((words, set()))
        if commands:
            commands[-1][1].update(FLAG.findall(line))
    return commands


COMMAND_WORD = re.compile(r"^[a-z][a-z-]*(\|[a-z-]+)*$")
FLAG = re.compile(r"--[a-z][\w-]*")
SYNOPSES = [command for block in README_BLOCKS if block.language == "text"
            for command in synopses(block)]


@pytest.mark.beam
@pytest.mark.parametrize("words, flags", SYNOPSES, ids=[" ".join(words) for words, _ in SYNOPSES])
def test_the_command_line_synopsis_shows_only_flags_the_command_has(words, flags):
    shown = subprocess.run(["roadchief", *words, "--help"], env=reader_environment(),
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert not {flag for flag in flags if flag not in shown.stdout}, shown.stdout


def test_a_synopsis_is_read_as_commands_with_their_flags():
    block = Block("text", 1, "roadchief watchlist load list.csv --redis URL\n"
                             "roadchief flink up|status|down\n"
                             "roadchief run --events F [--runner A|B]\n"
                             "              [--plain_plates] ...\n", None)
    assert synopses(block) == [(["watchlist", "load"], {"--redis"}), (["flink", "up"], set()),
                               (["run"], {"--events", "--runner", "--plain_plates"})]


@pytest.mark.beam
@pytest.mark.model
def test_the_small_demo_is_the_demo_on_fewer_events(small_demo):
    with (small_demo / "events.jsonl").open(encoding="utf-8") as events:
        assert sum(1 for _ in events) == SMALL_DEMO_EVENTS
    assert (small_demo / "report.html").stat().st_size > 0
    assert (small_demo / "passings").is_dir()


def test_only_a_handful_of_the_readme_blocks_are_not_run():
    not_run = [block for block in README_BLOCKS if block.not_run]
    assert len(not_run) <= MOST_NOT_RUN, [block.line for block in not_run]
    assert len(runnable(README_BLOCKS)) >= 5


def test_the_first_screen_says_what_roadchief_is_and_gives_the_two_commands():
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN_LINES])
    assert "roadchief turns" in first_screen
    assert "make demo" in first_screen and "make test" in first_screen


def test_blocks_are_found_with_their_language_line_and_mark():
    markdown = ("# t\n\n```sh\nroadchief --help\n```\n\n<!-- not run: needs Flink -->\n"
                "```sh\nroadchief flink up\n```\n\n- a list item:\n\n  ```sql\n  SELECT 1\n  ```\n")
    assert fenced_blocks(markdown) == [
        Block("sh", 3, "roadchief --help\n", None),
        Block("sh", 8, "roadchief flink up\n", "needs Flink"),
        Block("sql", 14, "SELECT 1\n", None)]
    assert [block.line for block in runnable(fenced_blocks(markdown))] == [3, 14]


def test_a_not_run_mark_above_no_block_is_refused():
    with pytest.raises(ValueError, match="line 1"):
        fenced_blocks("<!-- not run: forgotten -->\nsome prose\n```sh\nls\n```\n")
    with pytest.raises(ValueError, match="line 4"):
        fenced_blocks("```sh\nls\n```\n<!-- not run: at the end -->\n")
