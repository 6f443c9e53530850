"""The one game factory: an env config (any family, :data:`gridrl.config.GameConfig`) -> ``n`` batched copies.

* :func:`make_game` — ``GridGame`` for the built-in game, an adapter of this package otherwise;
* :func:`obs_spec` — ``(obs_shape, n_actions)`` of any env config (what a network is built for);
* :func:`truncation_gap` — the fewest steps between two truncations of one copy (the replay needs it);
* :func:`game_label` — a short name for logs and tables (``minatar/breakout``, ``grid 10x10 ego``).

The settings themselves live in the config schema (:class:`~gridrl.config.EnvConfig`,
:class:`~gridrl.config.MinAtarConfig`, :class:`~gridrl.config.MiniGridConfig`,
:class:`~gridrl.config.GymConfig`, one per ``env.family``). Names as people type them, outside Hydra::

    make_env_from_name("minatar/breakout", n=128)
    make_env_from_name("minigrid/doorkey-8x8", n=64, max_steps=100)
    make_env("gym", "MiniGrid-Empty-5x5-v0", n=8)          # any gymnasium id
"""

from __future__ import annotations

import importlib
from dataclasses import fields
from typing import Any

from gridrl.config import (
    ConfigError,
    EnvConfig,
    GameConfig,
    GymConfig,
    MinAtarConfig,
    MiniGridConfig,
    check_choice,
    check_range,
)
from gridrl.envs.base import LoopEnv
from gridrl.game.grid import GridGame, n_actions, obs_shape

Game = GridGame | LoopEnv  # what make_game returns: both follow the batched contract of envs.base

FAMILIES = ("minatar", "minigrid", "gym")  # the families of this package (the built-in game is "grid")
CONFIGS: dict[str, type] = {"minatar": MinAtarConfig, "minigrid": MiniGridConfig, "gym": GymConfig}
_NAME_FIELD = {"minatar": "game", "minigrid": "task", "gym": "id"}
_PACKAGES = {"minatar": "minatar", "minigrid": "minigrid"}  # the package each family needs
NO_LIMIT = 2**31 - 1  # truncation_gap of a game that never truncates


def _require(family: str) -> None:
    """A one-line :class:`ConfigError` when the package of ``family`` is not installed."""
    package = _PACKAGES.get(family)
    if package is None:
        return
    try:
        importlib.import_module(package)
    except ImportError as exc:
        raise ConfigError(
            f"env.family={family} needs the {package} package ({exc}); install it with "
            f"pip install {package} (or pip install 'gridrl[envs]')"
        ) from None


def make_game(cfg: GameConfig, n: int) -> Game:
    """``n`` copies of the game of ``cfg`` behind the batched contract (:mod:`gridrl.envs.base`)."""
    check_range("n", n, 1)
    if isinstance(cfg, EnvConfig):
        return GridGame(cfg, n)
    _require(cfg.family)
    if isinstance(cfg, MinAtarConfig):
        from gridrl.envs.minatar import MinAtarEnv

        return MinAtarEnv(
            cfg.game,
            n,
            sticky_action_prob=cfg.sticky_action_prob,
            max_steps=cfg.max_steps or None,
            minimal_actions=cfg.minimal_actions,
            difficulty_ramping=cfg.difficulty_ramping,
        )
    if isinstance(cfg, MiniGridConfig):
        from gridrl.envs.minigrid import MiniGridEnv

        return MiniGridEnv(
            cfg.task, n, max_steps=cfg.max_steps or None, actions=cfg.actions, tile_size=cfg.tile_size
        )
    from gridrl.envs.gym_env import GymEnv

    return GymEnv(
        cfg.id,
        n,
        max_steps=cfg.max_steps or None,
        env_kwargs=dict(cfg.kwargs),
        channels_first=cfg.channels_first,
    )


def obs_spec(cfg: GameConfig) -> tuple[tuple[int, int, int], int]:
    """``(obs_shape (C, H, W), n_actions)`` of the game of ``cfg``: what its network takes and gives.

    The built-in game's come from its rules; another family's from one copy of the env, made and closed.
    """
    if isinstance(cfg, EnvConfig):
        return obs_shape(cfg), n_actions(cfg)
    game = make_game(cfg, 1)
    assert isinstance(game, LoopEnv)
    try:
        return game.obs_shape, game.n_actions
    finally:
        game.close()


