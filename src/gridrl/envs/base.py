"""The batched-environment contract every gridrl learner consumes, and a loop-based base class.

A *batched env* is ``n`` independent copies of one game stepped together (what
:class:`gridrl.game.grid.GridGame` provides natively; the adapters of this package put MinAtar,
MiniGrid and other gymnasium envs behind the same contract):

* attributes ``n`` (copies), ``obs_shape`` ``(C, H, W)``, ``n_actions`` (actions ``0 .. n_actions-1``);
* ``reset(seed=None) -> (obs, info)``: ``obs`` uint8 ``(n, C, H, W)``; copy ``i`` is seeded with
  ``seed + i`` so that one seed always gives the same episodes (``None``: keep the copies' own
  generators, seeded from the OS where they never were);
* ``step(actions) -> (obs, reward, terminated, truncated, info)`` with ``actions`` int ``(n,)``,
  ``reward`` float32 ``(n,)``, ``terminated`` / ``truncated`` bool ``(n,)``. A copy whose episode ended
  resets at once (auto-reset): ``obs`` holds its new episode's first observation, and ``info`` holds,
  valid at the rows where ``terminated | truncated``:

  - ``final_obs`` uint8 ``(n, C, H, W)``: the finished episode's last observation (other rows: stale);
  - ``episode_return`` float64 ``(n,)``: the finished episode's undiscounted sum of raw rewards;
  - ``episode_length`` int64 ``(n,)``: its number of steps.

  ``terminated`` is the game's own end (no bootstrap); ``truncated`` a time limit (bootstraps); a step
  that does both reports ``terminated`` only (as ``GridGame`` does);
* ``render() -> (n, h, w, 3)`` uint8 RGB pictures of the current states (for videos);
* ``close()``.

Observations are uint8; binary planes are 0/255 (the networks scale inputs by 1/255). ``obs`` and
``info["final_obs"]`` are buffers that the next call overwrites: copy what you keep.
"""

from __future__ import annotations

import colorsys
from abc import ABC, abstractmethod
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class BatchedEnv(Protocol):
    """``n`` copies of a game stepped together (the contract is in this module's docstring)."""

    n: int
    obs_shape: tuple[int, int, int]
    n_actions: int

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]: ...

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]: ...

    def render(self) -> np.ndarray: ...

    def close(self) -> None: ...


