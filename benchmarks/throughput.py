"""Throughput: gridrl beside Stable-Baselines3 DQN on the same game and network, in one run.

Sections (each figure states N games, batch, replay ratio, parameters, threads and device):

1. Training: env steps/s and gradient updates/s of the real gridrl ``Trainer`` (built in this process
   from the composed Hydra configs, like ``gridrl train``; read from its own TensorBoard ``charts/SPS``
   and ``charts/updates`` events after the replay warm-up) vs SB3 DQN (``benchmarks/sb3_peer.py``,
   single env, measured by a callback after ``learning_starts``), at the same batch size (64) and
   replay ratio (one update per 4 env steps), for the default CNN (``ego_cnn``) and ``seed_cnn``;
   ``agent=dqn_fast`` (128 games, batch 512, one update per 256 env steps) beside SB3 DQN at that batch
   size and replay ratio, with one game and with 128 games in SB3's ``DummyVecEnv``; then gridrl's
   default learner (PQN) as configured.
2. Raw game: ``GridGame`` steps/s at N = 1024 (one thread; ``benchmarks/game_speed.py``'s timer) and
   the gymnasium adapter's single-game steps/s (what SB3 steps).
3. Acting latency: one batched forward + epsilon-greedy (``learner.act``) for N = 128 and N = 1;
   SB3's ``predict`` beside it.
4. Replay memory per 100k transitions: ``ReplayBuffer.nbytes`` vs capacity x one frame; SB3's buffer.
5. Start-up: ``gridrl train trainer=debug`` from process start to its first TensorBoard event (the
   first env step follows at once), and the in-process ``Trainer`` construction.
6. Targets: issue 8's CPU targets beside the figures above, met or not.

Usage::

    python benchmarks/throughput.py                # 10 s per training figure, best of 2 interleaved: ~12 minutes
    python benchmarks/throughput.py --quick        # ~3 s per figure (a smoke test, noisy)
    python benchmarks/throughput.py --seconds 20 --threads 2 --out benchmarks/results/throughput.md

Run it alone on the machine: every figure is wall-clock.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gridrl.agent.networks import count_parameters  # noqa: E402
from gridrl.agent.replay import ReplayBuffer  # noqa: E402
from gridrl.config import load_env_config  # noqa: E402
from gridrl.envs.factory import obs_spec, truncation_gap  # noqa: E402
from gridrl.game.grid import GridGame  # noqa: E402
from gridrl.game.gym_env import GridEnv  # noqa: E402
from sb3_peer import configure_threads, make_sb3_dqn  # noqa: E402
from time_to_solve import machine_info  # noqa: E402

BATCH, TRAIN_FREQ, LEARNING_STARTS, BUFFER = 64, 4, 5_000, 100_000
# gridrl DQN overrides that pin the batch size and replay ratio SB3 gets (whatever the preset says)
DQN_MATCH = [
    "agent=dqn",
    f"agent.batch_size={BATCH}",
    f"agent.replay_ratio={1 / TRAIN_FREQ}",
    f"agent.learning_starts={LEARNING_STARTS}",
    f"agent.buffer_size={BUFFER}",
]
SB3_MATCH = {
    "batch_size": BATCH,
    "train_freq": TRAIN_FREQ,
    "gradient_steps": 1,
    "learning_starts": LEARNING_STARTS,
    "buffer_size": BUFFER,
}


# ------------------------------------------------------------------------------------------ gridrl
def compose(overrides: list[str]) -> Any:
    """The config ``gridrl train <overrides>`` would run, and its YAML."""
    from omegaconf import OmegaConf

    from gridrl.config import compose as compose_node
    from gridrl.config import to_config

    cfg = compose_node(overrides)
    return to_config(cfg), OmegaConf.to_yaml(cfg)


@contextlib.contextmanager
def torch_state() -> Iterator[None]:
    """Restore the global torch settings a Trainer changes (threads, deterministic algorithms)."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)


