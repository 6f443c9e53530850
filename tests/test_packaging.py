"""The installed package, as a user gets it: a wheel in a fresh virtualenv, run from a directory with no
``conf/`` and no checkout (the presets ship inside the package)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def gridrl(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(venv / "bin" / "gridrl"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_wheel_trains_evaluates_and_plots_outside_the_checkout(wheel_venv: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c", "import gridrl, gridrl.config as c; print(gridrl.__file__, c.CONF_DIR)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert Path(where[0]).is_relative_to(wheel_venv) and Path(where[1]).is_relative_to(wheel_venv)
    assert not (tmp_path / "conf").exists()
    proc = gridrl(
        wheel_venv, tmp_path, "train", "trainer=debug", "trainer.eval_episodes=20", "hydra.run.dir=run"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "final" / "metrics.json").read_text())
    assert metrics["env_step"] == 8192
    proc = gridrl(wheel_venv, tmp_path, "eval", "run", "episodes=20")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "eval" / "eval.json").read_text())["stats"]["episodes"] == 20
    proc = gridrl(wheel_venv, tmp_path, "plot", "run", "out=curves.png")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 run(s) in 1 group(s)" in proc.stdout and (tmp_path / "curves.png").stat().st_size > 0
    proc = gridrl(wheel_venv, tmp_path, "train", "--help")
    assert proc.returncode == 0 and "env: crowded, default, gym, minatar/asterix" in proc.stdout


def test_wheel_ships_every_preset(wheel_venv: Path) -> None:
    from gridrl.config import CONF_DIR

    code = "import gridrl.config as c; print('\\n'.join(sorted(str(p.relative_to(c.CONF_DIR)) for p in c.CONF_DIR.rglob('*.yaml'))))"
    shipped = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert shipped == sorted(str(p.relative_to(CONF_DIR)) for p in CONF_DIR.rglob("*.yaml"))
