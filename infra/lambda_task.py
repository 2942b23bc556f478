"""Lambda's task directory on this machine: `make package`'s deployment.zip extracted
read-only, as Lambda lays it out in /var/task (nothing can be written there, not even
bytecode). Used by the gateway harness of the tests and the cold-start benchmark."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path


def extract(bundle: Path, task: Path) -> Path:
    """Extract `bundle` into `task` (emptied first) and take every write bit away."""
    remove(task)
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(task)
    for path in [*task.rglob("*"), task]:
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return task


def remove(task: Path) -> None:
    """Remove an extracted task directory (giving its write bits back first)."""
    if not task.exists():
        return
    for path in [task, *task.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(task)
