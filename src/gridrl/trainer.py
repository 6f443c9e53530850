"""The Trainer: one loop for every learner.

collect (one batched forward for N games) -> store (the learner) -> learn (when due) -> log -> evaluate
-> checkpoint. The Trainer alone knows about wall time, counters, files, logging and checkpoints.

It is the longest module after the schema because everything the loop owns lives with it: the state a
resume restores (games, learner, counters, RNGs, the log window), the warm start and restart of a run,
the log lines and the signal handling; each phase is a method short enough to read in one screen. The
device choices (threads, precision, convolution path) are the first functions; moving them out is the
next split (``gridrl/device.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import random
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from gridrl import checkpoint as ckpt
from gridrl import tblog
from gridrl.agent.common import Learner, epsilon_at
from gridrl.agent.dqn import DQNLearner
from gridrl.agent.explore import CountBonus
from gridrl.agent.networks import QNetwork, build_q_network, count_parameters
from gridrl.agent.pqn import PQNLearner
from gridrl.config import Config, ConfigError, DQNConfig, EnvConfig, PQNConfig, TrainerConfig, long_risky_game
from gridrl.envs.base import LoopEnv
from gridrl.envs.factory import game_label, make_game, obs_spec, truncation_gap
from gridrl.evaluation import Evaluator, make_evaluator
from gridrl.game.grid import OUTCOME_ENEMY, OUTCOME_FOOD, GridGame
from gridrl.reports import TrainingReporter
from gridrl.rundir import RunDir, atomic_write

log = logging.getLogger("gridrl")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from gridrl.config import ConfigError

        raise ConfigError("device=cuda but no CUDA device is available; use device=cpu or device=auto")
    return torch.device(name)


def configure_torch(threads: int, deterministic: bool, device: torch.device) -> None:
    """Threads and backends set deliberately: oneDNN on (about 4x for small convs on CPU).
    ``threads`` 0 means the job's share of the cores: ``GRIDRL_THREADS`` (set per job by the sweep
    callback) or every core this process may run on (a SLURM allocation or taskset is honoured)."""
    torch.set_num_threads(threads or int(os.environ.get("GRIDRL_THREADS", 0)) or len(os.sched_getaffinity(0)))
    torch.backends.mkldnn.enabled = True  # type: ignore[assignment]  # a settable flag at run time
    if deterministic:
        # deterministic mode also fills every new uninitialized tensor with NaN (a debugging aid: results
        # never read such memory); that fill cost 15 % of a gradient step here
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
        if device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")


def native_bf16() -> str | None:
    """The CPU's native bfloat16 matrix support: "amx" (AMX-BF16 tiles), "avx512_bf16" or None."""
    cpu = torch.cpu
    if getattr(cpu, "_is_amx_tile_supported", lambda: False)():
        return "amx"
    return "avx512_bf16" if getattr(cpu, "_is_avx512_bf16_supported", lambda: False)() else None


def resolve_precision(precision: str, device: torch.device) -> str:
    """``trainer.precision`` as run: auto is bf16 on a CPU with native bfloat16 (AMX or AVX512-BF16), fp32
    otherwise (and on GPUs, not measured)."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and native_bf16() is not None else "fp32"


def resolve_conv(conv: str, precision: str, device: torch.device) -> str:
    """``trainer.conv`` as run: auto is banded (networks.BandedBody) for bf16 on a CPU with AMX, where it
    was measured faster; torch's conv2d otherwise (AVX512-BF16 without AMX: not measured)."""
    if conv != "auto":
        return conv
    return "banded" if device.type == "cpu" and precision == "bf16" and native_bf16() == "amx" else "torch"


def configure_network(net: QNetwork, cfg: TrainerConfig, device: torch.device) -> str:
    """Set ``net`` up for ``trainer.conv`` as run on ``device``; returns ``trainer.precision`` as run.
    Training and loaded agents (gridrl.policy) both go through here, so they compute alike."""
    precision = resolve_precision(cfg.precision, device)
    net.use_banded(resolve_conv(cfg.conv, precision, device) == "banded")
    return precision


