"""Other game families behind gridrl's batched-env contract (documented in :mod:`gridrl.envs.base`).

* :class:`MinAtarEnv` — the five MinAtar games, ``(C, 10, 10)`` planes;
* :class:`MiniGridEnv` — MiniGrid tasks, one-hot ``(20, 7, 7)`` partial views;
* :class:`GymEnv` — any gymnasium id with an image / grid observation and discrete actions;
* :func:`make_game` (any env config, the built-in game included) and :func:`obs_spec`, the one factory
  and the one observation spec; :func:`make_env` / :func:`make_env_from_name` (``"minatar/breakout"``,
  ``"minigrid/doorkey-8x8"``, ``"gym/<id>"``) build the settings from names first;
* :func:`reference_returns` — reference returns for ``eval/ref_ratio``.

The settings of each family are in the config schema (``gridrl.config``: ``MinAtarConfig``,
``MiniGridConfig``, ``GymConfig``). The adapters import their game packages (minatar, minigrid,
gymnasium) only when built.
"""

from gridrl.config import GymConfig, MinAtarConfig, MiniGridConfig
from gridrl.envs.base import BatchedEnv, LoopEnv, colorize, palette
from gridrl.envs.factory import (
    FAMILIES,
    Game,
    env_config,
    game_label,
    make_env,
    make_env_from_name,
    make_game,
    obs_spec,
    parse_env_name,
    truncation_gap,
)
from gridrl.envs.gym_env import GymEnv
from gridrl.envs.minatar import MinAtarEnv
from gridrl.envs.minigrid import MiniGridEnv, onehot, optimal_returns, shortest_path
from gridrl.envs.reference import MINATAR_DQN, Reference, game_reference, reference_returns

__all__ = [
    "FAMILIES",
    "MINATAR_DQN",
    "BatchedEnv",
    "Game",
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
    "game_label",
    "make_env",
    "make_env_from_name",
    "make_game",
    "obs_spec",
    "onehot",
    "optimal_returns",
    "palette",
    "parse_env_name",
    "game_reference",
    "reference_returns",
    "shortest_path",
    "truncation_gap",
]
