"""Typed settings per env family and the factory that builds a batched env from them.

One dataclass per family (every field with its type, default and a one-line comment; checks in
``__post_init__`` raise :class:`gridrl.config.ConfigError` with one line naming the key and the allowed
values), ready to move into the config schema. Names as people type them::

    make_env_from_name("minatar/breakout", n=128)
    make_env_from_name("minigrid/doorkey-8x8", n=64, max_steps=100)
    make_env("gym", "MiniGrid-Empty-5x5-v0", n=8)          # any gymnasium id
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from gridrl.config import ConfigError, check_choice, check_range
from gridrl.envs.base import BatchedEnv
from gridrl.envs.minatar import GAMES as MINATAR_GAMES
from gridrl.envs.minigrid import ACTION_SETS as MINIGRID_ACTION_SETS

FAMILIES = ("minatar", "minigrid", "gym")


@dataclass
class MinAtarConfig:
    """A MinAtar game (see :mod:`gridrl.envs.minatar`); defaults follow the MinAtar paper's protocol."""

    game: str = "breakout"  # asterix | breakout | freeway | seaquest | space_invaders ('-' accepted for '_')
    sticky_action_prob: float = 0.1  # chance the previous action repeats instead of the chosen one
    max_steps: int = 10_000  # steps before an episode is truncated (MinAtar has no limit); 0 = none
    minimal_actions: bool = False  # the game's minimal action set instead of all 6 actions
    difficulty_ramping: bool = True  # MinAtar's gradual speed-up (asterix, seaquest, space_invaders)

    def __post_init__(self) -> None:
        self.game = str(self.game).replace("-", "_")
        check_choice("env.game", self.game, MINATAR_GAMES)
        check_range("env.sticky_action_prob", self.sticky_action_prob, 0.0, 1.0)
        check_range("env.max_steps", self.max_steps, 0)

    def make(self, n: int) -> BatchedEnv:
        from gridrl.envs.minatar import MinAtarEnv

        return MinAtarEnv(
            self.game,
            n,
            sticky_action_prob=self.sticky_action_prob,
            max_steps=self.max_steps or None,
            minimal_actions=self.minimal_actions,
            difficulty_ramping=self.difficulty_ramping,
        )


@dataclass
class MiniGridConfig:
    """A MiniGrid task (see :mod:`gridrl.envs.minigrid`): one-hot partial view, MiniGrid's reward."""

    task: str = "empty-8x8"  # empty-8x8 | doorkey-8x8 | doorkey-16x16 | fourrooms | lavagap-s7 | keycorridor-s3r1 | any MiniGrid-* id
    max_steps: int = (
        0  # the env's max_steps (sets the reward's time penalty and the truncation); 0 = task default
    )
    actions: str = "all"  # all (7 actions) | nav (left, right, forward: enough without keys and doors)
    tile_size: int = 8  # render(): pixels per grid cell

    def __post_init__(self) -> None:
        from gridrl.envs.minigrid import resolve_task

        resolve_task(self.task)
        check_range("env.max_steps", self.max_steps, 0)
        check_choice("env.actions", self.actions, MINIGRID_ACTION_SETS)
        check_range("env.tile_size", self.tile_size, 1)

    def make(self, n: int) -> BatchedEnv:
        from gridrl.envs.minigrid import MiniGridEnv

        return MiniGridEnv(
            self.task, n, max_steps=self.max_steps or None, actions=self.actions, tile_size=self.tile_size
        )


@dataclass
class GymConfig:
    """Any gymnasium env with a Discrete action space and an image / grid observation (:mod:`gridrl.envs.gym_env`)."""

    id: str = ""  # a registered gymnasium id, or 'module:Id' to import the module that registers it
    max_steps: int = 0  # a TimeLimit in steps; 0 = the id's registered limit
    channels_first: bool = False  # the observation Box is already (C, H, W) rather than (H, W, C)
    kwargs: dict[str, Any] = field(default_factory=dict)  # keyword arguments for gymnasium.make

    def __post_init__(self) -> None:
        from gridrl.envs.gym_env import ensure_registered

        if not self.id:
            raise ConfigError(
                "env.id is required for the gym family: a registered gymnasium id, e.g. MiniGrid-Empty-8x8-v0"
            )
        ensure_registered(self.id)
        check_range("env.max_steps", self.max_steps, 0)

    def make(self, n: int) -> BatchedEnv:
        from gridrl.envs.gym_env import GymEnv

        return GymEnv(
            self.id,
            n,
            max_steps=self.max_steps or None,
            env_kwargs=dict(self.kwargs),
            channels_first=self.channels_first,
        )


CONFIGS: dict[str, type] = {"minatar": MinAtarConfig, "minigrid": MiniGridConfig, "gym": GymConfig}
_NAME_FIELD = {"minatar": "game", "minigrid": "task", "gym": "id"}


def env_config(family: str, id_or_game: str, **kwargs: Any) -> MinAtarConfig | MiniGridConfig | GymConfig:
    """The validated settings of ``family`` for the game / task / id ``id_or_game`` and field overrides."""
    check_choice("env.family", family, FAMILIES)
    cls = CONFIGS[family]
    names = [f.name for f in fields(cls)]
    for key in kwargs:
        if key not in names or key == _NAME_FIELD[family]:
            allowed = [k for k in names if k != _NAME_FIELD[family]]
            raise ConfigError(
                f"env.{key} is not a setting of {family} envs; choose among {', '.join(allowed)}"
            )
    return cls(**{_NAME_FIELD[family]: id_or_game, **kwargs})


def make_env(family: str, id_or_game: str, n: int, **kwargs: Any) -> BatchedEnv:
    """``n`` copies of ``id_or_game`` of ``family`` (``minatar`` | ``minigrid`` | ``gym``) as a batched env.

    ``kwargs`` are the family's settings (the fields of :class:`MinAtarConfig`, :class:`MiniGridConfig`
    or :class:`GymConfig`); seeds are not settings: pass them to ``reset``.
    """
    check_range("n", n, 1)
    return env_config(family, id_or_game, **kwargs).make(n)


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


def make_env_from_name(name: str, n: int, **kwargs: Any) -> BatchedEnv:
    """:func:`make_env` from a ``family/name`` string such as ``minatar/breakout`` or ``minigrid/fourrooms``."""
    family, rest = parse_env_name(name)
    return make_env(family, rest, n, **kwargs)