def gridrl_training(overrides: list[str], seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    """Steady-state env steps/s and updates/s of the real Trainer loop (``Trainer.run``).

    The learner's ``update`` (called once per loop iteration) is wrapped to time-stamp the iteration;
    measuring starts once the replay warm-up (``learning_starts``) is over and ``warm_s`` seconds of
    updating have passed, and the run is ended (through ``trainer.time_limit_s``) after ``seconds``.
    """
    from gridrl.config import DQNConfig
    from gridrl.trainer import Trainer

    warm_s = 1.0 if args.quick else 3.0
    cfg, yaml = compose(
        [
            *overrides,
            f"device={args.device}",
            f"trainer.threads={args.threads}",
            "trainer.total_steps=1000000000",
            f"trainer.time_limit_s={10 * (warm_s + seconds) + 300}",  # a safety net; ended below
            "trainer.eval_every=0",
            "trainer.eval_episodes=10",
            "trainer.checkpoint_every=0",
            "trainer.progress=false",
            *(["trainer.save_replay=false"] if any(o.startswith("agent=dqn") for o in overrides) else []),
        ]
    )
    agent = cfg.agent
    warm_steps = agent.learning_starts if isinstance(agent, DQNConfig) else 0
    marks: list[tuple[float, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="gridrl_tp_") as tmp, torch_state():
        trainer = Trainer(cfg, Path(tmp), yaml)
        learner, update = trainer.learner, trainer.learner.update
        first_update: list[float] = []

        def timed_update(env_step: int) -> Any:
            out = update(env_step)
            now = time.perf_counter()
            if env_step > warm_steps:
                if not first_update:
                    first_update.append(now)
                if now - first_update[0] >= warm_s:
                    marks.append((now, env_step, learner.updates))
                    if now - marks[0][0] >= seconds:
                        trainer.cfg.trainer.time_limit_s = 1e-9  # ends the loop after this iteration
            return out

        learner.update = timed_update  # type: ignore[method-assign]
        params = count_parameters(learner.online)
        threads = torch.get_num_threads()
        device = str(trainer.device)
        trainer.run()
        alone_ms = None
        if isinstance(agent, DQNConfig):  # the gradient step alone (sampling included): the floor
            learner.online.train()
            alone_ms = 1e3 * _median_time(lambda: [learner._gradient_step(1.0) for _ in range(20)], 5) / 20
            learner.online.eval()
    (t0, s0, u0), (t1, s1, u1) = marks[0], marks[-1]
    dt = max(t1 - t0, 1e-9)
    if isinstance(agent, DQNConfig):
        ratio, batch = agent.replay_ratio, agent.batch_size
    else:
        ratio = agent.epochs * agent.minibatches / (agent.n_envs * agent.rollout_steps)
        batch = agent.n_envs * agent.rollout_steps // agent.minibatches
    return {
        "sps": (s1 - s0) / dt,
        "ups": (u1 - u0) / dt,
        "window_s": dt,
        "n": agent.n_envs,
        "batch": batch,
        "ratio": ratio,
        "params": params,
        "threads": threads,
        "device": device,
        "alone_ms": alone_ms,
    }


def sb3_training(
    model: str,
    seconds: float,
    args: argparse.Namespace,
    agent: str = "dqn",
    overrides: dict[str, Any] | None = None,
    n_envs: int = 1,
) -> dict[str, Any]:
    """Steady-state env steps/s and updates/s of SB3 DQN after ``learning_starts``, with the gridrl
    agent preset ``agent``'s values (``overrides`` on top; by default ``SB3_MATCH``) and ``n_envs``
    games in SB3's ``DummyVecEnv``."""
    from stable_baselines3.common.callbacks import BaseCallback

    with torch_state():
        threads = configure_threads(args.threads)
        torch.use_deterministic_algorithms(False)
        sb3 = make_sb3_dqn(
            args.env,
            model,
            seed=0,
            overrides=SB3_MATCH if overrides is None else overrides,
            device=args.device,
            n_envs=n_envs,
            agent_preset=agent,
        )
        params = sum(p.numel() for p in sb3.q_net.parameters())
        # SB3 counts train_freq in VecEnv steps (n_envs env steps each); mark at update boundaries
        steps_per_update = sb3.train_freq.frequency * sb3.n_envs // sb3.gradient_steps
        marks: list[tuple[float, int, int]] = []
        start: list[float] = []
        warm_s = 1.0 if args.quick else 3.0

        class Clock(BaseCallback):
            def _on_step(self) -> bool:
                if self.num_timesteps <= sb3.learning_starts or self.num_timesteps % steps_per_update:
                    return True
                now = time.perf_counter()
                if not start:
                    start.append(now)
                if now - start[0] < warm_s:
                    return True
                marks.append((now, self.num_timesteps, sb3._n_updates))
                return marks[-1][0] - marks[0][0] < seconds

        sb3.learn(total_timesteps=1_000_000_000, callback=Clock())
        alone_ms = 1e3 * _median_time(lambda: sb3.train(gradient_steps=20, batch_size=sb3.batch_size), 5) / 20
    (t0, s0, u0), (t1, s1, u1) = marks[0], marks[-1]
    dt = max(t1 - t0, 1e-9)
    return {
        "sps": (s1 - s0) / dt,
        "ups": (u1 - u0) / dt,
        "window_s": dt,
        "n": sb3.n_envs,
        "batch": sb3.batch_size,
        "ratio": sb3.gradient_steps / (sb3.train_freq.frequency * sb3.n_envs),
        "params": params,
        "threads": threads,
        "device": str(sb3.device),
        "alone_ms": alone_ms,
    }


# ------------------------------------------------------------------------------------------ other figures
def raw_game(args: argparse.Namespace) -> list[tuple[str, float, float]]:
    """(what, wall steps/s, CPU steps/s) of GridGame at N=1024 and of the gymnasium adapter."""
    saved = {
        k: os.environ.get(k)
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
    }
    try:
        game_speed = importlib.import_module(
            "game_speed"
        )  # benchmarks/game_speed.py (sets env vars on import)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    env_cfg = load_env_config(args.env)
    seconds, repeats = (0.2, 3) if args.quick else (0.5, 5)
    out = []
    for mode in dict.fromkeys([env_cfg.obs_mode, "rgb"]):
        cfg = load_env_config(args.env, overrides={"obs_mode": mode})
        wall, cpu = game_speed.time_grid(cfg, 1024, seconds, repeats)
        out.append((f"GridGame N=1024, {mode} view", wall, cpu))
    env = GridEnv(args.env)
    env.reset(seed=0)
    actions = (
        np.random.default_rng(0).integers(0, env.action_space.n, 20_000 if not args.quick else 5_000).tolist()
    )
    w0, c0 = time.perf_counter(), time.thread_time()
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    w, c = time.perf_counter() - w0, time.thread_time() - c0
    out.append(
        (
            f"gymnasium adapter (GridEnv), N=1, {env_cfg.obs_mode} view, resets included",
            len(actions) / w,
            len(actions) / c,
        )
    )
    return out


def _median_time(fn: Any, reps: int) -> float:
    fn()
    fn()  # warm-up (oneDNN primitive creation)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def acting_latency(args: argparse.Namespace) -> list[dict[str, Any]]:
    from gridrl.trainer import configure_torch, make_learner, resolve_device

    rows = []
    reps = 50 if args.quick else 300
    with torch_state():
        for model in ("ego_cnn", "seed_cnn"):
            cfg, _ = compose([*DQN_MATCH, f"model={model}", f"device={args.device}"])
            device = resolve_device(cfg.device)
            configure_torch(args.threads, cfg.trainer.deterministic, device)
            learner = make_learner(cfg, device)
            learner.online.eval()  # as between updates (dropout off)
            game = GridGame(cfg.env, 128)
            obs = game.reset(seed=0)[0].copy()
            for n in (128, 1):
                sec = _median_time(lambda o=obs[:n], lr=learner: lr.act(o, 0.05), reps)
                rows.append(
                    {
                        "who": "gridrl learner.act",
                        "model": model,
                        "n": n,
                        "ms": 1e3 * sec,
                        "params": count_parameters(learner.online),
                        "threads": torch.get_num_threads(),
                        "device": str(device),
                    }
                )
        torch.use_deterministic_algorithms(False)
        configure_threads(args.threads)
        for model in ("ego_cnn", "seed_cnn"):
            sb3 = make_sb3_dqn(args.env, model, seed=0, overrides=SB3_MATCH, device=args.device)
            game = GridGame(load_env_config(args.env), 128)
            obs = game.reset(seed=0)[0].copy()
            for n in (128, 1):
                o = obs[:n] if n > 1 else obs[0]
                sec = _median_time(lambda o=o, m=sb3: m.predict(o, deterministic=False), reps)
                rows.append(
                    {
                        "who": "SB3 predict",
                        "model": model,
                        "n": n,
                        "ms": 1e3 * sec,
                        "params": sum(p.numel() for p in sb3.q_net.parameters()),
                        "threads": torch.get_num_threads(),
                        "device": str(sb3.device),
                    }
                )
    return rows


def replay_memory(args: argparse.Namespace) -> list[tuple[str, int, float]]:
    """(what, bytes per 100k transitions, x capacity x one frame)."""
    import gymnasium
    from stable_baselines3.common.buffers import ReplayBuffer as SB3Buffer

    cfg, _ = compose([*DQN_MATCH])
    shape, actions = obs_spec(cfg.env)
    frame = int(np.prod(shape))
    rows = []
    for n_envs in (cfg.agent.n_envs, 1):
        rb = ReplayBuffer(BUFFER, n_envs, shape, cfg.agent.n_step, cfg.agent.gamma, truncation_gap(cfg.env))
        rows.append(
            (
                f"gridrl ReplayBuffer, {n_envs} game{'s' * (n_envs != 1)}, n_step {cfg.agent.n_step}",
                rb.nbytes,
                rb.nbytes / (BUFFER * frame),
            )
        )
    space = gymnasium.spaces.Box(0, 255, shape, dtype=np.uint8)
    act = gymnasium.spaces.Discrete(actions)
    for optimize in (False, True):
        buf = SB3Buffer(
            BUFFER,
            space,
            act,
            device="cpu",
            n_envs=1,
            optimize_memory_usage=optimize,
            handle_timeout_termination=not optimize,
        )
        arrays = [
            getattr(buf, k, None)
            for k in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
        ]
        nbytes = sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
        rows.append(
            (
                f"SB3 ReplayBuffer{' (optimize_memory_usage)' if optimize else ''}",
                nbytes,
                nbytes / (BUFFER * frame),
            )
        )
    return rows


def startup(args: argparse.Namespace) -> dict[str, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from gridrl.trainer import Trainer

    exe = Path(sys.executable).parent / "gridrl"
    cmd = [
        str(exe) if exe.exists() else "gridrl",
        "train",
        "trainer=debug",
        "trainer.checkpoint_every=0",
        "trainer.progress=false",
        f"device={args.device}",
    ]
    with tempfile.TemporaryDirectory(prefix="gridrl_start_") as tmp:
        launch = time.time()
        subprocess.run([*cmd, f"hydra.run.dir={tmp}"], cwd=ROOT, check=True, capture_output=True)
        total = time.time() - launch
        ea = EventAccumulator(str(Path(tmp) / "tb"))
        ea.Reload()
        first = ea.FirstEventTimestamp() - launch
    t = time.perf_counter()
    cfg, yaml = compose(["trainer=debug", f"device={args.device}"])
    t_compose = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="gridrl_start_") as tmp, torch_state():
        t = time.perf_counter()
        trainer = Trainer(cfg, Path(tmp), yaml)
        t_build = time.perf_counter() - t
        t = time.perf_counter()
        a = trainer.learner.act(trainer.obs, 1.0)
        trainer.game.step(a)
        t_step = time.perf_counter() - t
    return {
        "cli_first_event": first,
        "cli_total": total,
        "compose": t_compose,
        "trainer": t_build,
        "first_step": t_step,
    }


# ------------------------------------------------------------------------------ issue 19: the default learner
# the paths compared: today's eager fp32 (conv2d, fp32) and what `trainer.precision=auto trainer.conv=auto`
# picks on this machine; the two others are references for the gradient step
# the learner's shape before issue 19 (128 games x 16 steps, 4 minibatches of 512): the eager path keeps it
BEFORE_SHAPE = ["agent.n_envs=128", "agent.rollout_steps=16", "agent.minibatches=4"]
EAGER = ("eager fp32 (conv2d), 128 games", ["trainer.precision=fp32", "trainer.conv=torch", *BEFORE_SHAPE])
CHOSEN = ("chosen (auto), the default", [])
# before issue 19, deterministic mode also NaN-filled every new tensor (torch's default): today's step
TODAY = ("eager fp32, new tensors NaN-filled (before issue 19)", EAGER[1])
STEP_REFS = [
    ("bf16 autocast, conv2d", ["trainer.precision=bf16", "trainer.conv=torch"]),
    ("fp32, banded", ["trainer.precision=fp32", "trainer.conv=banded"]),
]
# the chosen path at the old shape: what the larger game batch adds on top of the path
CHOSEN_BEFORE_SHAPE = ("chosen (auto), 128 games", BEFORE_SHAPE)


def _pqn_learner(overrides: list[str], args: argparse.Namespace) -> Any:
    """The default learner as `gridrl train <overrides>` builds it, its rollout filled with 16 steps of
    real frames (random actions)."""
    from gridrl.trainer import configure_torch, make_learner, resolve_device

    cfg, _ = compose([*overrides, f"device={args.device}", f"trainer.threads={args.threads}"])
    device = resolve_device(cfg.device)
    configure_torch(args.threads, cfg.trainer.deterministic, device)
    learner = make_learner(cfg, device)
    game = GridGame(cfg.env, cfg.agent.n_envs)
    obs = game.reset(seed=0)[0].copy()
    for _ in range(cfg.agent.rollout_steps):
        actions = learner.act(obs, 1.0)
        nxt, r, term, trunc, info = game.step(actions)
        learner.observe(obs, actions, r, term, trunc, info["final_obs"], nxt)
        obs = nxt.copy()
    return learner, cfg, obs


def _sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def pqn_steps(args: argparse.Namespace, paths: list[tuple[str, list[str]]]) -> dict[str, dict[str, Any]]:
    """The gradient step alone (one PQN minibatch of 512: forward, TD loss, backward, clip, fused Adam) and
    the acting forward (one batch of the path's games), each path's median and range over interleaved rounds."""
    rounds, k = (3, 5) if args.quick else (7, 20)
    out: dict[str, dict[str, Any]] = {}
    with torch_state():
        built = {name: _pqn_learner(ov, args) for name, ov in paths}
        batches = {}
        for name, (learner, cfg, obs) in built.items():
            n = learner.obs.shape[0] * learner.obs.shape[1]
            dev = learner.obs.device  # the update's minibatch lives where the network does
            idx = torch.as_tensor(
                np.random.default_rng(0).permutation(n)[: n // cfg.agent.minibatches], device=dev
            )
            batches[name] = tuple(
                t.reshape(-1, *t.shape[2:]).to(dev)[idx]
                for t in (learner.obs, learner.actions, learner.rewards)
            )
            learner.online.train()
            for _ in range(5):  # warm-up (oneDNN primitives, allocator)
                learner.gradient_step(*batches[name])
                learner.act(obs, 0.05)
        step_ms: dict[str, list[float]] = {name: [] for name in built}
        act_ms: dict[str, list[float]] = {name: [] for name in built}
        for _ in range(rounds):
            for name, (learner, _cfg, obs) in built.items():
                torch.utils.deterministic.fill_uninitialized_memory = name == TODAY[0]  # type: ignore[attr-defined]
                learner.online.train()
                _sync()
                t = time.perf_counter()
                for _ in range(k):
                    learner.gradient_step(*batches[name])
                _sync()  # a GPU runs the steps asynchronously: the clock stops when they are done
                step_ms[name].append(1e3 * (time.perf_counter() - t) / k)
                learner.online.eval()
                t = time.perf_counter()
                for _ in range(4 * k):
                    learner.act(obs, 0.05)  # returns the actions to the host: synchronous
                act_ms[name].append(1e3 * (time.perf_counter() - t) / (4 * k))
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
        for name, (learner, _cfg, _obs) in built.items():
            out[name] = {
                "step": step_ms[name],
                "act": act_ms[name],
                "precision": learner.precision,
                "banded": learner.online.banded is not None,
                "threads": torch.get_num_threads(),
                "games": learner.obs.shape[1],
            }
    return out


def pqn_loop(overrides: list[str], seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    """The real default Trainer loop: env steps/s after a warm-up, and where its wall time went (gradient
    steps, acting, the rest: game, rollout storage, Q(lambda) targets, logging, Python)."""
    from gridrl.trainer import Trainer

    warm_s = 1.0 if args.quick else 3.0
    cfg, yaml = compose(
        [
            *overrides,
            f"device={args.device}",
            f"trainer.threads={args.threads}",
            "trainer.total_steps=1000000000",
            f"trainer.time_limit_s={10 * (warm_s + seconds) + 300}",
            "trainer.eval_every=0",
            "trainer.eval_episodes=10",
            "trainer.checkpoint_every=0",
            "trainer.progress=false",
        ]
    )
    parts = ("step", "act", "game", "observe", "update")
    spent = dict.fromkeys(parts, 0.0)
    marks: list[tuple[float, int, dict[str, float]]] = []  # (wall, env step, time spent so far per part)
    with tempfile.TemporaryDirectory(prefix="gridrl_tp_") as tmp, torch_state():
        trainer = Trainer(cfg, Path(tmp), yaml)
        learner = trainer.learner
        step, act, observe, update = learner.gradient_step, learner.act, learner.observe, learner.update
        begin: list[float] = []

        def timed(fn: Any, key: str) -> Any:
            def run(*a: Any) -> Any:
                t = time.perf_counter()
                out = fn(*a)
                spent[key] += time.perf_counter() - t
                return out

            return run

        def timed_update(env_step: int) -> Any:
            t = time.perf_counter()
            out = update(env_step)
            now = time.perf_counter()
            spent["update"] += now - t
            if out is not None:  # a rollout boundary
                begin.append(begin[0] if begin else now)
                if now - begin[0] >= warm_s:
                    marks.append((now, env_step, dict(spent)))
                    if now - marks[0][0] >= seconds:
                        trainer.cfg.trainer.time_limit_s = 1e-9  # ends the loop after this iteration
            return out

        learner.gradient_step = timed(step, "step")  # type: ignore[method-assign]
        learner.act = timed(act, "act")  # type: ignore[method-assign]
        learner.observe = timed(observe, "observe")  # type: ignore[method-assign]
        trainer.game.step = timed(trainer.game.step, "game")  # type: ignore[method-assign]
        learner.update = timed_update  # type: ignore[method-assign]
        trainer.run()
        precision, banded = learner.precision, learner.online.banded is not None
        threads = torch.get_num_threads()  # the run's own (torch_state restores the caller's on exit)
        updates_per_rollout = cfg.agent.epochs * cfg.agent.minibatches
    (t0, s0, p0), (t1, s1, p1) = marks[0], marks[-1]
    dt = max(t1 - t0, 1e-9)
    rollouts = max(len(marks) - 1, 1)
    per_2048 = 2048 / (cfg.agent.n_envs * cfg.agent.rollout_steps)  # shapes compared per 2,048 env steps
    ms = {k: 1e3 * (p1[k] - p0[k]) / rollouts * per_2048 for k in parts}
    ms["update"] -= ms["step"]  # the update's own work: bootstrap forward, Q(lambda) targets, minibatches
    ms["rest"] = 1e3 * dt / rollouts * per_2048 - sum(ms.values())  # the loop, logging, bookkeeping
    return {
        "sps": (s1 - s0) / dt,
        "window_s": dt,
        "ms_per_update": 1e3 * dt / (rollouts * updates_per_rollout),
        "ms_per_2048": ms,
        "shape": f"{cfg.agent.n_envs} games x {cfg.agent.rollout_steps} steps, {updates_per_rollout} minibatches",
        "step_share": (p1["step"] - p0["step"]) / dt,
        "act_share": (p1["act"] - p0["act"]) / dt,
        "precision": precision,
        "banded": banded,
        "threads": threads,
    }


def today_tree(ref: str) -> Path:
    """The source tree of ``ref`` (the code before issue 19) in a temporary directory."""
    tree = Path(tempfile.mkdtemp(prefix="gridrl_today_"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src", "benchmarks"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def today_loop(tree: Path, seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    """That tree's default loop (fp32, conv2d: its only path), measured by its own throughput.py in a
    fresh process: env steps/s from 3 s after its first update, for ``seconds``."""
    code = (
        "import argparse, json, sys; sys.path[:0] = [sys.argv[1] + '/src', sys.argv[1] + '/benchmarks']; "
        "import throughput as t; ns = argparse.Namespace(device=sys.argv[3], threads=int(sys.argv[4]), quick=False); "
        "print(json.dumps(t.gridrl_training([], float(sys.argv[2]), ns), default=str))"
    )
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    argv = [sys.executable, "-c", code, str(tree), str(seconds), args.device, str(args.threads)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _med(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def _emit_steps(emit: Any, steps: dict[str, dict[str, Any]]) -> None:
    emit(
        "| path | precision | convolutions | gradient step, batch 512 (ms) | vs eager fp32 | acting forward, one batch (ms) | games per batch | threads |"
    )
    emit("|---|---|---|---|---|---|---|---|")
    base = statistics.median(steps[EAGER[0]]["step"])
    for name, r in steps.items():
        conv = "banded matmuls" if r["banded"] else "conv2d (oneDNN)"
        ratio = base / statistics.median(r["step"])
        emit(
            f"| {name} | {r['precision']} | {conv} | {_med(r['step'])} | {ratio:.2f}x | {_med(r['act'])} | {r['games']} | {r['threads']} |"
        )
    emit()


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    med = statistics.median(r["sps"] for r in runs)
    return min(runs, key=lambda r: abs(r["sps"] - med))


def _emit_loops(
    emit: Any,
    loops: dict[str, list[dict[str, Any]]],
    steps: dict[str, dict[str, Any]],
    today: list[dict[str, Any]],
    ref: str,
) -> dict[str, float]:
    emit(
        "| loop (the real Trainer, default config) | env steps/s, median [range] | ms per update: loop | gradient step alone | in gradient steps | in acting | outside both |"
    )
    emit("|---|---|---|---|---|---|---|")
    med: dict[str, float] = {}
    if today:
        sps = [r["sps"] for r in today]
        med["today"] = statistics.median(sps)
        ms = 1e3 / statistics.median(r["ups"] for r in today)
        emit(
            f"| today's code ({ref}): fp32, conv2d | {med['today']:,.0f} [{min(sps):,.0f}-{max(sps):,.0f}] | {ms:.2f} | - | - | - | - |"
        )
    for name, runs in loops.items():
        sps = [r["sps"] for r in runs]
        med[name] = statistics.median(sps)
        r = _median_run(runs)
        outside = 1 - r["step_share"] - r["act_share"]
        emit(
            f"| {name}: {r['precision']}, {'banded' if r['banded'] else 'conv2d'}, {r['shape']} | {med[name]:,.0f} [{min(sps):,.0f}-{max(sps):,.0f}] | {r['ms_per_update']:.2f} | {statistics.median(steps[name]['step']):.2f} | {100 * r['step_share']:.0f} % | {100 * r['act_share']:.0f} % | {100 * outside:.0f} % |"
        )
    emit()
    emit(
        "Where the milliseconds of 2,048 env steps go (the median run of each path; 128 games: 16 acting passes and game steps, 4 gradient steps; 256 games: half as many acting passes and game steps of twice the games):"
    )
    emit()
    emit(
        "| path | gradient steps | acting | game step (rules, rendering) | rollout storage | update's own work (bootstrap forward, Q(lambda), minibatch gathers) | the loop, logging, bookkeeping | total |"
    )
    emit("|---|---|---|---|---|---|---|---|")
    for name, runs in loops.items():
        m = _median_run(runs)["ms_per_2048"]
        cells = " | ".join(f"{m[k]:.1f}" for k in ("step", "act", "game", "observe", "update", "rest"))
        emit(f"| {name} | {cells} | {sum(m.values()):.1f} |")
    emit()
    return med


def speed_section(args: argparse.Namespace, emit: Any, targets: list[tuple[str, str, bool]]) -> None:
    """Issue 19: the default learner's gradient step and loop: today's code and today's eager fp32 path
    beside the path chosen for this CPU."""
    from gridrl.trainer import native_bf16

    seconds = args.seconds or (3.0 if args.quick else 10.0)
    repeats = 1 if args.quick else max(args.repeats, 3)
    emit("## The default learner: gradient step and loop, eager fp32 vs the chosen path (issue 19)")
    emit()
    emit(
        f"CPU native bfloat16: {native_bf16() or 'none'}; load average {os.getloadavg()[0]:.2f} at the start of this section."
    )
    emit()
    steps = pqn_steps(args, [TODAY, EAGER, CHOSEN, CHOSEN_BEFORE_SHAPE, *STEP_REFS])
    _emit_steps(emit, steps)
    tree = today_tree(args.today) if args.today != "none" else None
    loops: dict[str, list[dict[str, Any]]] = {EAGER[0]: [], CHOSEN_BEFORE_SHAPE[0]: [], CHOSEN[0]: []}
    today: list[dict[str, Any]] = []
    for _ in range(repeats):  # A B C A B C ...: this VM's speed drifts
        if tree is not None:
            today.append(today_loop(tree, seconds, args))
        for name, ov in (EAGER, CHOSEN_BEFORE_SHAPE, CHOSEN):
            loops[name].append(pqn_loop(ov, seconds, args))
    if tree is not None:
        shutil.rmtree(tree, ignore_errors=True)
    med = _emit_loops(emit, loops, steps, today, args.today)
    chosen = _median_run(loops[CHOSEN[0]])
    outside = 1 - chosen["step_share"] - chosen["act_share"]
    if today:
        ratio = med[CHOSEN[0]] / med["today"]
        targets.append(
            (
                f"default loop env steps/s >= 2x today's eager fp32 loop ({args.today}, same run)",
                f"{ratio:.2f}x",
                ratio >= 2.0,
            )
        )
    same = med[CHOSEN[0]] / med[EAGER[0]]
    targets.append(
        (
            "default loop env steps/s >= 2x this code's eager fp32 path at the old shape (same run)",
            f"{same:.2f}x",
            same >= 2.0,
        )
    )
    targets.append(
        (
            "the chosen loop spends <= 15 % outside gradient steps and acting",
            f"{100 * outside:.0f} %",
            outside <= 0.15,
        )
    )
    vs_today = f"{med[CHOSEN[0]] / med['today']:.2f}x today's code, " if today else ""
    emit(
        f"Chosen loop: {vs_today}{same:.2f}x this code's eager fp32 path. Steps: median [range] of {3 if args.quick else 7} interleaved rounds per path. Loops: {repeats} interleaved runs per path, each {seconds:g} s measured after {1 if args.quick else 3} s; the breakdown is the median run's (wall time inside `learner.gradient_step` and `learner.act`; outside both: the game and its rendering, rollout storage, the update's own work, logging, Python). Today's code runs in a fresh process from `git archive {args.today}`, measured by its own `throughput.py` (`gridrl_training`). Load average at the end: {os.getloadavg()[0]:.2f}."
    )
    emit()


# ------------------------------------------------------------------------------------------ report
def machine(args: argparse.Namespace) -> str:
    info = machine_info(args.threads)
    return (
        f"Machine: {info['nproc']} cores ({info['cpu']}), torch {info['torch']} (oneDNN on), numpy "
        f"{np.__version__}, Python {info['python']}, torch threads {info['threads']}, device {args.device}; "
        f"load average {info['load_before'][0]:.2f} at start. gridrl commit {info['commit']}. "
        f"{time.strftime('%Y-%m-%d %H:%M')}."
    )


def fmt_rate(v: float) -> str:
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v:,.0f}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="~3 s per training figure (a smoke test)")
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="measured seconds per training figure (default 10, quick 3)",
    )
    p.add_argument(
        "--threads", type=int, default=0, help="torch threads (0 = all cores), gridrl and SB3 alike"
    )
    p.add_argument(
        "--repeats", type=int, default=2, help="runs of each training figure, interleaved; the best is shown"
    )
    p.add_argument("--device", default="cpu", help="cpu | cuda, gridrl and SB3 alike")
    p.add_argument("--env", default="default", help="env preset (the same game for both)")
    p.add_argument(
        "--skip", default="", help="comma list of sections to skip: training,game,latency,memory,startup"
    )
    p.add_argument(
        "--only",
        default="",
        help="comma list of the sections to run (speed,training,game,latency,memory,startup)",
    )
    p.add_argument(
        "--today",
        default="f28c0c8",
        help="git ref of the code before issue 19, whose default loop the speed section measures ('none': skip)",
    )
    p.add_argument("--out", type=Path, default=None, help="also write the markdown report here")
    args = p.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    if only:
        skip |= {"speed", "training", "game", "latency", "memory", "startup"} - only
    out: list[str] = [
        f"# Throughput ({'quick' if args.quick else 'full'} run, {seconds:g} s per training figure)",
        "",
        machine(args),
        "",
    ]

    def emit(text: str = "") -> None:
        print(text, flush=True)
        out.append(text)

    targets: list[tuple[str, str, bool]] = []  # (issue 8's target, measured, met)

    def speed_target(goal: float, what: str, ratio: float) -> None:
        targets.append((f"training >= {goal:g}x SB3, {what}", f"{ratio:.2f}x", ratio >= goal))

    print("\n".join(out), flush=True)
    # start-up first, while this process is cold (no oneDNN primitives cached yet); reported last
    start_s = startup(args) if "startup" not in skip else None
    if "speed" not in skip:
        speed_section(args, emit, targets)
    if "training" not in skip:
        emit("## Training (same game, same network; gridrl Trainer vs SB3 DQN)")
        emit()
        emit(
            "| learner | model | precision | params | N games | batch | updates per env step | env steps/s | updates/s | samples trained/s | vs SB3 | ms per update: loop | alone | threads | device |"
        )
        emit("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

        def row(who: str, model: str, precision: str, r: dict[str, Any], vs: str) -> None:
            alone = f"{r['alone_ms']:.2f}" if r["alone_ms"] is not None else "-"
            emit(
                f"| {who} | {model} | {precision} | {r['params']:,} | {r['n']} | {r['batch']} | {r['ratio']:.3g} | {r['sps']:,.0f} | {r['ups']:,.1f} | {r['ups'] * r['batch']:,.0f} | {vs} | {1e3 / r['ups']:.2f} | {alone} | {r['threads']} | {r['device']} |"
            )

        precisions = ["fp32"] + ([] if args.quick else ["bf16"])
        repeats = 1 if args.quick else args.repeats

        def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
            out = max(runs, key=lambda r: r["sps"])
            alone = [r["alone_ms"] for r in runs if r["alone_ms"] is not None]
            return {**out, "alone_ms": min(alone) if alone else None}

        for model in ("ego_cnn", "seed_cnn"):
            # gridrl's default double DQN in fp32 and bf16, and without double DQN: SB3's arithmetic
            # (2 forward passes per update instead of 3)
            variants = {f"gridrl dqn|{p}": [f"trainer.precision={p}"] for p in precisions}
            variants["gridrl dqn, double=false|fp32"] = ["agent.double=false"]
            runs: dict[str, list[dict[str, Any]]] = {k: [] for k in ["sb3", *variants]}
            for _ in range(repeats):  # interleaved, best of each: the machine's speed drifts
                runs["sb3"].append(sb3_training(model, seconds, args))
                for key, extra in variants.items():
                    runs[key].append(gridrl_training([*DQN_MATCH, f"model={model}", *extra], seconds, args))
            s = best(runs["sb3"])
            for key in variants:
                who, precision = key.split("|")
                g = best(runs[key])
                row(who, model, precision, g, f"{g['sps'] / s['sps']:.2f}x")
                if who == "gridrl dqn":  # the preset as it is (double DQN); double=false is a reference row
                    speed_target(
                        4.0 if model == "ego_cnn" else 1.2,
                        f"`{model}`, {precision}, batch {BATCH}, one update per {TRAIN_FREQ} env steps",
                        g["sps"] / s["sps"],
                    )
            row("SB3 DQN", model, "fp32", s, "1x")
        # the batched replay DQN preset beside SB3 at its batch size and replay ratio: SB3 with its usual
        # single game, and with as many games as gridrl in SB3's DummyVecEnv
        fast = compose(["agent=dqn_fast"])[0].agent
        per_update = round(1 / fast.replay_ratio)  # env steps per gradient update
        # games per SB3 row; SB3's train_freq (in VecEnv steps) follows them (sb3_peer.sb3_dqn_kwargs)
        sb3_fast = {"SB3 DQN, 1 game": 1, f"SB3 DQN, {fast.n_envs} games (DummyVecEnv)": fast.n_envs}
        fast_runs: dict[str, list[dict[str, Any]]] = {k: [] for k in ["gridrl", *sb3_fast]}
        for _ in range(repeats):
            fast_runs["gridrl"].append(gridrl_training(["agent=dqn_fast"], seconds, args))
            for key, n_envs in sb3_fast.items():  # the preset's own values: no SB3_MATCH overrides
                fast_runs[key].append(
                    sb3_training("ego_cnn", seconds, args, agent="dqn_fast", overrides={}, n_envs=n_envs)
                )
        g = best(fast_runs["gridrl"])
        peers = {k: best(fast_runs[k]) for k in sb3_fast}
        row(
            "gridrl dqn_fast",
            "ego_cnn",
            "fp32",
            g,
            " / ".join(f"{g['sps'] / r['sps']:.2f}x" for r in peers.values()),
        )
        for key, r in peers.items():
            row(key, "ego_cnn", "fp32", r, "1x")
            speed_target(
                4.0,
                f"`ego_cnn`, fp32, `agent=dqn_fast` (batch {fast.batch_size}, one update per {per_update} env steps) vs {key}",
                g["sps"] / r["sps"],
            )
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        pqn_threads = [args.threads] + ([1] if args.threads == 0 and cores > 1 and not args.quick else [])
        for th in pqn_threads:  # the default learner, and with one thread when that is not the default
            pqn_runs: dict[str, list[dict[str, Any]]] = {p: [] for p in precisions}
            for _ in range(repeats):
                for precision in precisions:
                    pqn_runs[precision].append(
                        gridrl_training(
                            [f"trainer.precision={precision}"],
                            seconds,
                            argparse.Namespace(**{**vars(args), "threads": th}),
                        )
                    )
            for precision in precisions:
                row("gridrl pqn (default)", "ego_cnn", precision, best(pqn_runs[precision]), "-")
        emit()
        emit(
            f"Steady state: both measured from {1 if args.quick else 3} s after the replay warm-up (learning_starts: {LEARNING_STARTS:,}; dqn_fast {fast.learning_starts:,}) for {seconds:g} s, best of {repeats} interleaved runs, gridrl through its real Trainer loop (TensorBoard logging included), SB3 through its own learn() loop. Replay ratio = gradient updates per env step; samples trained/s = updates/s x batch. ms per update: loop = wall time of the whole loop per gradient update (acting, game, replay and logging included); alone = one gradient step by itself (batch sampling included; SB3: `model.train()`), the arithmetic floor the loop can approach. bf16 = `trainer.precision=bf16` (autocast of the network passes). The `dqn_fast` rows: gridrl's `agent=dqn_fast` and SB3 DQN with its values (batch, replay ratio, buffer, warm-up), SB3 with one game (its usual loop) and with as many games as gridrl in a `DummyVecEnv` (train_freq counted in vector steps); gridrl's vs column: vs each SB3 row in turn."
        )
        emit()
    if "game" not in skip:
        emit("## Raw game (one thread; best of several runs: wall | CPU time)")
        emit()
        emit("| what | game steps/s (wall) | (CPU) |")
        emit("|---|---|---|")
        for what, wall, cpu in raw_game(args):
            emit(f"| {what} | {fmt_rate(wall)} | {fmt_rate(cpu)} |")
            if "N=1024" in what:
                targets.append((f"raw game >= 5M steps/s, {what}", fmt_rate(wall), wall >= 5e6))
        emit()
    if "latency" not in skip:
        emit("## Acting latency (one batched forward + epsilon-greedy, median)")
        emit()
        emit("| who | model | params | N | ms per call | µs per game | threads | device |")
        emit("|---|---|---|---|---|---|---|---|")
        for r in acting_latency(args):
            emit(
                f"| {r['who']} | {r['model']} | {r['params']:,} | {r['n']} | {r['ms']:.3f} | {1e3 * r['ms'] / r['n']:.1f} | {r['threads']} | {r['device']} |"
            )
        emit()
    if "memory" not in skip:
        emit(f"## Replay memory per {BUFFER // 1000}k transitions ({args.env} view)")
        emit()
        emit("| buffer | MB | x capacity x one frame |")
        emit("|---|---|---|")
        for what, nbytes, ratio in replay_memory(args):
            emit(f"| {what} | {nbytes / 1e6:.1f} | {ratio:.3f} |")
            if what.startswith("gridrl"):
                targets.append(
                    (f"replay memory <= 1.05 x capacity x one frame, {what}", f"{ratio:.3f}", ratio <= 1.05)
                )
        emit()
    if start_s is not None:
        s = start_s
        emit("## Start-up")
        emit()
        emit("| what | seconds |")
        emit("|---|---|")
        emit(
            f"| `gridrl train trainer=debug`: process start -> first TensorBoard event (the first env step follows) | {s['cli_first_event']:.2f} |"
        )
        emit(
            f"| the same run, whole (8k env steps, 2 evaluations of 50 games, final save) | {s['cli_total']:.2f} |"
        )
        emit(f"| in process: compose the Hydra config | {s['compose']:.3f} |")
        emit(f"| in process: `Trainer(...)` (game, network, learner, evaluator) | {s['trainer']:.3f} |")
        emit(f"| in process: the first act + game step | {s['first_step']:.3f} |")
        emit()
    if targets:
        emit("## Targets (issues 8 and 19, 2-core CPU)")
        emit()
        emit("| target | measured | met |")
        emit("|---|---|---|")
        for what, measured, met in targets:
            emit(f"| {what} | {measured} | {'yes' if met else 'no'} |")
        emit()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(out) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
