"""Raw speed of the batched grid game: game steps per second on one core.

Every step renders the observation; random actions are drawn before the clock starts.  Rows:

* ``GridGame`` at N = 1, 64, 1024 games for each observation mode (N = 1 is the single-game,
  gymnasium-style loop: one Python call per game step);
* ``plain python``: a per-step pure-Python Blob game (the tutorials' style: tuples, ``random`` and a
  fresh numpy RGB image per step), one game, for reference;
* with ``--minigrid TASK ...``: gridrl's MiniGrid adapter on each task with its batched views
  (``EgocentricViews``) beside the same adapter drawing each view with MiniGrid's own ``gen_obs``
  (``fast_views=False``), the observations being equal (tests).

Each figure is the best of ``--repeats`` timed runs, by the wall clock and by this thread's CPU time
(the second is steadier on a shared machine).  Usage::

    python benchmarks/game_speed.py [--size 10] [--seconds 0.3] [--repeats 5] [--n 1 64 1024]
    python benchmarks/game_speed.py --modes --n 1 128 --minigrid doorkey-8x8 empty-8x8
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one core (set before numpy is imported)

import argparse  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from gridrl.config import EnvConfig  # noqa: E402
from gridrl.game.grid import ACTION_TABLES, GridGame  # noqa: E402


def _best(run, repeats: int) -> tuple[float, float]:
    """Best wall-clock and best CPU (thread) seconds of ``run()`` over ``repeats`` calls."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        run()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.thread_time() - c0)
    return wall, cpu


def time_grid(cfg: EnvConfig, n: int, seconds: float, repeats: int) -> tuple[float, float]:
    """Best (wall, CPU) steps/s (games x steps) of ``GridGame(cfg, n)`` over runs of about ``seconds``."""
    return time_env(GridGame(cfg, n), n, seconds, repeats)


def time_env(game: Any, n: int, seconds: float, repeats: int) -> tuple[float, float]:
    """Best (wall, CPU) steps/s (games x steps) of a batched env of ``n`` games (random actions)."""
    game.reset(seed=0)
    rng = np.random.default_rng(0)
    # calibrate the number of calls so that one run takes about `seconds`
    probe = rng.integers(0, game.n_actions, (20, n))
    t0 = time.perf_counter()
    for a in probe:
        game.step(a)
    per_call = (time.perf_counter() - t0) / len(probe)
    calls = max(20, int(seconds / per_call))
    actions = rng.integers(0, game.n_actions, (calls, n))

    def run() -> None:
        for a in actions:
            game.step(a)

    wall, cpu = _best(run, repeats)
    return calls * n / wall, calls * n / cpu


class PlainBlob:
    """One Blob game in plain Python, rendered to a fresh (H, W, 3) uint8 image every step."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.rng = random.Random(seed)
        self.moves = [tuple(m) for m in ACTION_TABLES["sentdex9"].tolist()]
        self.reset()

    def reset(self) -> np.ndarray:
        cells = self.rng.sample(range(self.size * self.size), 3)
        self.player, self.food, self.enemy = [(c % self.size, c // self.size) for c in cells]
        self.t = 0
        return self.render()

    def render(self) -> np.ndarray:
        img = np.zeros((self.size, self.size, 3), dtype=np.uint8)
        img[self.food[1], self.food[0]] = (0, 255, 0)
        img[self.enemy[1], self.enemy[0]] = (0, 0, 255)
        img[self.player[1], self.player[0]] = (255, 175, 0)
        return img

    def step(self, action: int) -> tuple[np.ndarray, float, bool]:
        dx, dy = self.moves[action]
        x = min(max(self.player[0] + dx, 0), self.size - 1)
        y = min(max(self.player[1] + dy, 0), self.size - 1)
        self.player = (x, y)
        self.t += 1
        if self.player == self.enemy:
            reward, done = -300.0, True
        elif self.player == self.food:
            reward, done = 25.0, True
        else:
            reward, done = -1.0, self.t >= 200
        obs = self.reset() if done else self.render()
        return obs, reward, done


def time_plain(size: int, seconds: float, repeats: int) -> tuple[float, float]:
    game = PlainBlob(size)
    actions = np.random.default_rng(0).integers(0, 9, 2000).tolist()
    t0 = time.perf_counter()
    for a in actions:
        game.step(a)
    calls = max(2000, int(seconds / ((time.perf_counter() - t0) / 2000)))
    actions = np.random.default_rng(1).integers(0, 9, calls).tolist()

    def run() -> None:
        for a in actions:
            game.step(a)

    wall, cpu = _best(run, repeats)
    return calls / wall, calls / cpu


def fmt(rate: float) -> str:
    return f"{rate / 1e6:.3f}M" if rate >= 1e5 else f"{rate / 1e3:.1f}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10, help="grid height and width")
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (the best counts)")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 64, 1024], help="games stepped together")
    parser.add_argument("--modes", nargs="*", default=["rgb", "planes", "ego"], help="observation modes")
    parser.add_argument(
        "--minigrid", nargs="*", default=[], help="MiniGrid tasks (env=minigrid/<task> names) to time too"
    )
    args = parser.parse_args()

    print(
        f"grid {args.size}x{args.size}, sentdex rules, numpy {np.__version__}, python "
        f"{platform.python_version()}, one thread; game steps/s, best of {args.repeats} runs "
        f"(wall clock | CPU time of this thread)"
    )
    print(f"{'':16s}" + "".join(f"{f'N={n}':>21s}" for n in args.n))
    for mode in args.modes:
        cfg = EnvConfig(height=args.size, width=args.size, obs_mode=mode)
        rates = [time_grid(cfg, n, args.seconds, args.repeats) for n in args.n]
        cols = "".join(f"{fmt(w):>10s} |{fmt(c):>9s}" for w, c in rates)
        print(f"{'GridGame ' + mode:16s}{cols}", flush=True)
    wall, cpu = time_plain(args.size, args.seconds, args.repeats)
    print(f"{'plain python':16s}{fmt(wall):>10s} |{fmt(cpu):>9s}   (one game, rgb, per-step Python)")
    if args.minigrid:
        from gridrl.envs.minigrid import MiniGridEnv

        print(
            "MiniGrid: gridrl's adapter (20x7x7 one-hot views, all 7 actions), batched views or MiniGrid's own"
        )
        print(f"{'':28s}" + "".join(f"{f'N={n}':>21s}" for n in args.n))
        for task in args.minigrid:
            for label, fast in (("batched", True), ("own gen_obs", False)):
                rates = [
                    time_env(MiniGridEnv(task, n=n, fast_views=fast), n, args.seconds, args.repeats)
                    for n in args.n
                ]
                cols = "".join(f"{fmt(w):>10s} |{fmt(c):>9s}" for w, c in rates)
                print(f"{task + ' ' + label:28s}{cols}", flush=True)


if __name__ == "__main__":
    main()
