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
    "sb3_policy_kwargs": "gridrl.sb3",  # needs Stable-Baselines3 (pip install "gridrl[sb3]")
    "GridCNN": "gridrl.sb3",
}
ENV_ID = "gridrl/Grid-v0"  # the gymnasium id of the built-in game, registered on import
__all__ = [
    "Agent",
    "Config",
    "ConfigError",
    "EnvConfig",
    "GridCNN",
    "GridGame",
    "__version__",
    "compose",
    "compose_config",
    "evaluate",
    "load",
    "load_env_config",
    "sb3_policy_kwargs",
    "train",
]

if TYPE_CHECKING:
    from gridrl.api import evaluate, train
    from gridrl.config import Config, ConfigError, EnvConfig, compose, compose_config, load_env_config
    from gridrl.game.grid import GridGame
    from gridrl.policy import Agent, load
    from gridrl.sb3 import GridCNN, sb3_policy_kwargs


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gridrl' has no attribute {name!r}")


def _register_gym_env() -> None:
    """Register ``gridrl/Grid-v0`` (as minigrid and ale_py do on import); the string entry point imports
    the game only at ``gym.make``. Importing gymnasium costs about 0.2 s (numpy included)."""
    import gymnasium

    if ENV_ID not in gymnasium.registry:
        gymnasium.register(ENV_ID, entry_point="gridrl.game.gym_env:GridEnv")


_register_gym_env()