def make_learner(cfg: Config, device: torch.device) -> Learner:
    shape, n_actions = obs_spec(cfg.env)
    net = build_q_network(cfg.model, shape, n_actions)
    precision = configure_network(net, cfg.trainer, device)
    learner: Learner
    if isinstance(cfg.agent, PQNConfig):
        learner = PQNLearner(cfg.agent, net, shape, cfg.trainer.total_steps, device, cfg.seed, precision)
    else:
        learner = _dqn(cfg, net, shape, device, precision)
    # banded weights prepared for acting are dropped after each optimizer step
    learner.optimizer.register_step_post_hook(lambda *_: net.weights_changed())
    return learner


def _dqn(
    cfg: Config, net: torch.nn.Module, shape: tuple[int, ...], device: torch.device, precision: str
) -> Learner:
    assert isinstance(cfg.agent, DQNConfig)
    return DQNLearner(
        cfg.agent,
        net,
        shape,
        cfg.trainer.total_steps,
        device,
        cfg.seed,
        truncation_gap(cfg.env),
        precision,
    )


def restart_seed(seed: int, env_step: int) -> int:
    """The reset seed of the games restarted by a resume at ``env_step`` (copy i gets it + i)."""
    return int(np.random.SeedSequence([seed, env_step]).generate_state(1)[0] >> 1)


def warm_start(cfg: Config) -> tuple[dict[str, torch.Tensor], str]:
    """The network weights ``cfg.init_from`` names (a run dir, checkpoint or ``q_network.pt``; data only),
    checked against this run's game (observation shape and actions, as ``gridrl eval`` checks a game)
    and network; and where they come from, for the log. A mismatch is a one-line ConfigError."""
    from gridrl.policy import load

    assert cfg.init_from
    with torch.random.fork_rng(devices=[]):  # building networks here draws nothing from the run's stream
        source = load(cfg.init_from)
        source.check_game(cfg.env, [f"init_from={cfg.init_from}: this run's game"])
        weights = source.net.state_dict()
        try:
            build_q_network(cfg.model, *obs_spec(cfg.env)).load_state_dict(weights)
        except RuntimeError as exc:
            raise ConfigError(
                f"init_from={cfg.init_from}: its network (model {source.config.model.name}) does not fit this "
                f"run's model ({cfg.model.name}): {str(exc).splitlines()[-1].strip()[:200]}; keep the model "
                "it was trained with"
            ) from None
    env = source.env
    steps = "?" if source.env_step is None else f"{source.env_step:,}"
    game = (
        f"{env.height}x{env.width}, {env.n_enemies} {env.enemy_motion} enemies"
        if isinstance(env, EnvConfig)
        else game_label(env)
    )
    return weights, (
        f"online network weights of {source.weights} ({steps} env steps of {source.config.agent.name} on "
        f"{game}); optimizer and counters start fresh"
    )


def _tensors(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}


def _arrays(tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in tensors.items()}


