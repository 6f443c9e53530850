"""Stable-Baselines3 DQN as a peer of gridrl, on the same game and with the same Q-network.

Shared by ``time_to_solve.py`` and ``throughput.py``; also a command that trains SB3 for a wall-clock
budget and writes TensorBoard events that ``time_to_solve.py`` reads like a gridrl run's::

    python benchmarks/sb3_peer.py --env default --seed 0 --budget 120 --run-dir /tmp/sb3_s0 [--reward clip]

* The game: ``gridrl/Grid-v0`` (:class:`gridrl.game.gym_env.GridEnv`) with the same env preset as the
  gridrl run, so the same rules and the same observation (``ego`` view by default); another family's
  game (MinAtar, MiniGrid: ``--env minatar/breakout`` or ``--experiment minatar_breakout``) through
  :class:`GameEnv`, gridrl's own batched adapter with one copy, so SB3 sees exactly gridrl's
  observations.  One game per process step (SB3's usual single-env loop) unless ``--n-envs`` says
  otherwise.
* The network: the body of a gridrl model preset (``conf/model/<name>.yaml``) as SB3's features
  extractor (:class:`gridrl.sb3.GridCNN`, built by gridrl's own :func:`build_q_network`), and SB3's
  linear Q head on top (:func:`gridrl.sb3.sb3_policy_kwargs`): exactly the layers and parameter count
  of the gridrl Q-network (pixels / 255 by SB3's ``normalize_images``).
* The learner: SB3's DQN with gridrl's ``agent=dqn`` preset values wherever SB3 has the knob (lr,
  gamma, batch, buffer, learning starts, update every ``1 / replay_ratio`` steps, target copy period,
  epsilon schedule by env steps, grad-norm clip, Huber loss). SB3 has no double DQN, n-step returns or
  reward transform: ``--reward raw`` (default) trains on the game's own rewards; ``--reward clip``
  applies gridrl's reward transform (scale and clip) through a gymnasium ``RewardWrapper``.
  ``--hparams paper`` takes the MinAtar paper's DQN instead (:data:`PAPER_DQN`, centred RMSprop).
* ``--experiment NAME``: the env, the network (``model``) and the evaluation episodes / seed of the
  gridrl experiment preset ``conf/experiment/NAME.yaml`` as ``gridrl train experiment=NAME`` composes
  them (``--env`` / ``--model`` are then ignored).
* The clock: training wall time starts when SB3 starts learning; every ``--eval-every-s`` seconds of
  training a callback evaluates the greedy policy with gridrl's :class:`Evaluator` (the same fixed
  layouts, oracle and loop-stop rule as ``gridrl train``) and the evaluation's own time is *subtracted*
  from SB3's clock.  Event wall times are ``start + training seconds``.  ``--eval-every-steps N`` also
  evaluates at every multiple of N env steps (exactly there: one game steps one env step at a time).
  Other families are scored by gridrl's :class:`~gridrl.evaluation.EpisodeEvaluator` (``eval/mean_return``,
  ``eval/normalized_score`` ...: the trainer's tags, :data:`gridrl.reports.EVAL_TAGS`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
import warnings
from dataclasses import dataclass
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
    GameConfig,
    ModelConfig,
    RewardConfig,
    TrainerConfig,
    compose_config,
    default_budget,
    load_env_config,
)
from gridrl.envs.base import LoopEnv
from gridrl.envs.factory import make_game, obs_spec
from gridrl.evaluation import make_evaluator
from gridrl.game.gym_env import GridEnv
from gridrl.reports import EVAL_TAGS


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


# The MinAtar paper's DQN (Young & Tian 2019, arXiv:1903.03176; the constants of examples/dqn.py in
# github.com/kenjyoung/MinAtar): replay 100k, batch 32, one update per env step after 5000 random steps,
# target copy every 1000 updates (= env steps here), gamma 0.99, Huber loss (SB3's), no gradient clipping,
# epsilon 1.0 -> 0.1 over 100k frames (SB3 decays from step 0, the paper from its 5000th step).
PAPER_DQN: dict[str, Any] = {
    "learning_rate": 2.5e-4,
    "buffer_size": 100_000,
    "learning_starts": 5_000,
    "batch_size": 32,
    "gamma": 0.99,
    "train_freq": 1,
    "gradient_steps": 1,
    "target_update_interval": 1_000,
    "exploration_initial_eps": 1.0,
    "exploration_final_eps": 0.1,
    "max_grad_norm": 1e9,  # none
}
PAPER_EPSILON_FRAMES = 100_000
# and its optimizer, centred RMSprop (squared-gradient momentum 0.95, min squared gradient 0.01), in place
# of SB3's default Adam; SB3 passes the learning rate
PAPER_OPTIMIZER: dict[str, Any] = {
    "optimizer_class": torch.optim.RMSprop,
    "optimizer_kwargs": {"alpha": 0.95, "eps": 0.01, "centered": True},
}
HPARAMS = ("agent", "paper")  # a gridrl agent preset's values (sb3_dqn_kwargs) | PAPER_DQN


def peer_kwargs(hparams: str, agent: DQNConfig, planned_steps: int, n_envs: int = 1) -> dict[str, Any]:
    """SB3 DQN arguments: the gridrl agent preset's values (``hparams="agent"``) or the MinAtar paper's
    (``"paper"``, epsilon decayed over its 100k frames of the ``planned_steps`` passed to ``learn``)."""
    if hparams == "paper":
        return {**PAPER_DQN, "exploration_fraction": min(1.0, PAPER_EPSILON_FRAMES / planned_steps)}
    if hparams != "agent":
        raise ValueError(f"hparams={hparams!r}: choose one of {', '.join(HPARAMS)}")
    return sb3_dqn_kwargs(agent, planned_steps, n_envs)


# ------------------------------------------------------------------------------------------ network
def gridrl_parameter_count(env_cfg: GameConfig, model: str | ModelConfig) -> int:
    shape, actions = obs_spec(env_cfg)
    net = build_q_network(load_model_config(model) if isinstance(model, str) else model, shape, actions)
    return sum(p.numel() for p in net.parameters())


def peer_policy_kwargs(vec: Any, model: ModelConfig) -> tuple[Any, dict[str, Any]]:
    """``(vec, policy_kwargs)``: gridrl's network as SB3's features extractor (:func:`gridrl.sb3.sb3_policy_kwargs`).

    An image with fewer rows than channels (MiniGrid's ``(20, 7, 7)``) is already channels-first, but SB3's
    heuristic would take it for channels-last and transpose it: ``VecTransposeImage(skip=True)`` turns the
    heuristic off, and the kwargs (which do not depend on the channel count) are asked for with a
    one-channel image of the same size, which ``sb3_policy_kwargs``'s channel check accepts.
    """
    from stable_baselines3.common.preprocessing import is_image_space_channels_first
    from stable_baselines3.common.vec_env import VecTransposeImage

    from gridrl.sb3 import sb3_policy_kwargs

    space = vec.observation_space
    with warnings.catch_warnings():  # SB3 warns when it guesses channels-last
        warnings.simplefilter("ignore", UserWarning)
        channels_first = is_image_space_channels_first(space)
    if channels_first:
        return vec, sb3_policy_kwargs(vec, model=model)
    one_channel = gymnasium.spaces.Box(0, 255, (1, *space.shape[1:]), dtype=np.uint8)
    return VecTransposeImage(vec, skip=True), sb3_policy_kwargs(one_channel, model=model)


# ------------------------------------------------------------------------------------------ env
class GridrlReward(gymnasium.RewardWrapper):
    """gridrl's reward transform (scale, clip, symlog) applied to the game's reward."""

    def __init__(self, env: gymnasium.Env, cfg: RewardConfig) -> None:
        super().__init__(env)
        self.cfg = cfg

    def reward(self, reward: float) -> float:
        return float(transform_reward(np.asarray([reward]), self.cfg)[0])


class GameEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One copy of another family's game (gridrl's own adapter: ``make_game(cfg, 1)``) as a gymnasium env,
    so SB3 sees exactly the uint8 ``(C, H, W)`` observations gridrl's learners see.

    The adapter resets a finished episode by itself; its first observation is kept for the ``reset()``
    that SB3 calls next (a ``reset(seed=s)`` starts afresh: copy 0 seeded with ``s``). A finished step
    returns the episode's last observation and ``info`` with ``episode_return`` / ``episode_length``.
    """

    def __init__(self, cfg: GameConfig) -> None:
        game = make_game(cfg, 1)
        if not isinstance(game, LoopEnv):
            raise TypeError("the built-in game has its own gymnasium adapter, gridrl.game.gym_env.GridEnv")
        self.cfg, self.game = cfg, game
        self.observation_space = gymnasium.spaces.Box(0, 255, game.obs_shape, dtype=np.uint8)
        self.action_space = gymnasium.spaces.Discrete(game.n_actions)
        self._next: np.ndarray | None = None  # the auto-reset's first observation

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is None and self._next is not None:
            obs, self._next = self._next, None
            return obs, {}
        if seed is None:
            seed = int(self.np_random.integers(2**31 - 1))
        self._next = None
        obs, _ = self.game.reset(seed)
        return obs[0].copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, term, trunc, info = self.game.step(np.asarray([int(action)], dtype=np.int64))
        terminated, truncated = bool(term[0]), bool(trunc[0])
        if not (terminated or truncated):
            return obs[0].copy(), float(reward[0]), False, False, {}
        self._next = obs[0].copy()
        done = {
            "episode_return": float(info["episode_return"][0]),
            "episode_length": int(info["episode_length"][0]),
        }
        return info["final_obs"][0].copy(), float(reward[0]), terminated, truncated, done

    def close(self) -> None:
        self.game.close()


def make_env(preset: str | GameConfig, reward: str = "raw", agent: DQNConfig | None = None) -> gymnasium.Env:
    """One game of the env preset (or env config) ``preset`` as a gymnasium env: :class:`GridEnv` for the
    built-in game, :class:`GameEnv` for another family; ``reward="clip"``: gridrl's reward transform."""
    cfg = load_env_config(preset) if isinstance(preset, str) else preset
    env: gymnasium.Env = GridEnv(config=cfg) if isinstance(cfg, EnvConfig) else GameEnv(cfg)
    if reward == "clip":
        env = GridrlReward(env, (agent or load_dqn_config()).reward)
    return env


@dataclass
class PeerSetup:
    """What the SB3 peer plays and is scored on, as the gridrl run it stands beside has it."""

    env: GameConfig
    model: ModelConfig
    eval_episodes: int
    eval_seed: int
    eval_epsilon: float = 0.0  # the experiment's trainer.eval_epsilon (DoorKey: 0.05)


def peer_setup(
    preset: str = "default",
    model: str = "ego_cnn",
    experiment: str | None = None,
    obs_mode: str | None = None,
) -> PeerSetup:
    """The env preset (``obs_mode``: in that view instead of the preset's) and model preset, with the
    trainer's default evaluation; or, for ``experiment``, the env, model and evaluation of
    ``gridrl train experiment=<experiment>``."""
    if experiment:
        cfg = compose_config([f"experiment={experiment}"])
        tr = cfg.trainer
        return PeerSetup(cfg.env, cfg.model, tr.eval_episodes, tr.eval_seed, tr.eval_epsilon)
    tr = TrainerConfig()
    env = load_env_config(preset)
    if obs_mode:
        env = dataclasses.replace(env, obs_mode=obs_mode)
    return PeerSetup(env, load_model_config(model), tr.eval_episodes, tr.eval_seed, tr.eval_epsilon)


def make_sb3_dqn(
    preset: str | GameConfig,
    model: str | ModelConfig,
    seed: int,
    reward: str = "raw",
    n_envs: int = 1,
    planned_steps: int = 10_000_000,
    overrides: dict[str, Any] | None = None,
    device: str = "cpu",
    agent_preset: str = "dqn",
    hparams: str = "agent",
) -> Any:
    """An SB3 DQN on the game of ``preset`` (an env preset or config) with the gridrl ``model``'s layers and
    the values of the gridrl agent preset ``agent_preset`` where SB3 has the knob, or the MinAtar paper's
    (``hparams="paper"``: :data:`PAPER_DQN`, centred RMSprop); ``overrides`` on top."""
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_vec_env

    agent = load_dqn_config(agent_preset)
    env_cfg = load_env_config(preset) if isinstance(preset, str) else preset
    vec = make_vec_env(lambda: make_env(env_cfg, reward, agent), n_envs=n_envs, seed=seed)
    kwargs = peer_kwargs(hparams, agent, planned_steps, n_envs)
    kwargs.update(overrides or {})
    vec, policy_kwargs = peer_policy_kwargs(
        vec, load_model_config(model) if isinstance(model, str) else model
    )
    if hparams == "paper":
        policy_kwargs.update(PAPER_OPTIMIZER)
    return DQN("CnnPolicy", vec, policy_kwargs=policy_kwargs, seed=seed, device=device, verbose=0, **kwargs)


def greedy_policy(model: Any) -> Any:
    """Batched greedy actions of an SB3 DQN, for gridrl's evaluators."""

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
    experiment: str | None = None,
    hparams: str = "agent",
    eval_every_steps: int = 0,
    eval_episodes: int = 0,
    obs_mode: str | None = None,
) -> dict[str, Any]:
    """Train SB3 DQN for ``budget_s`` seconds of training (evaluation excluded); write TB events with
    gridrl's eval tags (wall time = start + training seconds) and ``final/metrics.json``.

    Evaluations: every ``eval_every_s`` seconds of training, at every multiple of ``eval_every_steps``
    env steps (0: none) and at the end, on the trainer's (or the experiment's) evaluation episodes, or on
    ``eval_episodes`` of them (0: all); ``experiment`` (a gridrl experiment preset) replaces ``preset``
    and ``model`` (:func:`peer_setup`)."""
    from stable_baselines3.common.callbacks import BaseCallback
    from torch.utils.tensorboard import SummaryWriter

    from gridrl.evaluation import Evaluator

    threads = configure_threads(threads)
    setup = peer_setup(preset, model, experiment, obs_mode)
    evaluator = make_evaluator(setup.env, eval_episodes or setup.eval_episodes, setup.eval_seed)
    if isinstance(evaluator, Evaluator):
        evaluator.oracle  # noqa: B018  (computed before the clock starts)
    planned = 10_000_000
    sb3 = make_sb3_dqn(
        setup.env, setup.model, seed, reward, n_envs, planned, agent_preset=agent_preset, hparams=hparams
    )
    policy = greedy_policy(sb3)
    run_dir.mkdir(parents=True, exist_ok=True)

    class WallClockEval(BaseCallback):
        def _on_training_start(self) -> None:
            self.wall0 = time.time()
            self.writer = SummaryWriter(str(run_dir / "tb"))
            self.t0 = time.perf_counter()
            self.eval_s = 0.0
            self.next_eval = eval_every_s
            self.next_eval_step = eval_every_steps
            self.last: dict[str, float] = {}
            self.sps_mark = (0.0, 0)

        def train_s(self) -> float:
            return time.perf_counter() - self.t0 - self.eval_s

        def evaluate(self) -> None:
            step = self.num_timesteps
            if self.last.get("env_step") == step:
                return
            train_s = self.train_s()
            t = time.perf_counter()
            sb3.policy.set_training_mode(False)
            stats = evaluator.run(policy, epsilon=setup.eval_epsilon).summary()
            self.eval_s += time.perf_counter() - t
            wall = self.wall0 + train_s
            sps = (step - self.sps_mark[1]) / max(train_s - self.sps_mark[0], 1e-9)
            self.sps_mark = (train_s, step)
            scalars = {tag: stats[key] for key, tag in EVAL_TAGS.items() if key in stats}
            scalars |= {
                tblog.SPS: sps,
                tblog.UPDATES: float(sb3._n_updates),
                tblog.TIME_PREFIX + "eval": self.eval_s,
            }
            for tag, value in scalars.items():
                if np.isfinite(value):
                    self.writer.add_scalar(tag, value, step, walltime=wall)
            self.last = {**stats, "env_step": step, "train_s": train_s}

        def _on_step(self) -> bool:
            train_s = self.train_s()
            if train_s >= budget_s:
                return False
            if eval_every_steps and self.num_timesteps >= self.next_eval_step:
                self.evaluate()
                while self.next_eval_step <= self.num_timesteps:
                    self.next_eval_step += eval_every_steps
            if train_s >= self.next_eval:
                self.evaluate()
                while self.next_eval <= train_s:
                    self.next_eval += eval_every_s
            return True

        def _on_training_end(self) -> None:
            self.evaluate()
            self.writer.close()

    cb = WallClockEval()
    sb3.learn(total_timesteps=planned, callback=cb)
    evaluator_close = getattr(evaluator, "close", None)
    if evaluator_close is not None:
        evaluator_close()
    kwargs = peer_kwargs(hparams, load_dqn_config(agent_preset), planned, n_envs)
    summary = {
        **cb.last,
        "updates": int(sb3._n_updates),
        "stopped_by_time_limit": True,
        "times_s": {"train": round(cb.train_s(), 3), "eval": round(cb.eval_s, 3)},
        "threads": threads,
        "sb3_kwargs": kwargs,
        "optimizer": type(sb3.policy.optimizer).__name__,
        "hparams": hparams,
        "agent_preset": agent_preset,
        "experiment": experiment,
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
    parser.add_argument(
        "--obs-mode", default=None, help="the built-in game's view (env.obs_mode; default: the preset's)"
    )
    parser.add_argument(
        "--experiment", default=None, help="gridrl experiment preset: its env, model and evaluation"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds (evaluation excluded)")
    parser.add_argument("--eval-every-s", type=float, default=10.0, help="training seconds between evals")
    parser.add_argument(
        "--eval-every-steps",
        type=int,
        default=0,
        help="also evaluate at every multiple of this many env steps",
    )
    parser.add_argument(
        "--eval-episodes", type=int, default=0, help="evaluation episodes (0: the trainer's / experiment's)"
    )
    parser.add_argument("--reward", choices=("raw", "clip"), default="raw", help="game rewards or gridrl's")
    parser.add_argument("--n-envs", type=int, default=1, help="games in SB3's vectorised env")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    parser.add_argument(
        "--agent", default="dqn", help="gridrl agent preset whose values SB3 takes (conf/agent)"
    )
    parser.add_argument(
        "--hparams",
        choices=HPARAMS,
        default="agent",
        help="agent: the --agent preset's values; paper: the MinAtar paper's DQN (centred RMSprop)",
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
        args.experiment,
        args.hparams,
        args.eval_every_steps,
        args.eval_episodes,
        args.obs_mode,
    )
    values = f"{args.agent} values" if args.hparams == "agent" else "the MinAtar paper's values"
    ratio = summary.get("oracle_ratio", math.nan)
    print(
        f"sb3 dqn ({values}, {args.n_envs} games, {args.reward} rewards): {summary['env_step']} env steps in "
        f"{summary['times_s']['train']} s of training, final mean return {summary['mean_return']:.3f}"
        + (f" ({100 * ratio:.1f}% of the oracle)" if math.isfinite(ratio) else "")
    )


if __name__ == "__main__":
    main()
