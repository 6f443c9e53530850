"""A gymnasium adapter: one grid game (``GridGame`` with N = 1) as a ``gymnasium.Env``.

The id ``gridrl/Grid-v0`` is registered by ``import gridrl`` (``gridrl/__init__.py``); keyword arguments of ``gym.make`` go to :class:`GridEnv`::

    import gymnasium as gym
    import gridrl  # registers gridrl/Grid-v0

    env = gym.make("gridrl/Grid-v0", preset="seed", render_mode="rgb_array", max_steps=100)

Gymnasium semantics: when ``terminated or truncated`` the step returns the finished episode's last
observation and ``info`` holds ``outcome`` (``food`` | ``enemy`` | ``timeout``), ``episode_return``,
``episode_length`` and ``is_success`` (the food was eaten); the caller then calls ``reset()`` (stepping a
finished episode raises). ``reset(seed=s)`` gives the layout of ``GridGame(cfg, 1).reset(s)``.
Truncation at ``max_steps`` is the game's own (no ``TimeLimit`` wrapper is registered).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from gridrl import config as config_module
from gridrl.config import ConfigError, EnvConfig
from gridrl.game.grid import OUTCOME_FOOD, OUTCOME_NAMES, obs_shape
from gridrl.game.render import ViewedGame, annotate, upscale
from gridrl.window import Window, has_display

NO_DISPLAY_HUMAN = (
    "render_mode='human' needs a display (no DISPLAY / OpenCV built without GUI): "
    "use render_mode='rgb_array' and save the frames instead"
)


def _preset_name(preset: str | None, config: EnvConfig | None) -> str | None:
    """``gridrl.config.load_env_config``'s preset: none when ``config`` is given or for ``"none"``."""
    return None if config is not None or preset in (None, "none") else preset


class GridEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One grid game. Observations are the game's uint8 ``(C, H, W)`` in ``obs_mode``; actions Discrete.

    Args:
        preset: a game preset (``default``, ``seed``, ``sentdex``, ``crowded`` ...: the ``env`` group of
            gridrl's configs) or ``None`` / ``"none"`` for :class:`EnvConfig`'s defaults; ignored when
            ``config`` is given.
        render_mode: ``None``, ``rgb_array`` (``render()`` returns the upscaled RGB ``(size, size, 3)``
            picture, grid lines drawn) or ``human`` (an OpenCV window; raises :class:`NoDisplayError`
            here when no window can open).
        config: an :class:`EnvConfig` to use instead of a preset.
        size: pixels of the rendered picture's longer side.
        **overrides: :class:`EnvConfig` fields, e.g. ``max_steps=50``.

    ``metadata["render_modes"]`` of an instance lists ``human`` only where a display exists.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array", "human"], "render_fps": 10}

    def __init__(
        self,
        preset: str | None = "default",
        render_mode: str | None = None,
        config: EnvConfig | None = None,
        size: int = 400,
        **overrides: Any,
    ) -> None:
        modes = ["rgb_array", "human"] if has_display() else ["rgb_array"]
        self.metadata = {**type(self).metadata, "render_modes": modes}
        if render_mode is not None and render_mode not in ("rgb_array", "human"):
            raise ConfigError(
                f"render_mode={render_mode!r} is not allowed; choose one of None, rgb_array, human"
            )
        cfg = config_module.load_env_config(_preset_name(preset, config), config, overrides)
        if not isinstance(cfg, EnvConfig):
            raise ConfigError(
                f"gridrl/Grid-v0 plays the built-in game; preset={preset!r} is a {cfg.family} env"
            )
        self.cfg = cfg
        self.render_mode = render_mode
        self.size = size
        self._window = Window("gridrl", message=NO_DISPLAY_HUMAN) if render_mode == "human" else None
        # a ViewedGame keeps a finished episode's last state, for render() after the final step
        self.game = ViewedGame(self.cfg, 1)
        self.observation_space = spaces.Box(0, 255, obs_shape(self.cfg), dtype=np.uint8)
        self.action_space = spaces.Discrete(self.game.n_actions)
        self._seeded = False
        self._started = False
        self._done = True
        self._outcome = "-"
        self._t, self._return = 0, 0.0  # steps and return so far (for the human view)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is None and not self._seeded:
            seed = int(self.np_random.integers(2**63 - 1))  # first reset without a seed: a random layout
        self._seeded = True
        obs, _ = self.game.reset(seed)
        self._started = True
        self._done = False
        self._outcome = "-"
        self._t, self._return = 0, 0.0
        if self.render_mode == "human":
            self.render()
        return obs[0].copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("GridEnv.step() after the episode ended (or before reset): call reset() first")
        obs, reward, term, trunc, info = self.game.step(np.asarray([int(action)], dtype=np.int64))
        terminated, truncated = bool(term[0]), bool(trunc[0])
        out_info: dict[str, Any] = {}
        if terminated or truncated:
            self._done = True
            outcome = int(info["outcome"][0])
            self._outcome = OUTCOME_NAMES[outcome]
            out_info = {
                "outcome": self._outcome,
                "episode_return": float(info["episode_return"][0]),
                "episode_length": int(info["episode_length"][0]),
                "is_success": outcome == OUTCOME_FOOD,
            }
            obs_out = info["final_obs"][0].copy()
        else:
            obs_out = obs[0].copy()
        self._t, self._return = int(info["episode_length"][0]), float(info["episode_return"][0])
        if self.render_mode == "human":
            self.render()
        return obs_out, float(reward[0]), terminated, truncated, out_info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gymnasium.logger.warn("GridEnv.render() called with render_mode=None: nothing to render")
            return None
        if not self._started:
            raise RuntimeError("GridEnv.render() before reset(): call reset() first")
        frame = self.game.final_frames()[0] if self._done else self.game.frames()[0]
        img = upscale(frame, self.size, grid=True)
        if self.render_mode == "rgb_array":
            return img
        assert self._window is not None
        lines = [
            f"step {self._t}/{self.cfg.max_steps}   return {self._return:+g}",
            f"outcome: {self._outcome}",
        ]
        img = annotate(img, lines)
        self._window.show(img)
        self._window.key(max(1, round(1000 / self.metadata["render_fps"])))
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None

    def config_dict(self) -> dict[str, Any]:
        """The game's configuration as a plain dict (for logs)."""
        return asdict(self.cfg)