class Trainer:
    def __init__(self, cfg: Config, run_dir: Path, config_yaml: str) -> None:
        self.cfg, self.run_dir, self.config_yaml = cfg, Path(run_dir), config_yaml
        self.run_files = RunDir(run_dir)
        tr = cfg.trainer
        self.device = resolve_device(cfg.device)
        configure_torch(tr.threads, tr.deterministic, self.device)
        random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        self.game = make_game(cfg.env, cfg.agent.n_envs)  # the built-in GridGame, or an env adapter
        self.obs = self.game.reset(seed=cfg.seed)[0].copy()
        self.learner = make_learner(cfg, self.device)
        beta = cfg.agent.explore_bonus
        self.bonus = (
            CountBonus(beta, self.game.obs_shape, cfg.agent.n_envs, cfg.agent.explore_episodic)
            if beta > 0
            else None
        )
        self.evaluator = make_evaluator(cfg.env, tr.eval_episodes, tr.eval_seed)
        # counters (env steps are all games together)
        self.env_step = 0
        self.episodes = 0
        self.best_eval = -math.inf
        self.last_eval: dict[str, float] = {}
        self.last_update: dict[str, float] = {}
        self._window = self._empty_window()
        self.recent_returns: list[float] = []  # last 100 training returns (progress bar)
        self.times = {"collect": 0.0, "update": 0.0, "eval": 0.0, "checkpoint": 0.0}
        self._stop_signal: int | None = None
        self.tb: tblog.TBLogger | None = None
        self.reporter: TrainingReporter | None = None
        self._sps_mark = (0.0, 0)  # (wall clock, env step) of the last charts/SPS

    # ------------------------------------------------------------------------------------ the loop
    def run(self) -> dict[str, Any]:
        cfg, tr = self.cfg, self.cfg.trainer
        # a resumed run drops the events a killed run wrote after its checkpoint (no duplicated points)
        self.run_files.clear_temp()  # what a killed write left (never read; a resumed run starts clean)
        self.tb = tblog.TBLogger(self.run_files.tb, purge_step=self.env_step + 1 if self.env_step else None)
        self.reporter = TrainingReporter(
            self.run_files, self.tb, self.evaluator, tr.video_episodes if tr.video else 0
        )
        if self.env_step == 0:  # a new run (a resumed one has its weights and its start line)
            self._log_start()
            self._warm_start()
        old_handlers = self._install_signal_handlers()
        bar = self._progress_bar()
        start_wall, start_step = time.perf_counter(), self.env_step
        self._sps_mark = (start_wall, start_step)
        try:
            while self.env_step < tr.total_steps:
                prev = self.env_step
                epsilon = epsilon_at(self.env_step, cfg.agent.epsilon)
                self._collect(epsilon)  # one batched forward for all games, one vectorised game step
                self._learn()
                if _crossed(prev, self.env_step, tr.log_every) or self.env_step >= tr.total_steps:
                    self._log_train(epsilon)
                if _crossed(prev, self.env_step, tr.eval_every):
                    self.evaluate()
                # checkpoint (the stop signal and the time limit end the loop with a save)
                out_of_time = tr.time_limit_s > 0 and time.perf_counter() - start_wall >= tr.time_limit_s
                if self._stop_signal is not None or out_of_time:
                    break
                if _crossed(prev, self.env_step, tr.checkpoint_every) and self.env_step < tr.total_steps:
                    self.save_checkpoint()
                if bar is not None:
                    bar.update(self.env_step - prev)
                    if _crossed(prev, self.env_step, 8 * cfg.agent.n_envs):
                        bar.set_postfix_str(self._postfix(epsilon, start_wall, start_step), refresh=False)
            if self._stop_signal is not None:
                self._stop_by_signal(self._stop_signal)
            result = self.finish(out_of_time=self.env_step < tr.total_steps)
        finally:
            if bar is not None:
                bar.close()
            self._restore_signal_handlers(old_handlers)
            self._close()
        return result

    def _close(self) -> None:
        """Close the TensorBoard writer and the games (an env adapter holds its envs' resources)."""
        if self.tb is not None:
            self.tb.close()
        if isinstance(self.game, LoopEnv):
            self.game.close()

    def _warm_start(self) -> None:
        """A new run with ``init_from``: start from those network weights."""
        if self.cfg.init_from:
            weights, source = warm_start(self.cfg)
            self.learner.init_weights(weights)
            log.info("init_from: %s", source)

    def _collect(self, epsilon: float) -> None:
        with self._timed("collect"):
            actions = self.learner.act(self.obs, epsilon)
            next_obs, reward, terminated, truncated, info = self.game.step(actions)
            if self.bonus is not None:
                reward = reward + self._explore_bonus(next_obs, terminated | truncated, info["final_obs"])
            self.learner.observe(
                self.obs, actions, reward, terminated, truncated, info["final_obs"], next_obs
            )
            self.obs = next_obs.copy()
        self.env_step += self.cfg.agent.n_envs
        self._record_episodes(terminated | truncated, info)

    def _explore_bonus(self, next_obs: np.ndarray, done: np.ndarray, final_obs: np.ndarray) -> np.ndarray:
        """agent.explore_bonus of the observations the games reached (a finished episode's last one)."""
        assert self.bonus is not None
        reached = np.where(done[:, None, None, None], final_obs, next_obs) if done.any() else next_obs
        bonus = self.bonus(reached, done)
        self._window["bonus"].append(float(bonus.mean()))
        return bonus

    def _learn(self) -> None:
        with self._timed("update"):
            metrics = self.learner.update(self.env_step)
        if metrics is None:
            return
        if not all(math.isfinite(v) for v in metrics.values()):
            found = self.run_files.list_checkpoints()
            last = f"{found[-1][1]} (env step {found[-1][0]})" if found else "none yet"
            raise TrainingDiverged(
                f"loss became {metrics['td_loss']} at env step {self.env_step}; stopped without saving; "
                f"the last good checkpoint: {last}. Try a lower agent.lr or a reward scale/clip."
            )
        self.last_update = metrics

    def _stop_by_signal(self, signum: int) -> None:
        self.save_checkpoint()
        log.info(
            "stopped by signal %d at env step %d; resume with: gridrl train resume=%s",
            signum,
            self.env_step,
            self.run_dir,
        )
        raise SystemExit(128 + signum)

    def finish(self, out_of_time: bool = False) -> dict[str, Any]:
        """Final evaluation, final weights, last checkpoint, HParams summary."""
        if self.last_eval.get("env_step") != self.env_step:
            self.evaluate()
        ckpt.atomic_torch_save(self.learner.online.state_dict(), self.run_files.final_weights)
        atomic_write(self.run_files.final_config, self.config_yaml)
        summary = {
            **self.last_eval,
            "env_step": self.env_step,
            "updates": self.learner.updates,
            "train_episodes": self.episodes,
            "stopped_by_time_limit": out_of_time,
            "times_s": {k: round(v, 3) for k, v in self.times.items()},
        }
        self.run_files.write_metrics(summary)
        self.save_checkpoint()
        assert self.tb is not None
        self.tb.hparams(
            _flat_hparams(self.cfg),
            {k: v for k, v in self.last_eval.items() if k in HPARAM_METRICS},
            self.env_step,
        )
        ev = self.last_eval
        ratio = next(
            (
                f" ({100 * ev[k]:.1f}% of the {name})"
                for k, name in RATIOS
                if math.isfinite(ev.get(k, math.nan))
            ),
            "",
        )
        log.info(
            "done: %d env steps, eval mean return %.2f%s; weights in %s",
            self.env_step,
            ev.get("mean_return", float("nan")),
            ratio,
            self.run_files.final_weights,
        )
        return summary

    # -------------------------------------------------------------------------------- evaluation
    def evaluate(self) -> dict[str, float]:
        """Score the greedy policy on the fixed layouts; the reporter writes what it shows."""
        assert self.reporter is not None
        with self._timed("eval"):
            result = self.evaluator.run(
                self.learner.greedy,
                epsilon=self.cfg.trainer.eval_epsilon,
                record=self.reporter.video_episodes,
            )
            stats = result.summary()
            stats["env_step"] = self.env_step
            self.last_eval = stats
            self.reporter.report(stats, self.env_step, result.recording)
        if stats["mean_return"] > self.best_eval:
            self.best_eval = stats["mean_return"]
            self.reporter.save_best(self.env_step, stats, self.config_yaml, self.learner.online.state_dict())
        return stats

    # ------------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        learner_state = self.learner.state_dict(with_replay=self.cfg.trainer.save_replay)
        return {
            "format": ckpt.FORMAT_VERSION,
            "kind": "resume",
            "env_step": self.env_step,
            "config_yaml": self.config_yaml,
            "counters": {"episodes": self.episodes, "best_eval": self.best_eval},
            "learner": learner_state,
            "game": self._game_state(),
            "rng": {"python": random.getstate(), "torch": torch.get_rng_state()},
            "log": {
                "window": {k: torch.tensor(v) for k, v in self._window.items()},
                "recent_returns": self.recent_returns,
                "last_update": self.last_update,
                "last_eval": self.last_eval,
                "times": self.times,
            },
            "eval_layouts": _tensors(self.evaluator.layouts) if isinstance(self.evaluator, Evaluator) else {},
            "explore": self.bonus.state_dict() if self.bonus is not None else {},
        }

    def _game_state(self) -> dict[str, Any]:
        """The built-in game's exact state; an external env's cannot be saved (only the observation the
        learner last saw, which a resume bootstraps the cut episodes from)."""
        obs = torch.from_numpy(self.obs)
        if isinstance(self.game, GridGame):
            return {
                "arrays": _tensors(self.game.get_state()),
                "rng": self.game.rng.bit_generator.state,
                "obs": obs,
            }
        return {"obs": obs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.env_step = int(state["env_step"])
        self.episodes = int(state["counters"]["episodes"])
        self.best_eval = float(state["counters"]["best_eval"])
        self.learner.load_state_dict(state["learner"])
        if "schedule" not in state["learner"]:  # a checkpoint of an earlier version: its budget's segment
            saved_total = int(OmegaConf.create(state["config_yaml"]).trainer.total_steps)
            self.learner.schedule = dataclasses.replace(self.learner.schedule, end=saved_total)
        self.learner.set_budget(self.env_step, self.cfg.trainer.total_steps)
        if self.bonus is not None and state.get("explore"):
            self.bonus.load_state_dict(state["explore"])
        if isinstance(self.game, GridGame):
            self.game.set_state(_arrays(state["game"]["arrays"]))
            self.game.rng.bit_generator.state = state["game"]["rng"]
            self.obs = state["game"]["obs"].numpy().copy()
        else:
            self._restart_games(state["game"]["obs"].numpy())
        lg = state["log"]
        self._window = {**self._empty_window(), **{k: v.tolist() for k, v in lg["window"].items()}}
        self.recent_returns = list(lg["recent_returns"])
        self.last_update, self.last_eval, self.times = (
            dict(lg["last_update"]),
            dict(lg["last_eval"]),
            dict(lg["times"]),
        )
        if isinstance(self.evaluator, Evaluator):
            self.evaluator.layouts = _arrays(state["eval_layouts"])
        random.setstate(state["rng"]["python"])
        torch.set_rng_state(state["rng"]["torch"])  # RNG restored last

    def _restart_games(self, saved_obs: np.ndarray) -> None:
        """Resume of an external env: its state was not saved, so every game's episode in flight ends
        at the checkpoint (the learner bootstraps it from the saved observation, as a timeout) and the
        games restart with a reset seeded from the run's seed and the env step."""
        seed = restart_seed(self.cfg.seed, self.env_step)
        self.learner.cut_episodes(saved_obs)
        if self.bonus is not None:
            self.bonus.new_episodes()  # agent.explore_episodic: new episodes, fresh memories
        self.obs = self.game.reset(seed=seed)[0].copy()
        log.info(
            "resume: %s keeps no state in a checkpoint, so its %d games restart here with reset(seed=%d) "
            "(from seed %d and env step %d); their unfinished episodes end as timeouts (not counted)",
            game_label(self.cfg.env),
            self.game.n,
            seed,
            self.cfg.seed,
            self.env_step,
        )

    def log_resume(self, path: Path) -> None:
        """The resume line: where the run continues from and what its schedules do from here."""
        step, total, agent = self.env_step, self.cfg.trainer.total_steps, self.cfg.agent
        left = f"over the remaining {_count(total - step)} steps"
        lr = self.learner.lr_at(step)
        if not agent.lr_anneal:
            parts = [f"lr {lr:.3g} constant"]
        else:
            parts = [f"lr {lr:.3g} -> 0 {left}" if lr > 0 else "lr 0 (annealed)"]
        eps, now = agent.epsilon, epsilon_at(step, agent.epsilon)
        if eps.schedule == "exponential":
            parts.append(
                f"epsilon {now:.3g} -> {eps.end:g} (exponential, {_count(eps.decay_steps)} steps per factor e)"
            )
        elif step < eps.decay_steps:
            parts.append(f"epsilon {now:.3g} -> {eps.end:g} at step {_count(eps.decay_steps)}")
        else:
            parts.append(f"epsilon {now:.3g} held")
        if isinstance(agent, DQNConfig) and agent.prioritized:
            parts.append(f"PER beta {self.learner.schedule.per_beta_at(step):.3g} -> 1 {left}")
        log.info("resumed from %s at env step %d of %d: %s", path, step, total, ", ".join(parts))
        if agent.lr_anneal and lr == 0.0 and step < total:
            log.warning(
                "the learning rate has annealed to 0 (agent.lr_anneal) and stays 0: this extension will not "
                "change the weights. To train on with a new schedule, start a new run from them: init_from=%s",
                self.run_dir,
            )

    def save_checkpoint(self) -> Path:
        with self._timed("checkpoint"):
            path = self.run_files.checkpoint(self.env_step)
            size, seconds = ckpt.atomic_torch_save(self.state_dict(), path)
            ckpt.prune(self.run_dir, self.cfg.trainer.keep_checkpoints)
        log.info("checkpoint @ %d: %s (%.1f MB in %.2f s)", self.env_step, path.name, size / 1e6, seconds)
        return path

    # ------------------------------------------------------------------------------------ logging
    @staticmethod
    def _empty_window() -> dict[str, list[float]]:
        return {"returns": [], "lengths": [], "food": [], "enemy": [], "bonus": []}

    def _record_episodes(self, done: np.ndarray, info: dict[str, Any]) -> None:
        if not done.any():
            return
        idx = np.flatnonzero(done)
        rets = info["episode_return"][idx].tolist()
        self._window["returns"] += rets
        self._window["lengths"] += info["episode_length"][idx].tolist()
        if "outcome" in info:  # the built-in game says how episodes end
            self._window["food"] += (info["outcome"][idx] == OUTCOME_FOOD).tolist()
            self._window["enemy"] += (info["outcome"][idx] == OUTCOME_ENEMY).tolist()
        self.recent_returns = (self.recent_returns + rets)[-100:]
        self.episodes += len(idx)

    def _log_train(self, epsilon: float) -> None:
        assert self.tb is not None
        now = time.perf_counter()
        sps = (self.env_step - self._sps_mark[1]) / max(now - self._sps_mark[0], 1e-9)
        self._sps_mark = (now, self.env_step)
        w = self._window
        values: dict[str, float] = {
            tblog.EPSILON: epsilon,
            tblog.SPS: sps,
            tblog.UPDATES: self.learner.updates,
            tblog.LEARNING_RATE: self.learner.lr_at(self.env_step),
        }
        if w["returns"]:
            values[tblog.EPISODIC_RETURN] = float(np.mean(w["returns"]))
            values[tblog.EPISODIC_LENGTH] = float(np.mean(w["lengths"]))
        if w["food"]:
            values[tblog.FOOD_RATE] = float(np.mean(w["food"]))
            values[tblog.ENEMY_RATE] = float(np.mean(w["enemy"]))
        if w["bonus"]:
            values[tblog.EXPLORE_BONUS] = float(np.mean(w["bonus"]))
        if self.last_update:
            values.update(
                {tblog.TD_LOSS: self.last_update["td_loss"], tblog.Q_VALUES: self.last_update["q_values"]}
            )
        values.update({tblog.TIME_PREFIX + k: v for k, v in self.times.items()})
        self.tb.scalars(values, self.env_step)
        self._window = self._empty_window()

    def _log_start(self) -> None:
        cfg = self.cfg
        log.info("run dir %s", self.run_dir)
        shape = "x".join(map(str, self.game.obs_shape))
        env = cfg.env
        game = (
            f"{env.height}x{env.width} ({env.obs_mode} view {shape})"
            if isinstance(env, EnvConfig)
            else f"{game_label(env)} (observations {shape}, {self.game.n_actions} actions)"
        )
        log.info(
            "game %s, %s learner, model %s with %d parameters, %d games, device %s (%s), %d threads",
            game,
            cfg.agent.name,
            cfg.model.name,
            count_parameters(self.learner.online),
            cfg.agent.n_envs,
            self.device,
            self.learner.precision
            + (", banded convs" if getattr(self.learner.online, "banded", None) else ""),
            torch.get_num_threads(),
        )
        reward = cfg.agent.reward
        clip = (
            f", clipped to [{reward.clip_low:g}, {reward.clip_high:g}]"
            if reward.clip == "true"
            else ", not clipped"
        )
        derived = OmegaConf.select(OmegaConf.create(self.config_yaml), "trainer.total_steps") == 0
        log.info(
            "budget %s env steps%s; rewards %sx%g%s%s%s",
            f"{cfg.trainer.total_steps:,}",
            " (trainer.total_steps=0: derived from the game, config.default_budget)" if derived else "",
            f"+ count bonus {cfg.agent.explore_bonus:g}/sqrt(visits)"
            f"{' (first visit per episode)' if cfg.agent.explore_episodic else ''}, then "
            if self.bonus is not None
            else "",
            reward.scale,
            clip,
            ", symlog" if reward.symlog else "",
            " (a long game with moving enemies: agent.reward.clip=auto does not clip)"
            if long_risky_game(env)
            else "",
        )
        if self.learner.precision == "bf16" and self.device.type == "cpu" and native_bf16() is None:
            log.warning(
                "trainer.precision=bf16: this CPU has no native bfloat16 support; fp32 is faster here"
            )

    def _progress_bar(self) -> Any:
        if not self.cfg.trainer.progress:
            return None
        from tqdm import tqdm

        return tqdm(
            total=self.cfg.trainer.total_steps,
            initial=self.env_step,
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            smoothing=0.1,
            mininterval=0.5,
        )

    def _postfix(self, epsilon: float, start_wall: float, start_step: int) -> str:
        sps = (self.env_step - start_step) / max(time.perf_counter() - start_wall, 1e-9)
        ret = np.mean(self.recent_returns) if self.recent_returns else float("nan")
        ev = next((self.last_eval[k] for k, _ in RATIOS if k in self.last_eval), None)
        text = f"sps={sps:,.0f} ret={ret:.1f} eps={epsilon:.2f}"
        return text + (f" eval={100 * ev:.0f}%" if ev is not None else "")

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times[phase] += time.perf_counter() - start

    # ------------------------------------------------------------------------------------ signals
    def _install_signal_handlers(self) -> dict[int, Any]:
        def handler(signum: int, _frame: Any) -> None:
            if self._stop_signal is not None:  # a second Ctrl-C: stop now (the last checkpoint stays)
                raise KeyboardInterrupt
            self._stop_signal = signum
            log.warning("signal %d: finishing the current step, saving a checkpoint, then exiting", signum)

        old: dict[int, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread (some launchers): default handling
                old[sig] = signal.signal(sig, handler)
        return old

    @staticmethod
    def _restore_signal_handlers(old: dict[int, Any]) -> None:
        for sig, h in old.items():
            signal.signal(sig, h)


# an evaluation's share of its reference, best defined first: (stats key, what the log line calls it)
RATIOS = (
    ("oracle_ratio", "oracle"),
    ("ref_ratio", "reference"),
    ("normalized_score", "reference, normalized"),
)
HPARAM_METRICS = ("mean_return", "oracle_ratio", "ref_ratio", "normalized_score", "food_rate", "enemy_rate")


def _count(n: int) -> str:
    """A step count for people: 512, 6.1k, 1.5M."""
    for div, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return str(n)


def _crossed(prev: int, now: int, every: int) -> bool:
    return every > 0 and now // every > prev // every


def _flat_hparams(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"seed": cfg.seed, "model": cfg.model.name, "init_from": cfg.init_from or ""}
    for group in ("env", "agent", "trainer"):
        for k, v in asdict(getattr(cfg, group)).items():
            if isinstance(v, dict):
                out.update({f"{group}.{k}.{kk}": vv for kk, vv in v.items()})
            elif not isinstance(v, list):
                out[f"{group}.{k}"] = v
    return out
