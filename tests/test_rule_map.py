"""The rule map at the top of docs/domain.md ("Where each rule lives") names real code: every
`module:function` imports, has that attribute and is written there (not merely imported
there), every template and script is a file, and
every `pytest -k` expression selects tests. Moving or renaming code without its line in the
map fails here, so the map cannot rot silently."""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "domain.md"
PACKAGE = ROOT / "checkin_pwa"
RULES = [f"R{n}" for n in range(1, 22)]

NAME = re.compile(r"`([a-z_][a-z0-9_.]*):([A-Za-z_][A-Za-z0-9_.]*)`")
TEMPLATE = re.compile(r"`([a-z0-9_/]+\.html)`")
SCRIPT = re.compile(r"`([a-z0-9_.-]+\.js)`")
K_WORDS = re.compile(r"^[A-Za-z0-9_]+(?: or [A-Za-z0-9_]+)*$")


def section(title: str) -> str:
    """The text of docs/domain.md's section `## title`, up to the next `## `."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def rows() -> dict[str, list[str]]:
    """The map's table: rule id -> its cells."""
    found = {}
    for line in section("Where each rule lives").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.match(r"\*\*(R\d+)\*\*", cells[0]) if line.startswith("|") else None
        if match:
            found[match.group(1)] = cells
    return found


def test_the_map_opens_the_page_and_has_a_row_for_every_rule():
    headings = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]
    assert headings[0] == "## Where each rule lives", "docs/domain.md opens with the map"
    assert list(rows()) == RULES


def named_in_map() -> list[tuple[str, str]]:
    return sorted({match.groups() for match in NAME.finditer(section("Where each rule lives"))}
                  | {match.groups() for match in NAME.finditer(section("R17 One offline action, end to end"))})


@pytest.mark.parametrize("module, name", named_in_map())
def test_every_module_function_in_the_map_exists(module, name):
    try:
        found = importlib.import_module(f"checkin_pwa.{module}")
    except ModuleNotFoundError:
        pytest.fail(f"docs/domain.md names {module}:{name}, but checkin_pwa.{module} is not a module")
    for part in name.split("."):
        assert hasattr(found, part), f"docs/domain.md names {module}:{name}, but {module} has no {name}"
        found = getattr(found, part)
    home = getattr(found, "__module__", None)  # a function or class: where it is written
    if home is not None:
        assert home == f"checkin_pwa.{module}", f"docs/domain.md names {module}:{name}, but it is written in {home}"


def test_every_rule_row_names_a_decision_and_where_its_tests_are():
    for rule, cells in rows().items():
        assert NAME.search(cells[1]), f"{rule}: no module:function for the decision"
        assert cells[-1].startswith("`") and cells[-1].endswith("`"), f"{rule}: no pytest -k expression"


def test_every_template_and_script_in_the_map_is_a_file():
    text = section("Where each rule lives") + section("R17 One offline action, end to end")
    templates = {match.group(1) for match in TEMPLATE.finditer(text)}
    scripts = {match.group(1) for match in SCRIPT.finditer(text)}
    assert templates and scripts
    missing = [t for t in templates if not (PACKAGE / "templates" / t).is_file()]
    missing += [s for s in scripts
                if not (PACKAGE / "static" / "js" / s).is_file() and not (ROOT / s).is_file()]
    assert not missing, f"docs/domain.md names files that are not there: {missing}"


def collected_names():
    """Every test's names as `pytest -k` matches them: its folder, its module's file, its
    class and its function (parametrised ids aside)."""
    names = []
    for path in (ROOT / "tests").rglob("test_*.py"):
        parents = [part for part in path.relative_to(ROOT).parts[:-1]]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            tests = [(None, node)] if isinstance(node, ast.FunctionDef) else []
            if isinstance(node, ast.ClassDef):
                tests = [(node.name, item) for item in node.body if isinstance(item, ast.FunctionDef)]
            for cls, function in tests:
                if function.name.startswith("test"):
                    names.append([*parents, path.name, *([cls] if cls else []), function.name])
    return names


TEST_NAMES = collected_names()


@pytest.mark.parametrize("rule", RULES)
def test_each_rules_pytest_k_expression_selects_tests(rule):
    expression = rows()[rule][-1].strip("`")
    assert K_WORDS.match(expression), f"{rule}: keep the -k expression to words joined by 'or'"
    for word in expression.split(" or "):
        selected = [names for names in TEST_NAMES if any(word.lower() in name.lower() for name in names)]
        assert selected, f"{rule}: pytest -k {word} selects no test"
