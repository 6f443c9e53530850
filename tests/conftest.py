"""Shared fixtures: compose the real Hydra configs (the same files people use)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from gridrl.config import Config, register_configs, to_config

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
GRIDRL = str(ROOT / ".venv" / "bin" / "gridrl") if (ROOT / ".venv" / "bin" / "gridrl").exists() else "gridrl"
os.environ.setdefault("OMP_NUM_THREADS", "1")


def compose_cfg(overrides: list[str] | None = None) -> DictConfig:
    """The config `gridrl train <overrides>` would run, without the hydra node."""
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides or []), return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        OmegaConf.set_struct(cfg, False)
        del cfg["hydra"]
        OmegaConf.resolve(cfg)
    return cfg


@pytest.fixture
def make_config() -> Callable[..., Config]:
    def make(*overrides: str) -> Config:
        return to_config(compose_cfg(list(overrides)))

    return make


def presets(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))