class LoopEnv(ABC):
    """A batched env made of ``n`` single-copy games stepped by a Python loop.

    Subclasses provide the per-copy calls (:meth:`_reset_one`, :meth:`_step_one`) returning the game's
    *raw* observation (any fixed shape and dtype, ``raw_shape`` / ``raw_dtype``) and a vectorised
    :meth:`_encode` that turns a stack of raw observations into uint8 ``(m, C, H, W)``. This class does
    the batching, auto-reset, episode statistics and the optional step limit ``max_steps`` (a
    truncation, counted in this adapter's steps; ``None``: the game's own limits only).
    """

    def __init__(
        self,
        n: int,
        obs_shape: tuple[int, int, int],
        n_actions: int,
        raw_shape: tuple[int, ...],
        raw_dtype: Any,
        max_steps: int | None = None,
    ) -> None:
        if n < 1:
            raise ValueError(f"n={n} must be >= 1")
        self.n = n
        self.obs_shape: tuple[int, int, int] = (int(obs_shape[0]), int(obs_shape[1]), int(obs_shape[2]))
        self.n_actions = n_actions
        self.max_steps = max_steps
        self._raw = np.zeros((n, *raw_shape), dtype=raw_dtype)
        self._obs = np.zeros((n, *obs_shape), dtype=np.uint8)
        self._final_obs = np.zeros_like(self._obs)
        self.final_frames = False  # step(): also return pictures of finished episodes' last states
        self.t = np.zeros(n, dtype=np.int64)  # steps in the current episode, per copy
        self.ep_return = np.zeros(n, dtype=np.float64)  # return so far in the current episode

    # ---------------------------------------------------------------------------- subclass interface
    @abstractmethod
    def _reset_one(self, i: int, seed: int | None) -> np.ndarray:
        """Start a new episode of copy ``i`` (re-seeded when ``seed`` is given); its raw observation."""

    @abstractmethod
    def _step_one(self, i: int, action: int) -> tuple[np.ndarray, float, bool, bool]:
        """Advance copy ``i``: ``raw_obs, reward, terminated, truncated`` (the game's own flags)."""

    def _step_many(
        self, idx: list[int], actions: list[int], out: np.ndarray | None
    ) -> tuple[np.ndarray, tuple[float, ...], tuple[bool, ...], tuple[bool, ...]]:
        """Advance copies ``idx`` by ``actions``: their raw observations ``(len(idx), *raw_shape)``
        (written into ``out`` when given), rewards, terminated and truncated flags. The default loops
        over :meth:`_step_one`; a subclass that can batch part of the work overrides this."""
        obs_list, rewards, terms, truncs = zip(
            *[self._step_one(i, a) for i, a in zip(idx, actions, strict=True)], strict=True
        )
        return np.stack(obs_list, out=out), rewards, terms, truncs

    @abstractmethod
    def _encode(self, raw: np.ndarray, out: np.ndarray) -> None:
        """Write the uint8 observations of the raw stack ``raw`` ``(m, ...)`` into ``out`` ``(m, C, H, W)``."""

    # ------------------------------------------------------------------------------------ public API
    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start every copy afresh; copy ``i`` is seeded with ``seed + i`` when ``seed`` is given."""
        for i in range(self.n):
            self._raw[i] = self._reset_one(i, None if seed is None else seed + i)
        self.t[:] = 0
        self.ep_return[:] = 0.0
        self._encode(self._raw, self._obs)
        return self._obs, {}

    def step(
        self, actions: np.ndarray, active: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Advance every copy by one step (auto-reset); see the module docstring for the outputs.

        Beyond the contract: ``active`` (bool ``(n,)``) steps only those copies; the others keep their
        state and observation and report reward 0, not terminated, not truncated (their actions are
        ignored). With :attr:`final_frames` set, ``info["final_frames"]`` holds :meth:`render` pictures
        of the finished episodes' last states (valid at the rows that ended).
        """
        acts = np.asarray(actions, dtype=np.int64).reshape(-1)
        if acts.shape[0] != self.n:
            raise ValueError(f"expected {self.n} actions, got {acts.shape[0]}")
        stepped = np.arange(self.n) if active is None else np.flatnonzero(active)
        if len(stepped) and (acts[stepped].min() < 0 or acts[stepped].max() >= self.n_actions):
            raise ValueError(f"actions must lie in [0, {self.n_actions - 1}], got {acts.min()}..{acts.max()}")
        raw = self._raw
        reward = np.zeros(self.n, dtype=np.float32)
        terminated = np.zeros(self.n, dtype=bool)
        truncated = np.zeros(self.n, dtype=bool)
        if len(stepped):
            obs, rewards, terms, truncs = self._step_many(
                stepped.tolist(), acts[stepped].tolist(), raw if active is None else None
            )
            if active is not None:
                raw[stepped] = obs
            reward[stepped], terminated[stepped], truncated[stepped] = rewards, terms, truncs
        self.t[stepped] += 1
        self.ep_return[stepped] += reward[stepped]
        if self.max_steps is not None:
            truncated[stepped] |= self.t[stepped] >= self.max_steps
        truncated &= ~terminated
        done = terminated | truncated
        info: dict[str, Any] = {
            "final_obs": self._final_obs,
            "episode_return": self.ep_return.copy(),
            "episode_length": self.t.copy(),
        }
        if done.any():
            idx = np.flatnonzero(done)
            final = np.empty((len(idx), *self.obs_shape), dtype=np.uint8)
            self._encode(raw[idx], final)
            self._final_obs[idx] = final
            if self.final_frames:
                pictures = self.render(idx)
                info["final_frames"] = np.zeros((self.n, *pictures.shape[1:]), dtype=np.uint8)
                info["final_frames"][idx] = pictures
            for i in idx.tolist():
                raw[i] = self._reset_one(i, None)
            self.t[idx] = 0
            self.ep_return[idx] = 0.0
        self._encode(raw, self._obs)
        return self._obs, reward, terminated, truncated, info

    def _observations(self, copies: np.ndarray | None) -> np.ndarray:
        """The uint8 observations ``(k, C, H, W)`` of the copies' current states (a new array)."""
        raw = self._raw if copies is None else self._raw[copies]
        out = np.empty((len(raw), *self.obs_shape), dtype=np.uint8)
        self._encode(raw, out)
        return out

    def render(self, copies: np.ndarray | None = None) -> np.ndarray:
        """RGB ``(k, H, W, 3)`` pictures of the current states of ``copies`` (default: all), planes
        coloured by :func:`colorize`."""
        return colorize(self._observations(copies))

    def close(self) -> None:
        """Close the copies: ``close()`` of each item of ``self.envs`` that has one."""
        for env in getattr(self, "envs", ()):
            if hasattr(env, "close"):
                env.close()


def palette(k: int) -> np.ndarray:
    """``k`` distinct, bright RGB colours (uint8 ``(k, 3)``): evenly spaced hues, fixed order."""
    hues = np.arange(k) / max(k, 1)
    return np.array(
        [[round(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 1.0)] for h in hues], dtype=np.uint8
    )


def colorize(planes: np.ndarray, colors: np.ndarray | None = None) -> np.ndarray:
    """Pictures of binary planes: uint8 ``(n, C, H, W)`` -> RGB ``(n, H, W, 3)``.

    A cell takes the colour of its highest-numbered non-zero plane (``colors[c]``, default
    :func:`palette`), black where every plane is zero. Three-plane observations are not treated as RGB
    here: callers with RGB observations transpose them instead.
    """
    planes = np.asarray(planes)
    n, C, H, W = planes.shape
    if colors is None:
        colors = palette(C)
    lut = np.concatenate([np.zeros((1, 3), np.uint8), np.asarray(colors, dtype=np.uint8)])
    on = planes > 0
    # index of the last non-zero plane + 1, 0 where none
    top = np.where(on.any(1), C - np.argmax(on[:, ::-1], axis=1), 0)
    return lut[top]
