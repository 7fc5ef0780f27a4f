"""The documentation against the code, where the two can drift apart.

- the JSON example in docs/json-schema.md is what `vaddesk segment` really writes for the
  bundled sample: its model sha256 is the manifest's, its generator the package's version;
- every option in `vaddesk COMMAND --help` has a row in docs/cli.md's table for that command,
  and every row there names a real option (both directions: a new flag must be documented);
- docs/benchmarks.md is what bench/make_benchmarks_doc.py makes of bench/out/*.json;
- README.md stays at most 300 lines;
- project text speaks of the project only: no issue numbers, no paths of one machine, no notes
  about who worked on it or in which session.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from unittest import mock

import pytest

from vaddesk import cli

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
CLI_MD = DOCS / "cli.md"
JSON_MD = DOCS / "json-schema.md"
README_MAX_LINES = 300

# argparse's own help option is not documented per command.
HELP_OPTIONS = frozenset({"-h", "--help"})


def project_version() -> str:
    version: str = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    return version


def documented_json_example() -> dict[str, object]:
    match = re.search(r"```json\n(.*?)```", JSON_MD.read_text(), re.S)
    assert match, f"{JSON_MD.relative_to(REPO)} has no ```json example"
    example: dict[str, object] = json.loads(match.group(1))
    return example


def test_json_example_model_and_version_match_the_manifest_and_package() -> None:
    example = documented_json_example()
    manifest = json.loads((REPO / "models" / "manifest.json").read_text())
    model = example["model"]
    assert isinstance(model, dict)
    expected_sha = manifest["files"][model["name"]]["sha256"]
    assert model["sha256"] == expected_sha, (
        f"docs/json-schema.md: the example's model sha256 {model['sha256'][:12]}… is not "
        f"models/manifest.json's {expected_sha[:12]}… for {model['name']}")
    assert example["generator"] == f"vaddesk {project_version()}", (
        f"docs/json-schema.md: the example's generator {example['generator']!r} is not "
        f"'vaddesk {project_version()}' (pyproject.toml)")


def test_json_example_is_what_vaddesk_segment_writes_for_the_sample(tmp_path: Path) -> None:
    wav = tmp_path / "standup.wav"
    shutil.copyfile(REPO / "resources" / "sample" / "sample.wav", wav)
    subprocess.run([sys.executable, "-m", "vaddesk", "segment", wav.name, "--clips",
                    "--jobs", "1"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    written = json.loads((tmp_path / "standup.json").read_text())
    example = documented_json_example()
    assert written["source"].pop("path") == str(wav)
    source = example["source"]
    assert isinstance(source, dict)
    source.pop("path")
    assert example == written, (
        "docs/json-schema.md: the JSON example is no longer what `vaddesk segment standup.wav "
        "--clips` writes for a copy of resources/sample/sample.wav named standup.wav; paste "
        "the new output (path aside):\n" + json.dumps(written, indent=2))


# --- docs/cli.md against --help ----------------------------------------------------------------

def help_text(*command: str) -> str:
    """`vaddesk [COMMAND] --help`, from the entry point's own main() in this process (a fresh
    interpreter per command cost its start-up CPU and checked nothing more)."""
    out = io.StringIO()
    # argparse wraps to COLUMNS: no wrapped option lines
    with mock.patch.dict(os.environ, {"COLUMNS": "200"}), contextlib.redirect_stdout(out), \
            pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0, out.getvalue()
    return out.getvalue()


def commands_in_help(text: str) -> list[str]:
    """The command names listed under the top-level help's positional arguments."""
    section = text.split("positional arguments:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^    ([a-z][\w-]*)(?:\s{2,}|$)", section, re.M)


def options_in_help(text: str) -> set[str]:
    """Option strings of every argument line (two spaces, then '-') in the help's sections."""
    options: set[str] = set()
    for line in text.splitlines():
        match = re.match(r"^  (-\S.*?)(?:\s{2,}|$)", line)
        if match:
            for part in match.group(1).split(", "):
                options.add(part.split()[0])
    return options - HELP_OPTIONS


def documented_options() -> dict[str, set[str]]:
    """Per `## \\`vaddesk[ COMMAND]\\`` section of docs/cli.md, the options named in the first
    cell of its `| option | meaning |` tables; a row "every option of `vaddesk OTHER`" adds
    OTHER's, and "... except `--a`, `--b`" leaves those out."""
    sections: dict[str, set[str]] = {}
    inherits: dict[str, tuple[str, set[str]]] = {}
    current: str | None = None
    in_options_table = False
    for line in CLI_MD.read_text().splitlines():
        heading = re.match(r"^## `vaddesk(?: ([\w-]+))?`\s*$", line)
        if heading:
            current = heading.group(1) or ""
            sections[current] = set()
            in_options_table = False
            continue
        if line.startswith("## "):
            current = None
        if current is None:
            continue
        if not line.startswith("|"):
            in_options_table = False
            continue
        first_cell = line.strip("|").split("|")[0].strip()
        if first_cell.strip("`").lower() == "option":
            in_options_table = True
        elif in_options_table and not set(first_cell) <= set("-: "):
            other = re.match(r"every option of `vaddesk ([\w-]+)`(.*)", first_cell)
            if other:
                excepted = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", other.group(2)))
                inherits[current] = (other.group(1), excepted)
            else:
                sections[current] |= set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)",
                                                    first_cell))
    for name, (other, excepted) in inherits.items():
        sections[name] |= sections.get(other, set()) - excepted
    return {name: options - HELP_OPTIONS for name, options in sections.items()}


