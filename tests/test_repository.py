"""The repository stands alone: no tracked file cites a document that lives outside it.

The specification and the design notes the project was started from are not in the
repository, so a comment, test or page that points at them ("see section 10 of ...") sends its
reader nowhere. Each such line says what it means in its own words instead. The names are
assembled here so that this file does not cite them itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

_SPEC = "CONT" + "RACT"
# The specification by its name (upper case, a word of its own: the import-linter
# "contracts" and a response that "breaks the contract" are our own words), the design and
# style notes and the seed plan by their file names, and the folder they all live in.
OUTSIDE_DOCUMENTS = re.compile(
    rf"\b{_SPEC}\b|{_SPEC}\.md"
    + r"|\b(?i:design|style)\.md\b"
    + r"|(?i:seed)[-](?i:plan)"
    + r"|/work/"
    + "shared"
)


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    return [REPO_ROOT / name for name in listed.decode().split("\0") if name]


def citations(text: str) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE_DOCUMENTS.search(line)
    ]


def test_the_pattern_finds_a_citation_and_spares_our_own_words() -> None:
    assert citations(f"# the rules of {_SPEC} section 10") == [
        (1, f"# the rules of {_SPEC} section 10")
    ]
    assert citations(f"see {_SPEC}.md") != []
    assert citations("as " + "DESIGN" + ".md says") != []
    assert citations("milestone 3 of the " + "SEED" + "-PLAN") != []
    assert citations("[[tool.importlinter.contracts]]") == []
    assert citations('"event": "response_breaks_contract"') == []
    assert citations("API_ROUTES = [  # the contract's routes") == []


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    files = tracked_files()
    assert len(files) > 100, "git ls-files listed almost nothing: is this a checkout?"
    found = []
    for path in files:
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # an image, a font: no prose to cite anything
            continue
        for number, line in citations(data.decode("utf-8", errors="replace")):
            found.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line}")
    assert found == [], "say it in the repository's own words:\n" + "\n".join(found)
