"""Comments speak of the code: nothing in checkin_pwa/ (Python, templates, scripts, styles) or
the service worker talks about how the work was organised — numbered issues, a brief, rounds of work, work
sessions, engineers or helpers. Such a note says nothing to the next reader of the code and
goes stale at once; say what the code does and why instead.

The phrases are narrow on purpose: the code has real words that look alike — the import's
validation `Issue`, codes `issued`, a login `session`, the audit team's `teammate`, a
`round trip`, headings `h1`..`h6` — and none of them may trip this test.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "checkin_pwa"
WORKER = ROOT / "service-worker.js"
SUFFIXES = (".py", ".html", ".js", ".css")

_I = re.IGNORECASE
PROCESS_WORDS = [
    ("a numbered issue", re.compile(r"\bissues?[ \t]*[-#]?[ \t]*\d+\b", _I)),
    ("the issue's text", re.compile(
        r"\bissue tracker\b|\b(?:as|per) the issue\b|\b(?:the|this) issue (?:asks|says|wants|requires|lists)\b", _I)),
    ("a brief", re.compile(r"\b(?:the|this|our|my|per the|in the) brief\b|\bbriefs\b", _I)),
    ("a round of work", re.compile(
        r"\brounds? of (?:work|changes|review|fixes)\b"
        r"|\b(?:in|from|since|during) (?:this|that|the last|the previous|an earlier|a later|the next) round\b", _I)),
    ("a work session", re.compile(
        r"\b(?:earlier|previous|prior|past|next|later|coding|working|work) sessions?\b"
        r"|\bthis session's (?:work|changes?|commits?)\b", _I)),
    ("an engineer or helper", re.compile(
        r"\bengineers?\b|\bsub-?agents?\b|\bhelpers? H?\d+\b|\blead (?:engineer|developer)\b"
        r"|\bthe lead (?:asked|said|wants|runs)\b", _I)),
    ("a helper's number", re.compile(r"\bH[1-8]\b")),  # upper case only: h1..h6 are headings
    ("a pull request", re.compile(r"\bpull requests?\b|\bPR ?#\d+", _I)),
]


def process_words(text: str) -> list[tuple[int, str, str]]:
    """(line number, what, the line) for each line of `text` that speaks of the work."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for what, pattern in PROCESS_WORDS:
            if pattern.search(line):
                found.append((number, what, line.strip()))
    return found


def sources(root: Path) -> list[Path]:
    """The package's own code: Python, templates, scripts and styles; vendored files are
    someone else's."""
    return sorted(path for path in root.rglob("*")
                  if path.is_file() and path.suffix in SUFFIXES and "vendor" not in path.relative_to(root).parts)


def offending_lines(root: Path) -> list[str]:
    return [f"{path.relative_to(root)}:{number}: {what}: {line[:120]}"
            for path in sources(root)
            for number, what, line in process_words(path.read_text(encoding="utf-8"))]


def test_comments_in_the_package_speak_of_the_code():
    assert len(sources(PACKAGE)) > 100  # the scan reads the real package
    found = offending_lines(PACKAGE) + [f"{WORKER.name}:{number}: {what}: {line[:120]}"
                                        for number, what, line in process_words(WORKER.read_text(encoding="utf-8"))]
    assert not found, "Say what the code does instead:\n" + "\n".join(found)


PLANTED = {
    "views.py": "def today():\n    # Added for issue 14: load the plans once.\n    return 1\n",
    "service.py": '"""Check flow, split out in this round of work."""\n',
    "page.html": "{#- Context: plans (H3 moved this partial). -#}\n<p>{{ plans }}</p>\n",
    "app.js": "var a = 1; // as the brief asks, keep it small\n",
    "app.css": "/* the engineer who wrote this chose 8px */\n.card { margin: 8px; }\n",
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_a_planted_comment_on_the_work_is_found_in_each_kind_of_file(tmp_path, name):
    (tmp_path / name).write_text(PLANTED[name], encoding="utf-8")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / name).write_text(PLANTED[name], encoding="utf-8")
    found = offending_lines(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{name}:")  # the vendored copy is not read


@pytest.mark.parametrize("line", [
    "issues = validate(document)  # each Issue's path names the field",
    "for issue in result.issues:",
    "reported as an issue at its cell",
    "code.issued_at + CODE_TTL  # the code issued last",
    '"""Ends this session on the server too: a copy of its cookie no longer logs in."""',
    "// the server says this session is not the entry's author",
    "# A teammate still sees them on the team, marked.",
    "a PUT is a round trip; the other way round; Math.round(x)",
    ".notice-markdown h2, .notice-markdown h3 { }",
    "from .helpers import csrf_token  # the one helper that answers a page",
    "a brief flash of the old page",
])
def test_the_codes_own_words_are_not_mistaken_for_talk_of_the_work(line):
    assert process_words(line) == []
