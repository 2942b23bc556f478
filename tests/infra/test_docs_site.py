"""The documentation site's generated pages say everything their sources say: every route and
problem code of the OpenAPI document, every message of the AsyncAPI document, every variable of
the settings class with its default. (`make docs`, run by `make test`, builds the site itself,
strict: a broken link or anchor fails it.)"""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra import docs_site
from shared.settings import Settings


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return docs_site.generated_pages()


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return docs_site.openapi_document()


def test_every_route_has_its_section_with_every_status(
    pages: dict[str, str], openapi: dict[str, Any]
) -> None:
    page = pages[docs_site.REST_PAGE]
    sections = re.split(r"^### ", page, flags=re.M)
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in docs_site.METHODS:
                continue
            heading = f"`{method.upper()} {path}`"
            found = [s for s in sections if s.startswith(heading)]
            assert len(found) == 1, f"{heading}: {len(found)} sections"
            for status in operation["responses"]:
                assert f"| `{status}` |" in found[0], f"{heading} lacks {status}"


def test_every_problem_code_is_in_the_table_with_its_statuses(
    pages: dict[str, str], openapi: dict[str, Any]
) -> None:
    page = pages[docs_site.REST_PAGE]
    table = page.split("## Problem codes", 1)[1].split("\n## ", 1)[0]
    expected: dict[str, set[str]] = {}
    for item in openapi["paths"].values():
        for method, operation in item.items():
            if method not in docs_site.METHODS:
                continue
            for status, response in operation["responses"].items():
                for problem in docs_site.problem_codes(response):
                    expected.setdefault(problem, set()).add(status)
    assert "bid_too_low" in expected and "validation_error" in expected
    for problem, statuses in expected.items():
        rows = [line for line in table.splitlines() if line.startswith(f"| `{problem}` |")]
        assert len(rows) == 1, problem
        assert rows[0].split(" | ")[1] == ", ".join(sorted(statuses)), problem


def test_every_schema_a_route_names_has_its_anchor(
    pages: dict[str, str], openapi: dict[str, Any]
) -> None:
    page = pages[docs_site.REST_PAGE]
    for name in openapi["components"]["schemas"]:
        assert f"### {name} {{#{docs_site.anchor('schema', name)}}}" in page
    for target in set(re.findall(r"\]\(#(schema-[a-z0-9-]+)\)", page)):
        assert f"{{#{target}}}" in page, target


def test_every_socket_message_is_documented(pages: dict[str, str]) -> None:
    page = pages[docs_site.WEBSOCKET_PAGE]
    document = docs_site.asyncapi_document()
    names = [m["name"] for m in document["components"]["messages"].values()]
    assert {"join", "snapshot", "bid:placed", "notification"} <= set(names)
    for name in names:
        assert f"### `{name}` {{#{docs_site.anchor('message', name)}}}" in page, name


def test_every_setting_is_in_the_configuration_table_with_its_default(
    pages: dict[str, str],
) -> None:
    page = pages[docs_site.CONFIGURATION_PAGE]
    rows = {
        line.split(" | ")[0].removeprefix("| `").split("`")[0]: line
        for line in page.splitlines()
        if line.startswith("| `")
    }
    for name, field in Settings.model_fields.items():
        variable = "SOCKET_PORT" if name == "socket_port" else field.alias
        assert variable in rows, variable
        if field.default is not None:
            default = (
                str(field.default).lower() if isinstance(field.default, bool) else field.default
            )
            assert f"`{default}`" in rows[variable], variable
        else:
            assert " unset " in rows[variable], variable
    assert "`PORT` wins when set" in rows["SOCKET_PORT"]


def test_a_comment_speaks_for_the_run_of_variables_under_it() -> None:
    groups = docs_site.env_example_groups(
        "# Email, sent or written to var/mail.\nKEY=\nHOST=x\n\n# One.\nA=1\n# Two.\nB=2\nC=3\n"
    )
    assert groups == [
        ("Email, sent or written to var/mail.", ["KEY", "HOST"]),
        ("One.", ["A"]),
        ("Two.", ["B", "C"]),
    ]


def test_table_cells_stay_on_one_line_with_pipes_escaped() -> None:
    assert docs_site.table(["a"], [["x | y\nz"]]).splitlines()[2] == "| x \\| y z |"
