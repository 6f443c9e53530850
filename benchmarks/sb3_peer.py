"""Stable-Baselines3 DQN as a peer of gridrl, on the same game and with the same Q-network.

Shared by ``time_to_solve.py`` and ``throughput.py``; also a command that trains SB3 for a wall-clock
budget and writes TensorBoard events that ``time_to_solve.py`` reads like a gridrl run's::

    python benchmarks/sb3_peer.py --env default --seed 0 --budget 120 --run-dir /tmp/sb3_s0 [--reward clip]

* The game: ``gridrl/Grid-v0`` (:class:`gridrl.game.gym_env.GridEnv`) with the same env preset as the
  gridrl run, so the same rules and the same observation (``ego`` view by default).  One game per
  process step (SB3's usual single-env loop) unless ``--n-envs`` says otherwise.
* The network: the body of a gridrl model preset (``conf/model/<name>.yaml``) as SB3's features
  extractor (:class:`gridrl.sb3.GridCNN`, built by gridrl's own :func:`build_q_network`), and SB3's
  linear Q head on top (:func:`gridrl.sb3.sb3_policy_kwargs`): exactly the layers and parameter count
  of the gridrl Q-network (pixels / 255 by SB3's ``normalize_images``).
* The learner: SB3's DQN with gridrl's ``agent=dqn`` preset values wherever SB3 has the knob (lr,
  gamma, batch, buffer, learning starts, update every ``1 / replay_ratio`` steps, target copy period,
  epsilon schedule by env steps, grad-norm clip, Huber loss). SB3 has no double DQN, n-step returns or
  reward transform: ``--reward raw`` (default) trains on the game's own rewards; ``--reward clip``
  applies gridrl's reward transform (scale and clip) through a gymnasium ``RewardWrapper``.
* The clock: training wall time starts when SB3 starts learning; every ``--eval-every-s`` seconds of
  training a callback evaluates the greedy policy with gridrl's :class:`Evaluator` (the same fixed
  layouts, oracle and loop-stop rule as ``gridrl train``) and the evaluation's own time is *subtracted*
  from SB3's clock.  Event wall times are ``start + training seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch

from gridrl import tblog
from gridrl.agent.common import transform_reward
from gridrl.agent.networks import build_q_network
from gridrl.config import (
    DQNConfig,
    EnvConfig,
    ModelConfig,
    RewardConfig,
    TrainerConfig,
    compose_config,
    default_budget,
    load_env_config,
)
from gridrl.evaluation import Evaluator
from gridrl.game.grid import GridGame, n_actions
from gridrl.game.gym_env import GridEnv


# ------------------------------------------------------------------------------------------ configs
def load_model_config(name: str) -> ModelConfig:
    """A gridrl model preset (``conf/model/<name>.yaml``) as a typed :class:`ModelConfig`."""
    return compose_config([f"model={name}"]).model


def load_dqn_config(name: str = "dqn") -> DQNConfig:
    """A gridrl agent preset (``conf/agent/<name>.yaml``) as a typed :class:`DQNConfig`."""
    agent = compose_config([f"agent={name}"]).agent
    assert isinstance(agent, DQNConfig), f"agent={name} is not a DQN preset"
    return agent


def sb3_dqn_kwargs(agent: DQNConfig, planned_steps: int, n_envs: int = 1) -> dict[str, Any]:
    """SB3 DQN arguments equal to gridrl's DQN preset where SB3 has the knob, for ``n_envs`` games.

    SB3 decays epsilon over a fraction of ``total_timesteps``: ``planned_steps`` is the total passed
    to ``learn`` (a wall-clock callback stops the run long before), so the fraction is set to give
    the preset's ``decay_steps``. SB3 counts ``train_freq`` in VecEnv steps (``n_envs`` env steps each)
    and the target copy period in env steps (gridrl: in updates).
    """
    per_vec_step = agent.replay_ratio * n_envs  # gradient updates per VecEnv step
    train_freq, gradient_steps = (
        (1, round(per_vec_step)) if per_vec_step >= 1 else (round(1 / per_vec_step), 1)
    )
    lr: Any = agent.lr
    if agent.lr_anneal:  # linear to 0 over gridrl's trainer.total_steps, as gridrl's lr_at
        total = default_budget(EnvConfig())  # the default game's trainer.total_steps=0
        # SB3 calls it with the fraction of planned_steps left
        lr = partial(_annealed_lr, lr=agent.lr, planned=planned_steps, total=total)
    return {
        "learning_rate": lr,
        "buffer_size": agent.buffer_size,
        "learning_starts": agent.learning_starts,
        "batch_size": agent.batch_size,
        "gamma": agent.gamma,
        "train_freq": train_freq,
        "gradient_steps": gradient_steps,
        "target_update_interval": round(agent.target_update / agent.replay_ratio),
        "exploration_initial_eps": agent.epsilon.start,
        "exploration_final_eps": agent.epsilon.end,
        "exploration_fraction": min(1.0, agent.epsilon.decay_steps / planned_steps),
        "max_grad_norm": agent.max_grad_norm if agent.max_grad_norm > 0 else 1e9,
    }


def _annealed_lr(progress_remaining: float, lr: float, planned: int, total: int) -> float:
    return lr * max(0.0, 1.0 - (1.0 - progress_remaining) * planned / total)


# ------------------------------------------------------------------------------------------ network
def gridrl_parameter_count(env_cfg: EnvConfig, model: str) -> int:
    net = build_q_network(load_model_config(model), GridGame(env_cfg, 1).obs_shape, n_actions(env_cfg))
    return sum(p.numel() for p in net.parameters())


# ------------------------------------------------------------------------------------------ env
class GridrlReward(gymnasium.RewardWrapper):
    """gridrl's reward transform (scale, clip, symlog) applied to the game's reward."""

    def __init__(self, env: gymnasium.Env, cfg: RewardConfig) -> None:
        super().__init__(env)
        self.cfg = cfg

    def reward(self, reward: float) -> float:
        return float(transform_reward(np.asarray([reward]), self.cfg)[0])


def make_env(preset: str, reward: str = "raw", agent: DQNConfig | None = None) -> gymnasium.Env:
    env: gymnasium.Env = GridEnv(preset=preset)
    if reward == "clip":
        env = GridrlReward(env, (agent or load_dqn_config()).reward)
    return env


def make_sb3_dqn(
    preset: str,
    model: str,
    seed: int,
    reward: str = "raw",
    n_envs: int = 1,
    planned_steps: int = 10_000_000,
    overrides: dict[str, Any] | None = None,
    device: str = "cpu",
    agent_preset: str = "dqn",
) -> Any:
    """An SB3 DQN on ``gridrl/Grid-v0`` (``preset``) with the gridrl ``model``'s layers and the values of
    the gridrl agent preset ``agent_preset`` where SB3 has the knob (``overrides`` on top)."""
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_vec_env

    from gridrl.sb3 import sb3_policy_kwargs

    agent = load_dqn_config(agent_preset)
    vec = make_vec_env(lambda: make_env(preset, reward, agent), n_envs=n_envs, seed=seed)
    kwargs = sb3_dqn_kwargs(agent, planned_steps, n_envs)
    kwargs.update(overrides or {})
    return DQN(
        "CnnPolicy",
        vec,
        policy_kwargs=sb3_policy_kwargs(vec, model=load_model_config(model)),
        seed=seed,
        device=device,
        verbose=0,
        **kwargs,
    )


def greedy_policy(model: Any) -> Any:
    """Batched greedy actions of an SB3 DQN, for gridrl's :class:`Evaluator`."""

    def policy(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model.q_net(torch.as_tensor(obs)).argmax(1).numpy()

    return policy


def configure_threads(threads: int) -> int:
    """The same torch settings as gridrl's Trainer: threads (0 = all cores) and oneDNN on."""
    torch.set_num_threads(threads or os.cpu_count() or 1)
    torch.backends.mkldnn.enabled = True
    return torch.get_num_threads()


# ------------------------------------------------------------------------------------------ time-to-solve run
def train_for_budget(
    preset: str,
    model: str,
    seed: int,
    budget_s: float,
    eval_every_s: float,
    run_dir: Path,
    reward: str = "raw",
    n_envs: int = 1,
    threads: int = 0,
    agent_preset: str = "dqn",
) -> dict[str, Any]:
    """Train SB3 DQN for ``budget_s`` seconds of training (evaluation excluded); write TB events with
    gridrl's eval tags (wall time = start + training seconds) and ``final/metrics.json``."""
    from stable_baselines3.common.callbacks import BaseCallback
    from torch.utils.tensorboard import SummaryWriter

    threads = configure_threads(threads)
    env_cfg = load_env_config(preset)
    trainer_defaults = TrainerConfig()
    evaluator = Evaluator(env_cfg, trainer_defaults.eval_episodes, trainer_defaults.eval_seed)
    evaluator.oracle  # noqa: B018  (computed before the clock starts)
    sb3 = make_sb3_dqn(preset, model, seed, reward, n_envs, agent_preset=agent_preset)
    policy = greedy_policy(sb3)
    run_dir.mkdir(parents=True, exist_ok=True)

    class WallClockEval(BaseCallback):
        def _on_training_start(self) -> None:
            self.wall0 = time.time()
            self.writer = SummaryWriter(str(run_dir / "tb"))
            self.t0 = time.perf_counter()
            self.eval_s = 0.0
            self.next_eval = eval_every_s
            self.last: dict[str, float] = {}
            self.sps_mark = (0.0, 0)

        def train_s(self) -> float:
            return time.perf_counter() - self.t0 - self.eval_s

        def evaluate(self) -> None:
            train_s = self.train_s()
            t = time.perf_counter()
            sb3.policy.set_training_mode(False)
            stats = evaluator.run(policy).summary()
            self.eval_s += time.perf_counter() - t
            step, wall = self.num_timesteps, self.wall0 + train_s
            sps = (step - self.sps_mark[1]) / max(train_s - self.sps_mark[0], 1e-9)
            self.sps_mark = (train_s, step)
            for tag, value in (
                (tblog.EVAL_ORACLE_RATIO, stats["oracle_ratio"]),
                (tblog.EVAL_MEAN_RETURN, stats["mean_return"]),
                (tblog.EVAL_FOOD_RATE, stats["food_rate"]),
                (tblog.EVAL_ENEMY_RATE, stats["enemy_rate"]),
                (tblog.SPS, sps),
                (tblog.UPDATES, float(sb3._n_updates)),
                (tblog.TIME_PREFIX + "eval", self.eval_s),
            ):
                self.writer.add_scalar(tag, value, step, walltime=wall)
            self.last = {**stats, "env_step": step, "train_s": train_s}

        def _on_step(self) -> bool:
            train_s = self.train_s()
            if train_s >= budget_s:
                return False
            if train_s >= self.next_eval:
                self.evaluate()
                while self.next_eval <= train_s:
                    self.next_eval += eval_every_s
            return True

        def _on_training_end(self) -> None:
            self.evaluate()
            self.writer.close()

    cb = WallClockEval()
    sb3.learn(total_timesteps=10_000_000, callback=cb)
    summary = {
        **cb.last,
        "updates": int(sb3._n_updates),
        "stopped_by_time_limit": True,
        "times_s": {"train": round(cb.train_s(), 3), "eval": round(cb.eval_s, 3)},
        "threads": threads,
        "sb3_kwargs": sb3_dqn_kwargs(load_dqn_config(agent_preset), 10_000_000, n_envs),
        "agent_preset": agent_preset,
        "reward": reward,
        "n_envs": n_envs,
    }
    (run_dir / "final").mkdir(exist_ok=True)
    (run_dir / "final" / "metrics.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description="Train SB3 DQN on gridrl's game for a wall-clock budget.")
    parser.add_argument("--env", default="default", help="gridrl env preset (conf/env)")
    parser.add_argument("--model", default="ego_cnn", help="gridrl model preset whose body SB3 uses")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds (evaluation excluded)")
    parser.add_argument("--eval-every-s", type=float, default=10.0, help="training seconds between evals")
    parser.add_argument("--reward", choices=("raw", "clip"), default="raw", help="game rewards or gridrl's")
    parser.add_argument("--n-envs", type=int, default=1, help="games in SB3's vectorised env")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    parser.add_argument(
        "--agent", default="dqn", help="gridrl agent preset whose values SB3 takes (conf/agent)"
    )
    parser.add_argument("--run-dir", type=Path, required=True)
    args = parser.parse_args()
    summary = train_for_budget(
        args.env,
        args.model,
        args.seed,
        args.budget,
        args.eval_every_s,
        args.run_dir,
        args.reward,
        args.n_envs,
        args.threads,
        args.agent,
    )
    print(
        f"sb3 dqn ({args.agent} values, {args.n_envs} games, {args.reward} rewards): {summary['env_step']} env steps in {summary['times_s']['train']} s "
        f"of training, final {100 * summary['oracle_ratio']:.1f}% of the oracle"
    )


if __name__ == "__main__":
    main()
