"""The README's Python quickstart runs as written (in a fresh folder)."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

from conftest import REPO


def test_the_readme_python_quickstart_runs(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quickstart: Python", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert out.getvalue().splitlines() == [
        "constraint_violated Decision(deny payments.refund on customer/42 by agent:acme/support-bot: "
        "constraint_violated — `amount` = 500 exceeds max 100)",
        "True",
    ]
    assert (tmp_path / ".runtime-identity" / "audit.jsonl").exists()
