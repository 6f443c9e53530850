"""``gridrl eval``: rollouts of a trained network (greedy unless the run evaluated with trainer.eval_epsilon) on fixed layouts, scored against the oracle.

A Hydra app over ``conf/eval.yaml`` (schema :class:`EvalCommandConfig`): ``gridrl eval <run dir>`` or
``checkpoint=<run dir | .pt>``, ``env=<preset>`` and ``env.<key>=<value>`` change the game (a change of
what the network sees or can do is refused), ``-m checkpoint=a,b`` evaluates several in one multirun.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from gridrl.cli import app
from gridrl.config import (
    ConfigError,
    GameConfig,
    check_choice,
    check_env_keys,
    check_range,
    load_env_config,
    presets,
    register_schema,
    to_object,
)

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class EvalCommandConfig:
    """``gridrl eval``: rollouts of a trained network (greedy unless the run evaluated with trainer.eval_epsilon) on fixed layouts, scored against the oracle."""

    checkpoint: str = MISSING  # run dir (final weights, else its newest checkpoint) or a .pt file
    episodes: int | None = None  # layouts, one episode each (default: the run's trainer.eval_episodes)
    seed: int | None = None  # seed of the layouts (default: the run's trainer.eval_seed, as in training)
    epsilon: float | None = (
        None  # chance of a random action per step (default: the run's trainer.eval_epsilon, as in training; 0 = greedy)
    )
    video: bool = False  # also write eval.mp4 (H.264) and eval.gif of a few episodes
    video_episodes: int = 3  # episodes in the video
    video_size: int = 320  # video frame: pixels of the grid's longer side (a text band is added)
    fps: float = 8.0  # video frames (game steps) per second
    out: str | None = (
        None  # output dir of eval.json and videos (default: <run>/eval, <run>/eval/<ckpt> for a file)
    )
    device: str = "auto"  # auto (cuda if available) | cpu | cuda
    env: dict[str, Any] = field(default_factory=dict)  # the game: env=<preset> and/or env.<key>=<value>

    def __post_init__(self) -> None:
        if self.episodes is not None:
            check_range("episodes", self.episodes, 1)
        if self.epsilon is not None:
            check_range("epsilon", self.epsilon, 0.0, 1.0)
        check_range("video_episodes", self.video_episodes, 1)
        check_range("video_size", self.video_size, 16)
        check_range("fps", self.fps, 0.0, lo_open=True)
        check_choice("device", self.device, DEVICES)
        check_env_keys(self.env)


def register() -> None:
    register_schema("base_eval", EvalCommandConfig)


def command_line(args: list[str], keys: tuple[str, ...], target: str) -> list[str]:
    """Hydra overrides of a command line: a positional run dir becomes ``<target>=<dir>``, and
    ``env.<key>=v`` becomes ``++env.<key>=v`` (the game's keys are checked by the command's schema)."""
    pos, rest = app.positional(args, keys)
    if len(pos) > 1:
        raise ConfigError(f"give one run dir or {target}=<path> (got {' '.join(pos)})")
    out = [f"{target}={app.quote(pos[0])}"] if pos else []
    for a in rest:
        key, _, value = a.partition("=")
        if key == "env" and value not in presets("env") and not app.split_flags(rest)[1]:
            raise ConfigError(f"env={value}: no such game preset; choose one of {', '.join(presets('env'))}")
    return out + [f"++{a}" if a.startswith("env.") else a for a in rest]


def main(args: list[str]) -> Any:
    with app.funnel():
        if any(a in app.HELP_FLAGS for a in args):
            register()
            return app.show_help("eval", [], ("env",))
        register()
        overrides = command_line(
            args, tuple(f.name for f in dataclasses.fields(EvalCommandConfig)), "checkpoint"
        )
        app.precheck("eval", overrides, _settings)
    return app.run("gridrl eval", "eval", eval_task, overrides)


def _settings(cfg: DictConfig) -> EvalCommandConfig:
    if OmegaConf.is_missing(cfg, "checkpoint"):
        raise ConfigError("checkpoint=<run dir or .pt file> is required (or give the run dir first)")
    obj = to_object(cfg, "gridrl eval")
    assert isinstance(obj, EvalCommandConfig)
    return obj


def chosen_game(base: GameConfig, cfg: DictConfig) -> tuple[GameConfig, list[str]]:
    """The game a command runs: the trained one (``base``) or the ``env=<preset>`` chosen, then the
    ``env.<key>`` overrides; and the changes as typed (for messages)."""
    from hydra.core.hydra_config import HydraConfig

    preset = HydraConfig.get().runtime.choices.get("env")
    changes = [o for o in HydraConfig.get().overrides.task if o.lstrip("+").startswith("env")]
    container = OmegaConf.to_container(cfg.env, resolve=True)
    assert isinstance(container, dict)
    values = {str(k): v for k, v in container.items() if k != "defaults"}
    env = load_env_config(None, None if preset else base, values)
    return env, [c.lstrip("+") for c in changes]


@app.task
def eval_task(cfg: DictConfig) -> float:
    from gridrl.policy import load
    from gridrl.reports import format_table, run_eval
    from gridrl.rundir import RunDir

    settings = _settings(cfg)
    agent = load(settings.checkpoint, settings.device)
    env, changes = chosen_game(agent.env, cfg)
    agent.check_game(env, changes)
    trained = agent.config.trainer
    episodes = settings.episodes or trained.eval_episodes
    seed = trained.eval_seed if settings.seed is None else settings.seed
    epsilon = trained.eval_epsilon if settings.epsilon is None else settings.epsilon
    if settings.out:
        out_dir = Path(settings.out).expanduser()
    elif agent.weights == RunDir(agent.run_dir).final_weights:
        out_dir = RunDir(agent.run_dir).eval_dir
    else:
        out_dir = RunDir(agent.run_dir).eval_dir / agent.weights.stem
    container = OmegaConf.to_container(agent.config_node, resolve=True)
    assert isinstance(container, dict)
    saved = {str(k): v for k, v in container.items()}
    record = {
        "checkpoint": settings.checkpoint,
        "weights": str(agent.weights),
        "env_step": agent.env_step,
        "env_changes": changes,
        "device": str(agent.device),
    }
    report = run_eval(
        env, agent.act, out_dir, episodes, seed, epsilon, settings.video_episodes if settings.video else 0,
        settings.video_size, settings.fps, record, saved,
    )  # fmt: skip
    print(format_table(report))
    video = report["video"]
    print(f"wrote {out_dir / 'eval.json'}" + (f", {video['mp4']}, {video['gif']}" if video else ""))
    return float(report["stats"]["mean_return"])
