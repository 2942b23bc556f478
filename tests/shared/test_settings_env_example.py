"""`.env.example` lists every variable the settings class reads, and nothing it does not."""

from __future__ import annotations

import re

from pydantic import AliasChoices

from shared.settings import REPO_ROOT, Settings


def _variables() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        if field.alias:
            names.add(field.alias)
        elif isinstance(field.validation_alias, AliasChoices):
            names.add(str(field.validation_alias.choices[-1]))  # PORT is the host's
    return names


def test_env_example_lists_every_setting() -> None:
    text = (REPO_ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.M))
    assert listed == _variables()
