"""The examples/ scripts and ``import gridrl`` as a user sees them: fresh processes, from the checkout's
``src/`` and from a wheel built from it (nothing of the repository but the installed package)."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RETURN = re.compile(r"episodic_return=(\S+)")
EVAL = re.compile(r"^eval: mean_return=(\S+) over (\d+) greedy episodes$", re.MULTILINE)

CLEANRL_ARGS = ["--total-timesteps", "600", "--learning-starts", "100", "--max-steps", "40"]
CLEANRL_ARGS += ["--eval-episodes", "2", "--target-network-frequency", "50", "--buffer-size", "1000"]
SB3_ARGS = ["--total-timesteps", "300", "--eval-episodes", "2"]


def run_python(
    args: list[str], pythonpath: Path, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "PYTHONWARNINGS": "error::UserWarning"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def check_returns(proc: subprocess.CompletedProcess, min_episodes: int) -> None:
    """Exit 0, at least ``min_episodes`` printed episode returns and an eval line, all finite."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    returns = [float(r) for r in RETURN.findall(proc.stdout)]
    assert len(returns) >= min_episodes, proc.stdout[-2000:]
    assert all(math.isfinite(r) for r in returns)
    evals = EVAL.findall(proc.stdout)
    assert len(evals) == 1 and math.isfinite(float(evals[0][0])) and int(evals[0][1]) == 2, proc.stdout


def test_import_gridrl_registers_the_env_and_stays_cheap(tmp_path):
    code = """
import sys
import gridrl
heavy = sorted({"torch", "cv2", "hydra", "stable_baselines3", "gridrl.game"} & set(sys.modules))
assert not heavy, f"import gridrl imported {heavy}"
import gymnasium as gym
env = gym.make("gridrl/Grid-v0", height=5, width=5)
obs, _ = env.reset(seed=0)
print(obs.shape, type(env.unwrapped).__module__)
"""
    proc = run_python(["-c", code], ROOT / "src", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["(6,", "11,", "11)", "gridrl.game.gym_env"]


def test_gridrl_exposes_the_sb3_helpers_lazily():
    pytest.importorskip("stable_baselines3")
    import gridrl
    import gridrl.sb3

    assert gridrl.sb3_policy_kwargs is gridrl.sb3.sb3_policy_kwargs
    assert gridrl.GridCNN is gridrl.sb3.GridCNN
    with pytest.raises(AttributeError, match="module 'gridrl' has no attribute 'no_such_name'"):
        gridrl.no_such_name  # noqa: B018


def test_cleanrl_example_from_the_checkout(tmp_path):
    proc = run_python([str(EXAMPLES / "cleanrl_dqn.py"), *CLEANRL_ARGS], ROOT / "src", tmp_path)
    check_returns(proc, min_episodes=600 // 40)


def test_sb3_example_from_the_checkout(tmp_path):
    pytest.importorskip("stable_baselines3")
    proc = run_python([str(EXAMPLES / "sb3_dqn.py"), *SB3_ARGS], ROOT / "src", tmp_path)
    check_returns(proc, min_episodes=2)


@pytest.mark.slow
def test_examples_from_an_installed_wheel(wheel_venv, tmp_path):
    """Both examples against the package installed from a wheel (conftest.wheel_venv): everything they
    need (presets included) must be inside the package."""
    python = str(wheel_venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {
        "PYTHONWARNINGS": "error::UserWarning"
    }

    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [python, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    where = run(["-c", "import gridrl; print(gridrl.__file__)"])
    assert Path(where.stdout.strip()).is_relative_to(wheel_venv), where.stderr[-2000:]
    check_returns(run([str(EXAMPLES / "cleanrl_dqn.py"), *CLEANRL_ARGS]), 600 // 40)
    if _has("stable_baselines3"):
        check_returns(run([str(EXAMPLES / "sb3_dqn.py"), *SB3_ARGS]), 2)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
