"""The README's Python section runs as written (in a fresh process, in an empty directory)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def python_blocks(section: str) -> list[str]:
    """The ```python blocks of the README section headed ``## <section>``."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start : end if end > 0 else None], flags=re.DOTALL)


def run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_python_section_runs(tmp_path: Path) -> None:
    (block,) = python_blocks("Python")
    proc = run(block, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second, third = proc.stdout.splitlines()
    steps, ret = first.split()
    assert int(steps) == 8192 and float(ret) < 25.0  # a debug budget: far from the optimum
    assert re.fullmatch(r"-?\d+\.\d % of the oracle", second)
    assert third.split() == ["15", "512"]  # env=seed is 15x15; agent=dqn_fast's batch
    assert (tmp_path / "outputs" / "python_api" / "final" / "q_network.pt").is_file()


def test_gymnasium_section_first_block_runs(tmp_path: Path) -> None:
    block = python_blocks("Use with gymnasium, Stable-Baselines3 and CleanRL")[0]
    proc = run(block + "\nprint(obs.shape, obs.dtype)\n", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "(3, 15, 15) uint8"
