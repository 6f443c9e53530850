"""Greedy evaluation on a fixed set of episodes, scored against a reference and against random play.

:func:`make_evaluator` picks the evaluator of an env config:

* the built-in game (:class:`Evaluator`): layouts drawn once from ``eval_seed`` (independent of the
  training seed), so every evaluation of every run with the same game sees the same games; each game
  plays exactly one episode; the reference is the oracle (``oracle_ratio``);
* the other families (:class:`EpisodeEvaluator`): copy ``i`` of the env reset with ``eval_seed + i``
  plays one episode; the reference, where :mod:`gridrl.envs.reference` has one, is a published score
  (MinAtar) or each episode's optimal return (MiniGrid) (``ref_ratio``).

Both report ``normalized_score`` = (R - R_random) / (R_reference - R_random) with ``R_random`` the mean
return of uniformly random actions on the same episodes, measured once per evaluator (left out where
there is no reference or it equals random play's). The module holds both evaluators (and their shared
recording of the first games for videos), hence its length: one place for "how a policy is scored".

Loop stop: on a static game (nothing moves, no slip) a greedy policy (epsilon 0) is a function of the
observation, which is a function of the player's cell and the food left. If the player revisits a cell
with the same food left, it is in a loop it can never leave: the game is stopped there and booked as the
timeout it would have become (its return so far plus ``move_reward`` for every remaining step).

Recording: ``run(policy, record=K)`` also keeps, in the same batched play, the RGB frames of the first K
games at every step (:class:`Recording`), so a video shows exactly the games the evaluator scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gridrl.config import EnvConfig, GameConfig
from gridrl.envs.base import LoopEnv
from gridrl.envs.factory import make_game
from gridrl.game.grid import OUTCOME_ENEMY, OUTCOME_FOOD, OUTCOME_NAMES, OUTCOME_TIMEOUT, GridGame
from gridrl.game.oracle import oracle_returns
from gridrl.game.render import ViewedGame

Policy = Callable[[np.ndarray], np.ndarray]


def random_policy(n_actions: int, seed: int) -> Policy:
    """Uniformly random actions from its own generator (seeded): the baseline of ``normalized_score``."""
    rng = np.random.default_rng([seed, 4])
    return lambda obs: rng.integers(0, n_actions, len(obs))


def scores(
    returns: np.ndarray, reference: np.ndarray, random: np.ndarray | None, key: str
) -> dict[str, float]:
    """The scores of an evaluation's ``returns`` against the ``reference`` returns on the same episodes:
    ``key`` (mean return over the reference's; undefined when the reference scores <= 0) and, with random
    play's returns, ``random_mean_return`` and ``normalized_score`` = (R - R_random) / (R_ref - R_random)
    (left out where the reference equals random play). Each score comes with ``<name>_low`` /
    ``<name>_high``: its 95 % interval over these episodes (:func:`gridrl.stats.ratio_of_means`), which
    says whether the evaluation has enough of them."""
    from gridrl.stats import ratio_of_means

    def with_interval(name: str, num: np.ndarray, den: np.ndarray) -> dict[str, float]:
        iv = ratio_of_means(num, den)
        return {name: iv.value, f"{name}_low": iv.low, f"{name}_high": iv.high}

    ref = float(reference.mean())
    out = with_interval(key, returns, reference) if ref > 0 else {key: float("nan")}
    if random is None:
        return out
    out["random_mean_return"] = float(random.mean())
    if not np.isfinite(ref) or ref == out["random_mean_return"]:
        return out
    return out | with_interval("normalized_score", returns - random, reference - random)


@dataclass
class Recording:
    """The first K games of an evaluation, step by step, as the evaluator played and booked them.

    Row ``t`` of ``frames`` / ``returns`` is the state after step ``t`` (row 0: before the first step).
    Game ``k`` is on screen for rows ``0 .. lengths[k]``: its last row is its final state (the food
    eaten, the enemy touched, the timeout, or the step where the loop stop fired). Later rows of a game
    are meaningless.
    """

    frames: np.ndarray  # (T + 1, K, 3, H, W) uint8 RGB frames in the game's colours
    returns: np.ndarray  # (T + 1, K) return so far at each row
    lengths: np.ndarray  # (K,) steps on screen (a loop-stopped game: the step it was stopped at)
    outcomes: np.ndarray  # (K,) the evaluator's outcome: 1 food, 2 enemy, 3 timeout
    booked_returns: np.ndarray  # (K,) the evaluator's returns (a loop stop books the whole timeout)
    loop_stopped: np.ndarray  # (K,) bool: stopped by the loop rule
    max_steps: int
    outcome_names: tuple[str, ...] = OUTCOME_NAMES  # outcome code -> its name (another family: ENV_OUTCOMES)
    cells: bool = True  # a frame's pixels are the game's cells (the built-in game, MinAtar), not a picture


def return_stats(returns: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
    """What every evaluation reports of its episodes' returns and lengths."""
    return {
        "episodes": int(len(returns)),
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "min_return": float(returns.min()),
        "max_return": float(returns.max()),
        "mean_length": float(lengths.mean()),
    }


@dataclass
class EvalResult:
    returns: np.ndarray  # (episodes,) returns in the game's own units
    lengths: np.ndarray  # (episodes,) steps (a loop-stopped game counts max_steps)
    outcomes: np.ndarray  # (episodes,) 1 food, 2 enemy, 3 timeout
    loop_stopped: np.ndarray  # (episodes,) bool: stopped by the loop rule
    oracle: np.ndarray  # (episodes,) the oracle's return on each layout
    recording: Recording | None = None  # the first games step by step (``Evaluator.run(record=K)``)
    random: np.ndarray | None = None  # (episodes,) random play's return on each layout

    def summary(self) -> dict[str, float]:
        oracle_mean = float(self.oracle.mean())
        return {
            **return_stats(self.returns, self.lengths),
            "food_rate": float((self.outcomes == OUTCOME_FOOD).mean()),
            "enemy_rate": float((self.outcomes == OUTCOME_ENEMY).mean()),
            "timeout_rate": float((self.outcomes == OUTCOME_TIMEOUT).mean()),
            "loop_stop_rate": float(self.loop_stopped.mean()),
            "oracle_mean_return": oracle_mean,
            # share of the oracle's mean return (1.0 = optimal), normalized score: the oracle is the reference
            **scores(self.returns, self.oracle, self.random, "oracle_ratio"),
        }


class Evaluator:
    def __init__(self, cfg: EnvConfig, episodes: int, seed: int) -> None:
        self.cfg, self.episodes, self.seed = cfg, episodes, seed
        game = GridGame(cfg, episodes)
        game.reset(seed)
        self.layouts = game.get_state()
        self._oracle: np.ndarray | None = None
        self._random: np.ndarray | None = None

    def layout_frames(self, k: int) -> np.ndarray:
        """RGB pictures (k, 3, H, W) uint8 of the first ``k`` evaluation layouts."""
        k = min(k, self.episodes)
        game = GridGame(self.cfg, k)
        game.set_state({key: v[:k] for key, v in self.layouts.items()})
        return game.render_obs("rgb")

    @property
    def oracle(self) -> np.ndarray:
        if self._oracle is None:
            self._oracle = oracle_returns(self.cfg, self.layouts, seed=self.seed)
        return self._oracle

    @property
    def random_returns(self) -> np.ndarray:
        """Random play's return on each layout (measured once, without the loop stop)."""
        if self._random is None:
            policy = random_policy(GridGame(self.cfg, 1).n_actions, self.seed)
            self._random = self._play(policy, 0.0, None, loop_stop=False, record=0).returns
        return self._random

    def run(
        self,
        policy: Policy,
        epsilon: float = 0.0,
        rng: np.random.Generator | None = None,
        loop_stop: bool = True,
        record: int = 0,
    ) -> EvalResult:
        """Play every layout once with ``policy`` (one call per step on all unfinished games).

        ``record`` > 0 also returns the first ``record`` games as a :class:`Recording` (in
        ``EvalResult.recording``); it changes no score. ``EvalResult.random`` holds random play's
        returns on the same layouts (:attr:`random_returns`).
        """
        result = self._play(policy, epsilon, rng, loop_stop, record)
        result.random = self.random_returns
        return result

    def _play(
        self, policy: Policy, epsilon: float, rng: np.random.Generator | None, loop_stop: bool, record: int
    ) -> EvalResult:
        cfg, n = self.cfg, self.episodes
        if not 0 <= record <= n:
            raise ValueError(f"record={record}: choose 0 .. episodes ({n})")
        game = ViewedGame(cfg, n) if record else GridGame(cfg, n)
        game.reset(self.seed + 1)  # randomness of moving entities / respawns during evaluation
        obs = game.set_state(self.layouts)
        rng = rng or np.random.default_rng(self.seed + 2)
        stop_loops = loop_stop and epsilon == 0.0 and cfg.is_static and cfg.on_food != "respawn"
        returns = np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        outcomes = np.zeros(n, dtype=np.int64)
        looped = np.zeros(n, dtype=bool)
        active = np.ones(n, dtype=bool)
        visited = np.zeros((n, cfg.height * cfg.width), dtype=bool)
        rows = np.arange(n)
        visited[rows, game.player[:, 1] * cfg.width + game.player[:, 0]] = True
        food_left = game.food_alive.sum(1)
        rec = _Recorder(game, record) if isinstance(game, ViewedGame) else None
        while active.any():
            idx = np.flatnonzero(active)
            actions = np.zeros(n, dtype=np.int64)
            acts = policy(obs[idx])
            if epsilon > 0.0:
                explore = rng.random(len(idx)) < epsilon
                acts = np.where(explore, rng.integers(0, game.n_actions, len(idx)), acts)
            actions[idx] = acts
            obs, _, term, trunc, info = game.step(actions)
            done = (term | trunc) & active
            if done.any():
                d = np.flatnonzero(done)
                returns[d] = info["episode_return"][d]
                lengths[d] = info["episode_length"][d]
                outcomes[d] = info["outcome"][d]
                active &= ~done
            if stop_loops:
                now_left = game.food_alive.sum(1)
                changed = now_left != food_left
                visited[changed] = False
                food_left = now_left
                cell = game.player[:, 1] * cfg.width + game.player[:, 0]
                loop = active & visited[rows, cell]
                visited[rows, cell] = True
                if loop.any():
                    g = np.flatnonzero(loop)
                    returns[g] = game.ep_return[g] + (cfg.max_steps - game.t[g]) * cfg.move_reward
                    lengths[g] = cfg.max_steps
                    outcomes[g] = OUTCOME_TIMEOUT
                    looped[g] = True
                    active &= ~loop
            if rec is not None:
                rec.add(done, active, info)
        recording = rec.result(returns, outcomes, looped) if rec is not None else None
        return EvalResult(returns, lengths, outcomes, looped, self.oracle, recording)


class _Recorder:
    """Collects a :class:`Recording` of the first ``k`` games of a :class:`ViewedGame` during ``run``."""

    def __init__(self, game: ViewedGame, k: int) -> None:
        self.game, self.k = game, k
        self.frames = [game.frames(slice(0, k))]
        self.returns = [np.zeros(k)]
        self.lengths = np.zeros(k, dtype=np.int64)
        self.on = np.ones(k, dtype=bool)  # games still on screen

    def add(self, done: np.ndarray, active: np.ndarray, info: dict[str, np.ndarray]) -> None:
        """After a step: ``done`` games ended this step, ``active`` ones play on (loop stops applied)."""
        if not self.on.any():
            return
        k, game = self.k, self.game
        frames, returns = game.frames(slice(0, k)), game.ep_return[:k].copy()
        ended = done[:k]
        if ended.any():  # auto-reset: their last state is the one the game kept
            frames[ended] = game.final_frames(np.flatnonzero(ended))
            returns[ended] = info["episode_return"][:k][ended]
        self.frames.append(frames)
        self.returns.append(returns)
        off = self.on & ~active[:k]
        self.lengths[off] = len(self.frames) - 1
        self.on &= ~off

    def result(self, returns: np.ndarray, outcomes: np.ndarray, looped: np.ndarray) -> Recording:
        k = self.k
        return Recording(
            np.stack(self.frames),
            np.stack(self.returns),
            self.lengths,
            outcomes[:k].copy(),
            returns[:k].copy(),
            looped[:k].copy(),
            self.game.cfg.max_steps,
        )


# ---------------------------------------------------------------------------------- other families
@dataclass
class EpisodeResult:
    """One seeded episode per copy of an env of another family (:class:`EpisodeEvaluator`)."""

    returns: np.ndarray  # (episodes,) returns in the env's own units
    lengths: np.ndarray  # (episodes,) steps
    truncated: np.ndarray  # (episodes,) bool: ended by a step limit
    reference: np.ndarray | None  # (episodes,) the reference return of each episode (None: none)
    random: np.ndarray | None = None  # (episodes,) random play's return (where there is a reference)
    recording: Recording | None = None  # the first episodes step by step (``EpisodeEvaluator.run(record=K)``)

    def summary(self) -> dict[str, float]:
        out = {**return_stats(self.returns, self.lengths), "timeout_rate": float(self.truncated.mean())}
        if self.reference is None:
            return out
        out["reference_mean_return"] = float(self.reference.mean())
        return out | scores(self.returns, self.reference, self.random, "ref_ratio")


class EpisodeEvaluator:
    """Greedy evaluation of an env without an oracle: copy ``i`` of ``make_game(cfg, episodes)`` is reset
    with ``seed + i`` and plays one episode (the same episodes at every evaluation of a policy that acts
    the same). Reference returns (:func:`gridrl.envs.reference.game_reference`) and random play's are
    computed once, on first use."""

    def __init__(self, cfg: GameConfig, episodes: int, seed: int) -> None:
        self.cfg, self.episodes, self.seed = cfg, episodes, seed
        self._game: LoopEnv | None = None
        self._reference: tuple[np.ndarray, str] | None | bool = False  # False: not looked up yet
        self._random: np.ndarray | None = None

    @property
    def game(self) -> LoopEnv:
        if self._game is None:
            game = make_game(self.cfg, self.episodes)
            assert isinstance(game, LoopEnv)
            self._game = game
        return self._game

    @property
    def reference(self) -> np.ndarray | None:
        """The reference return of each episode, or None where there is none."""
        if self._reference is False:
            from gridrl.envs.reference import game_reference

            self._reference = game_reference(self.cfg, range(self.seed, self.seed + self.episodes))
        return None if not self._reference else self._reference[0]  # type: ignore[index]

    @property
    def reference_source(self) -> str | None:
        """Where the reference comes from (None: no reference)."""
        return None if self.reference is None else self._reference[1]  # type: ignore[index]

    @property
    def random_returns(self) -> np.ndarray:
        """Random play's return on each episode (measured once)."""
        if self._random is None:
            self._random = self._play(random_policy(self.game.n_actions, self.seed), 0.0, None, 0).returns
        return self._random

    def layout_frames(self, k: int) -> np.ndarray:
        """RGB pictures (k, 3, H, W) uint8 of the first ``k`` evaluation episodes' first states."""
        game = make_game(self.cfg, min(k, self.episodes))
        assert isinstance(game, LoopEnv)
        try:
            game.reset(self.seed)
            return np.ascontiguousarray(game.render().transpose(0, 3, 1, 2))
        finally:
            game.close()

    def run(
        self, policy: Policy, epsilon: float = 0.0, rng: np.random.Generator | None = None, record: int = 0
    ) -> EpisodeResult:
        """Play every episode once with ``policy`` (one call per step on the unfinished copies);
        ``epsilon``: chance of a random action per step (own generator, from ``rng`` or the seed).
        ``record`` > 0 also returns the first ``record`` episodes as a :class:`Recording` of the env's
        ``render()`` pictures (at most :data:`RECORD_MAX_STEPS` steps of each); it changes no score."""
        if not 0 <= record <= self.episodes:
            raise ValueError(f"record={record}: choose 0 .. episodes ({self.episodes})")
        result = self._play(policy, epsilon, rng, record)
        if self.reference is not None:
            result.random = self.random_returns
        return result

    def _play(
        self, policy: Policy, epsilon: float, rng: np.random.Generator | None, record: int
    ) -> EpisodeResult:
        n, game = self.episodes, self.game
        rng = rng or np.random.default_rng(self.seed + 2)
        game.final_frames = record > 0
        obs, _ = game.reset(self.seed)
        rec = _EnvRecorder(game, record, self.cfg) if record else None
        returns = np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        truncated = np.zeros(n, dtype=bool)
        active = np.ones(n, dtype=bool)
        actions = np.zeros(n, dtype=np.int64)
        while active.any():
            idx = np.flatnonzero(active)
            acts = np.asarray(policy(obs[idx]), dtype=np.int64)
            if epsilon > 0.0:
                explore = rng.random(len(idx)) < epsilon
                acts = np.where(explore, rng.integers(0, game.n_actions, len(idx)), acts)
            actions[idx] = acts
            obs, _, term, trunc, info = game.step(actions, active)
            done = (term | trunc) & active
            if done.any():
                d = np.flatnonzero(done)
                returns[d] = info["episode_return"][d]
                lengths[d] = info["episode_length"][d]
                truncated[d] = trunc[d]
                active &= ~done
            if rec is not None:
                rec.add(term, trunc, active, info)
        recording = rec.result() if rec is not None else None
        return EpisodeResult(returns, lengths, truncated, self.reference, recording=recording)

    def close(self) -> None:
        if self._game is not None:
            self._game.close()
            self._game = None


RECORD_MAX_STEPS = 500  # a recorded episode of another family stops being recorded here (not scored)
ENV_OUTCOMES = ("-", "terminated", "truncated", f"cut at {RECORD_MAX_STEPS} steps (video only)")


class _EnvRecorder:
    """Collects a :class:`Recording` of the first ``k`` copies of a :class:`LoopEnv` (their ``render()``
    pictures) during ``EpisodeEvaluator.run``."""

    def __init__(self, game: LoopEnv, k: int, cfg: GameConfig) -> None:
        from gridrl.config import MinAtarConfig
        from gridrl.envs.factory import NO_LIMIT, truncation_gap

        self.game, self.k, self.copies = game, k, np.arange(k)
        self.frames = [game.render(self.copies).transpose(0, 3, 1, 2)]
        self.returns = [np.zeros(k)]
        self.lengths = np.zeros(k, dtype=np.int64)
        self.outcomes = np.zeros(k, dtype=np.int64)
        self.booked = np.zeros(k)
        self.on = np.ones(k, dtype=bool)  # episodes still on screen
        gap = truncation_gap(cfg)
        self.max_steps = gap if 1 < gap < NO_LIMIT else RECORD_MAX_STEPS
        self.cells = isinstance(cfg, MinAtarConfig)  # MinAtar draws one pixel per cell

    def add(
        self, term: np.ndarray, trunc: np.ndarray, active: np.ndarray, info: dict[str, np.ndarray]
    ) -> None:
        """After a step: ``term`` / ``trunc`` as ``step`` returned them, ``active`` the copies playing on."""
        if not self.on.any():
            return
        k, game = self.k, self.game
        frames = game.render(self.copies).transpose(0, 3, 1, 2)
        returns = game.ep_return[:k].copy()
        ended = self.on & (term | trunc)[:k]
        if ended.any():  # auto-reset: their last state is the picture the step kept
            frames[ended] = info["final_frames"][:k][ended].transpose(0, 3, 1, 2)
            returns[ended] = info["episode_return"][:k][ended]
            self.outcomes[ended] = np.where(term[:k][ended], 1, 2)
        self.frames.append(frames)
        self.returns.append(returns)
        row = len(self.frames) - 1
        cut = self.on & ~ended & (row >= RECORD_MAX_STEPS)
        self.outcomes[cut] = 3
        off = ended | cut
        self.lengths[off] = row
        self.booked[off] = returns[off]
        self.on &= ~off

    def result(self) -> Recording:
        return Recording(np.stack(self.frames), np.stack(self.returns), self.lengths, self.outcomes,
                         self.booked, np.zeros(self.k, dtype=bool), self.max_steps, ENV_OUTCOMES,
                         self.cells)  # fmt: skip


AnyEvaluator = Evaluator | EpisodeEvaluator


def make_evaluator(cfg: GameConfig, episodes: int, seed: int) -> AnyEvaluator:
    """The evaluator of the game of ``cfg``: :class:`Evaluator` (the built-in game, against its oracle)
    or :class:`EpisodeEvaluator` (every other family)."""
    if isinstance(cfg, EnvConfig):
        return Evaluator(cfg, episodes, seed)
    return EpisodeEvaluator(cfg, episodes, seed)
