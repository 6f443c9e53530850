"""``gridrl play``: play with the keyboard, or watch a trained network play, in an OpenCV window.

A Hydra app over ``conf/play.yaml`` (schema :class:`PlayCommandConfig`); ``gridrl play <run dir>`` watches
that run's agent. Without a display it says so in one line before loading anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from omegaconf import DictConfig

from gridrl.cli import app
from gridrl.cli.eval import DEVICES, chosen_game, command_line
from gridrl.config import (
    ConfigError,
    EnvConfig,
    check_choice,
    check_env_keys,
    check_range,
    load_env_config,
    register_schema,
    to_object,
)

if TYPE_CHECKING:
    from gridrl.envs.watch import WatchResult
    from gridrl.play import PlayResult


@dataclass
class PlayCommandConfig:
    """``gridrl play``: play with the keyboard, or watch a trained network play, in an OpenCV window."""

    checkpoint: str | None = None  # watch this run dir / .pt file play (default: you play with the keyboard)
    seed: int = 0  # seed of the first game
    size: int = 480  # window: pixels of the grid's longer side
    fps: float = 5.0  # watching: agent steps per second
    device: str = "cpu"  # where the watched network runs: auto | cpu | cuda
    env: dict[str, Any] = field(default_factory=dict)  # the game: env=<preset> and/or env.<key>=<value>

    def __post_init__(self) -> None:
        check_range("size", self.size, 16)
        check_range("fps", self.fps, 0.0, lo_open=True)
        check_choice("device", self.device, DEVICES)
        check_env_keys(self.env)


def register() -> None:
    register_schema("base_play", PlayCommandConfig)


def main(args: list[str]) -> Any:
    with app.funnel():
        if any(a in app.HELP_FLAGS for a in args):
            register()
            return app.show_help("play", [], ("env",))
        register()
        overrides = command_line(
            args, tuple(f.name for f in dataclasses.fields(PlayCommandConfig)), "checkpoint"
        )
        app.precheck("play", overrides, lambda cfg: to_object(cfg, "gridrl play"))
    return app.run("gridrl play", "play", play_task, overrides)


@app.task
def play_task(cfg: DictConfig) -> float:
    from gridrl import play as play_module
    from gridrl.window import NO_DISPLAY_MESSAGE, NoDisplayError, has_display

    settings = to_object(cfg, "gridrl play")
    assert isinstance(settings, PlayCommandConfig)
    if not has_display():  # before loading anything: say so at once
        raise NoDisplayError(NO_DISPLAY_MESSAGE)
    policy = None
    if settings.checkpoint:
        from gridrl.policy import load

        agent = load(settings.checkpoint, settings.device)
        env, changes = chosen_game(agent.env, cfg)
        agent.check_game(env, changes)
        policy = agent.act
    else:
        env, _ = chosen_game(load_env_config("default"), cfg)
    if not isinstance(env, EnvConfig):  # another family: watched only
        if policy is None:
            raise ConfigError(
                f"env.family={env.family}: keyboard play is for the built-in game; give a checkpoint of a "
                f"{env.family} run (gridrl play <run dir>) to watch its agent"
            )
        from gridrl.envs.watch import watch

        result: WatchResult | PlayResult = watch(env, policy, settings.seed, settings.size, settings.fps)
    else:
        result = play_module.play(
            env, policy=policy, seed=settings.seed, size=settings.size, fps=settings.fps
        )
    if not result.returns:
        return float("nan")
    outcomes = {o: result.outcomes.count(o) for o in dict.fromkeys(result.outcomes)}
    print(
        f"{len(result.returns)} episode(s), mean return {np.mean(result.returns):.2f}; "
        + ", ".join(f"{k} {v}" for k, v in outcomes.items())
    )
    return float(np.mean(result.returns))
