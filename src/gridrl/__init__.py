"""gridrl: Deep Q-learning from pixels on grid games, driven by Hydra configs.

The Python API (see the README's "Python" section): :func:`train`, :func:`load` (an :class:`Agent`
with ``act``), :func:`evaluate`, :func:`compose` / :func:`compose_config`, the game :class:`GridGame` and
its :class:`EnvConfig` (:func:`load_env_config` for a preset). Names are imported on first use, so that
``import gridrl`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = {
    "train": "gridrl.api",
    "evaluate": "gridrl.api",
    "load": "gridrl.policy",
    "Agent": "gridrl.policy",
    "compose": "gridrl.config",
    "compose_config": "gridrl.config",
    "load_env_config": "gridrl.config",
    "EnvConfig": "gridrl.config",
    "Config": "gridrl.config",
    "ConfigError": "gridrl.config",
    "GridGame": "gridrl.game.grid",
}
__all__ = [
    "Agent",
    "Config",
    "ConfigError",
    "EnvConfig",
    "GridGame",
    "__version__",
    "compose",
    "compose_config",
    "evaluate",
    "load",
    "load_env_config",
    "train",
]

if TYPE_CHECKING:
    from gridrl.api import evaluate, train
    from gridrl.config import Config, ConfigError, EnvConfig, compose, compose_config, load_env_config
    from gridrl.game.grid import GridGame
    from gridrl.policy import Agent, load


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gridrl' has no attribute {name!r}")