def test_cli_md_documents_every_option_of_every_command() -> None:
    documented = documented_options()
    top = help_text()
    problems: list[str] = []
    for command in ["", *commands_in_help(top)]:
        label = f"vaddesk {command}".strip()
        real = options_in_help(help_text(command) if command else top)
        if command not in documented:
            problems.append(f"docs/cli.md has no section '## `{label}`' with an options table; "
                            f"add one listing {', '.join(sorted(real)) or 'its options'}")
            continue
        for option in sorted(real - documented[command]):
            problems.append(f"docs/cli.md does not document `{label} {option}` (it is in "
                            f"`{label} --help`): add a row for {option} to the options table "
                            f"under '## `{label}`'")
        for option in sorted(documented[command] - real):
            problems.append(f"docs/cli.md documents `{label} {option}`, which `{label} --help` "
                            f"does not have: remove or rename that row under '## `{label}`'")
    real_commands = {"", *commands_in_help(top)}
    for command in sorted(set(documented) - real_commands):
        problems.append(f"docs/cli.md has a section '## `vaddesk {command}`' but there is no "
                        f"such command in `vaddesk --help`")
    assert not problems, "\n".join(problems)


def test_the_cli_check_finds_a_missing_and_a_stale_option() -> None:
    """The parsers above read what they must: a real option line, a wrapped help line that
    starts with an option (not an option), a table row with two options."""
    text = ("usage: x\n\noptions:\n  -h, --help   show\n  -j N, --jobs N   jobs\n"
            "  --precision {int8,fp32}\n                        e.g.\n"
            "                        --set a=1\n")
    assert options_in_help(text) == {"-j", "--jobs", "--precision"}
    assert "--set" not in options_in_help(text)
    documented = documented_options()
    assert {"-j", "--jobs", "--clips", "--pad-ms"} <= documented["segment"]


# --- project text -------------------------------------------------------------------------------

PROJECT_TEXT = [REPO / "README.md", *sorted(DOCS.glob("*.md")), REPO / "bench" / "README.md",
                REPO / "models" / "README.md"]
FORBIDDEN_IN_TEXT = {
    "an issue number": re.compile(r"\bissues?\s*#?\d+|\bH\d{1,2}\b", re.I),
    "a path of one machine": re.compile(r"(?<![\w.~])/(?:work|root|tmp)/|/home/(?!ana/)\w|"
                                        r"[A-Z]:\\Users\\"),
    "a note about the people or sessions that made it":
        re.compile(r"\bengineers?\b|\b(?:this|first|second|previous|earlier) session\b", re.I),
}


@pytest.mark.parametrize("path", PROJECT_TEXT, ids=lambda p: str(p.relative_to(REPO)))
def test_project_text_speaks_of_the_project_only(path: Path) -> None:
    problems = [f"{path.relative_to(REPO)}:{number}: {what}: {line.strip()}"
                for number, line in enumerate(path.read_text().splitlines(), 1)
                for what, pattern in FORBIDDEN_IN_TEXT.items() if pattern.search(line)]
    assert not problems, "\n".join(problems)


def test_no_issue_numbers_in_the_code() -> None:
    pattern = re.compile(r"\bissues?\s*#?\d+", re.I)
    problems = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
                for path in sorted((REPO / "vaddesk").rglob("*.py"))
                for number, line in enumerate(path.read_text().splitlines(), 1)
                if pattern.search(line)]
    assert not problems, "issue numbers in vaddesk/ (say what, not which issue):\n" + \
        "\n".join(problems)


def test_readme_is_at_most_300_lines() -> None:
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move detail into docs/")


def test_readme_links_resolve() -> None:
    text = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)\)", text)
    missing = [t for t in targets if not t.startswith("http") and not (REPO / t).exists()]
    assert missing == [], f"README.md links to missing files: {missing}"


def test_benchmarks_md_is_generated_from_bench_out() -> None:
    out = subprocess.run([sys.executable, str(REPO / "bench" / "make_benchmarks_doc.py"),
                          "--check"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_readme_links_every_document_in_docs() -> None:
    text = (REPO / "README.md").read_text()
    unlinked = [f"docs/{path.name}" for path in sorted(DOCS.glob("*.md"))
                if f"(docs/{path.name})" not in text]
    assert unlinked == [], (f"README.md does not link {', '.join(unlinked)}: add a row to its "
                            "Documentation table")
