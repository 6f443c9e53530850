"""The Python API, re-exported by ``gridrl``: compose a config, train, load a trained agent, evaluate.

```python
import gridrl

metrics = gridrl.train(["trainer=debug", "seed=1"], run_dir="outputs/api_run")  # final metrics
agent = gridrl.load("outputs/api_run")                                         # a run dir or .pt
stats = gridrl.evaluate(agent, episodes=200)                                    # its game, fixed layouts
game = gridrl.GridGame(gridrl.load_env_config("seed"), n=4)                     # the game itself
obs, _ = game.reset(seed=0); obs, reward, terminated, truncated, info = game.step(agent.act(obs))
```
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gridrl.config import GameConfig, compose
from gridrl.policy import Agent, Policy

log = logging.getLogger("gridrl")


def train(overrides: Sequence[str] = (), run_dir: str | Path | None = None) -> dict[str, Any]:
    """Train the config ``gridrl train <overrides>`` would run, in ``run_dir`` (default
    ``outputs/<date>/<time>_<name>``, as the CLI); returns the final metrics (``final/metrics.json``).
    ``resume=<run dir>`` continues a run in place, as on the command line."""
    from gridrl.cli.train import run_training, validate
    from gridrl.rundir import RunDir

    cfg = compose(overrides)
    validate(cfg)
    if cfg.get("resume"):
        run = RunDir.of(cfg.resume)
    elif run_dir is not None:
        run = RunDir(run_dir)
    else:
        run = RunDir(Path("outputs") / time.strftime("%Y-%m-%d") / f"{time.strftime('%H-%M-%S')}_{cfg.name}")
    run.path.mkdir(parents=True, exist_ok=True)
    if not logging.getLogger().handlers and not log.handlers:
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    run_training(cfg, run, list(overrides))
    metrics = run.read_metrics()
    return metrics if metrics is not None else {}


def evaluate(
    policy: Agent | Policy,
    env: GameConfig | None = None,
    episodes: int | None = None,
    seed: int | None = None,
    epsilon: float = 0.0,
) -> dict[str, float]:
    """The evaluation stats of ``policy`` (an :class:`Agent`, or a function from uint8 observations
    (N, C, H, W) to N actions) over ``episodes`` fixed layouts / seeded episodes drawn from ``seed``: mean
    return, the oracle ratio and outcome rates (the built-in game) or the reference ratio (other
    families), the normalized score. For an agent, ``env``, ``episodes`` and ``seed`` default to its
    run's (its training evaluation); otherwise to the default game, 1000 layouts and seed 12345."""
    from gridrl.config import TrainerConfig, load_env_config
    from gridrl.evaluation import make_evaluator

    if isinstance(policy, Agent):
        trained = policy.config.trainer
        env = env or policy.env
        policy.check_game(env)
    else:
        trained = TrainerConfig()
        env = env or load_env_config("default")
    episodes = episodes or trained.eval_episodes
    seed = trained.eval_seed if seed is None else seed
    return make_evaluator(env, episodes, seed).run(policy, epsilon=epsilon).summary()
