"""Other game families behind gridrl's batched-env contract (documented in :mod:`gridrl.envs.base`).

* :class:`MinAtarEnv` — the five MinAtar games, ``(C, 10, 10)`` planes;
* :class:`MiniGridEnv` — MiniGrid tasks, one-hot ``(20, 7, 7)`` partial views;
* :class:`GymEnv` — any gymnasium id with an image / grid observation and discrete actions;
* :func:`make_env` / :func:`make_env_from_name` (``"minatar/breakout"``, ``"minigrid/doorkey-8x8"``,
  ``"gym/<id>"``) with one settings dataclass per family;
* :func:`reference_returns` — reference returns for ``eval/ref_ratio``.

The adapters import their game packages (minatar, minigrid, gymnasium) only when built.
"""

from gridrl.envs.base import BatchedEnv, LoopEnv, colorize, palette
from gridrl.envs.factory import (
    FAMILIES,
    GymConfig,
    MinAtarConfig,
    MiniGridConfig,
    env_config,
    make_env,
    make_env_from_name,
    parse_env_name,
)
from gridrl.envs.gym_env import GymEnv
from gridrl.envs.minatar import MinAtarEnv
from gridrl.envs.minigrid import MiniGridEnv, onehot, optimal_returns, shortest_path
from gridrl.envs.reference import MINATAR_DQN, Reference, reference_returns

__all__ = [
    "FAMILIES",
    "MINATAR_DQN",
    "BatchedEnv",
    "GymConfig",
    "GymEnv",
    "LoopEnv",
    "MinAtarConfig",
    "MinAtarEnv",
    "MiniGridConfig",
    "MiniGridEnv",
    "Reference",
    "colorize",
    "env_config",
    "make_env",
    "make_env_from_name",
    "onehot",
    "optimal_returns",
    "palette",
    "parse_env_name",
    "reference_returns",
    "shortest_path",
]
