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


__all__ = ["GRIDRL", "ROOT", "compose_cfg", "presets"]