def truncation_gap(cfg: GameConfig) -> int:
    """The fewest steps between two truncations of one copy: the episode step limit (the built-in game's
    and MinAtar's ``max_steps``, a MiniGrid task's own ``max_steps``, a gym id's ``TimeLimit``);
    :data:`NO_LIMIT` where nothing truncates (MinAtar with ``max_steps=0``); 1 for a gym id whose limit
    is unknown (it could truncate at any step). The replay sizes its store of final frames with it."""
    if isinstance(cfg, EnvConfig):
        return cfg.max_steps
    if isinstance(cfg, MinAtarConfig):
        return cfg.max_steps or NO_LIMIT
    if isinstance(cfg, MiniGridConfig):
        if cfg.max_steps:
            return cfg.max_steps
        from gridrl.envs.minigrid import MiniGridEnv

        game = make_game(cfg, 1)
        assert isinstance(game, MiniGridEnv)
        try:
            return int(game.envs[0].unwrapped.max_steps)  # type: ignore[attr-defined]  # a MiniGrid env
        finally:
            game.close()
    if cfg.max_steps:
        return cfg.max_steps
    import gymnasium

    from gridrl.envs.gym_env import ensure_registered

    spec = gymnasium.spec(ensure_registered(cfg.id))
    return int(spec.max_episode_steps) if spec.max_episode_steps else 1


def game_label(cfg: GameConfig) -> str:
    """A short description for logs and tables: ``grid 10x10 ego``, ``minatar/breakout``, ``gym/<id>``."""
    if isinstance(cfg, EnvConfig):
        enemies = f"{cfg.n_enemies} {cfg.enemy_motion} enem{'y' if cfg.n_enemies == 1 else 'ies'}"
        return f"grid {cfg.height}x{cfg.width} {cfg.obs_mode}, {cfg.n_food} food, {enemies}"
    return f"{cfg.family}/{getattr(cfg, _NAME_FIELD[cfg.family])}"


def env_config(family: str, id_or_game: str, **kwargs: Any) -> MinAtarConfig | MiniGridConfig | GymConfig:
    """The validated settings of ``family`` for the game / task / id ``id_or_game`` and field overrides."""
    check_choice("env.family", family, FAMILIES)
    cls = CONFIGS[family]
    names = [f.name for f in fields(cls) if f.name != "family"]
    for key in kwargs:
        if key not in names or key == _NAME_FIELD[family]:
            allowed = [k for k in names if k != _NAME_FIELD[family]]
            raise ConfigError(
                f"env.{key} is not a setting of {family} envs; choose among {', '.join(allowed)}"
            )
    config: MinAtarConfig | MiniGridConfig | GymConfig = cls(**{_NAME_FIELD[family]: id_or_game, **kwargs})
    return config


def make_env(family: str, id_or_game: str, n: int, **kwargs: Any) -> LoopEnv:
    """``n`` copies of ``id_or_game`` of ``family`` (``minatar`` | ``minigrid`` | ``gym``) as a batched env.

    ``kwargs`` are the family's settings (the fields of :class:`MinAtarConfig`, :class:`MiniGridConfig`
    or :class:`GymConfig`); seeds are not settings: pass them to ``reset``.
    """
    check_range("n", n, 1)
    game = make_game(env_config(family, id_or_game, **kwargs), n)
    assert isinstance(game, LoopEnv)
    return game


def parse_env_name(name: str) -> tuple[str, str]:
    """``"minatar/breakout"`` -> ``("minatar", "breakout")``; ``"gym/<id>"`` -> ``("gym", "<id>")``."""
    family, sep, rest = name.partition("/")
    if not sep or not rest:
        raise ConfigError(
            f"env={name!r} must read family/name with family one of {', '.join(FAMILIES)} "
            "(e.g. minatar/breakout, minigrid/doorkey-8x8, gym/MiniGrid-Empty-8x8-v0)"
        )
    check_choice("env.family", family, FAMILIES)
    return family, rest


def make_env_from_name(name: str, n: int, **kwargs: Any) -> LoopEnv:
    """:func:`make_env` from a ``family/name`` string such as ``minatar/breakout`` or ``minigrid/fourrooms``."""
    family, rest = parse_env_name(name)
    return make_env(family, rest, n, **kwargs)
