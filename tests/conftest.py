"""Shared fixtures: compose the real Hydra configs (the packaged presets people use)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from gridrl.config import Config, compose, presets, to_config

ROOT = Path(__file__).resolve().parents[1]
GRIDRL = str(ROOT / ".venv" / "bin" / "gridrl") if (ROOT / ".venv" / "bin" / "gridrl").exists() else "gridrl"
os.environ.setdefault("OMP_NUM_THREADS", "1")


def compose_cfg(overrides: list[str] | None = None) -> DictConfig:
    """The config `gridrl train <overrides>` would run, without the hydra node."""
    return compose(list(overrides or []))


@pytest.fixture
def make_config() -> Callable[..., Config]:
    def make(*overrides: str) -> Config:
        return to_config(compose_cfg(list(overrides)))

    return make


__all__ = ["GRIDRL", "ROOT", "TINY_GAME", "compose_cfg", "presets", "refused"]


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv outside the checkout with gridrl installed from a wheel built (offline) from
    the checkout's packaging files. Its dependencies come from this interpreter's site-packages through
    a .pth file (nothing is downloaded); gridrl itself only from the wheel."""
    import shutil
    import site
    import subprocess
    import sys
    import sysconfig

    tmp = tmp_path_factory.mktemp("wheel")
    project = tmp / "project"
    project.mkdir()
    shutil.copy(ROOT / "pyproject.toml", project)
    shutil.copy(ROOT / "README.md", project)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "dist")]
    proc = subprocess.run([*build, str(project)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("gridrl-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    deps = [p for p in (*site.getsitepackages(), sysconfig.get_paths()["purelib"]) if Path(p).is_dir()]
    (purelib / "_gridrl_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    install = [
        *pip,
        "--python",
        str(venv / "bin" / "python"),
        "install",
        "--no-deps",
        "--no-index",
        str(wheel),
    ]
    proc = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return venv


# the tiny game most training tests run: 5x5, 25 steps an episode, seconds of training
TINY_GAME = ["env.height=5", "env.width=5", "env.max_steps=25", "trainer=debug", "trainer.threads=1"]


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``gridrl <args>`` in this process fails with exit status 2 and one line on stderr; that line."""
    from gridrl.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gridrl: error: "), err
    return err[0]
