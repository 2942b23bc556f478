"""mkdocs hooks (mkdocs.yml `hooks:`): the generated reference pages, and pages others add.

`on_files` adds the pages `infra/docs_site.py` writes from the sources of truth (the OpenAPI
and AsyncAPI documents, the settings class) to the build, so they exist only in the site and
are never stale. `on_config` puts any page under docs/ that the nav does not name at the end
of the nav, under "More", titled by its first heading: a feature's page is on the site the
moment it is written, and the build stays strict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from infra import docs_site


def _named_in(nav: Any) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*(_named_in(item) for item in nav)) if nav else set()
    if isinstance(nav, dict):
        return set().union(*(_named_in(value) for value in nav.values())) if nav else set()
    return set()


def _title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem.replace("-", " ").capitalize()


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    nav = config.nav
    if not isinstance(nav, list):
        return config
    named = _named_in(nav)
    docs_dir = Path(config.docs_dir)
    unnamed = sorted(
        str(page.relative_to(docs_dir))
        for page in docs_dir.rglob("*.md")
        if str(page.relative_to(docs_dir)) not in named
    )
    if unnamed:
        nav.append({"More": [{_title(docs_dir / page): page} for page in unnamed]})
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path, text in docs_site.generated_pages().items():
        files.append(File.generated(config, path, content=text))
    return files
