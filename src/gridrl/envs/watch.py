"""Watch a policy play one copy of an env of another family in an OpenCV window (``gridrl play <run>``).

The built-in game has its own window with keyboard play (:mod:`gridrl.play`); the other families are
watched only (their action sets have no keyboard layout here). Everything but the window lives in
:class:`WatchSession` (a test drives it headless). Keys: ``space`` pauses, ``r`` restarts, ``Esc`` quits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gridrl.config import GameConfig
from gridrl.envs.base import LoopEnv
from gridrl.envs.factory import game_label, make_game

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass
class WatchResult:
    returns: list[float] = field(default_factory=list)  # finished episodes' returns
    outcomes: list[str] = field(default_factory=list)  # terminated | truncated, per finished episode


class WatchSession:
    """One copy of the env of ``cfg`` played by ``policy``: the first episode reset with ``seed``, later
    ones continue the copy's generator. :meth:`picture` is what the window shows."""

    def __init__(self, cfg: GameConfig, policy: Policy, seed: int = 0, size: int = 480) -> None:
        game = make_game(cfg, 1)
        assert isinstance(game, LoopEnv), "the built-in game is watched with gridrl.play"
        game.final_frames = True
        self.cfg, self.game, self.policy, self.size = cfg, game, policy, size
        self.result = WatchResult()
        self.episode = 0
        self._new_episode(seed)

    def _new_episode(self, seed: int | None = None) -> None:
        self.obs = self.game.reset(seed)[0].copy()
        self.episode += 1
        self.over, self.t, self.ret, self.outcome = False, 0, 0.0, ""
        self._frame = self.game.render()[0]

    def restart(self) -> None:
        self._new_episode()

    def advance(self) -> str:
        """One policy step (``step``), or a new episode after a finished one (``restart``)."""
        if self.over:
            self._new_episode()
            return "restart"
        action = int(np.asarray(self.policy(self.obs)).reshape(-1)[0])
        obs, _, term, trunc, info = self.game.step(np.array([action], dtype=np.int64))
        self.t, self.ret = int(info["episode_length"][0]), float(info["episode_return"][0])
        if term[0] or trunc[0]:
            self.over, self.outcome = True, "terminated" if term[0] else "truncated"
            self._frame = info["final_frames"][0]
            self.result.returns.append(self.ret)
            self.result.outcomes.append(self.outcome)
        else:
            self.obs = obs.copy()
            self._frame = self.game.render()[0]
        return "step"

    def picture(self) -> np.ndarray:
        """The RGB HWC picture of the state on screen, with a text band."""
        from gridrl.reports import scaled_picture

        head = f"{game_label(self.cfg)}   episode {self.episode}   step {self.t}   return {self.ret:+g}"
        hint = (
            f"{self.outcome}   r: new episode   esc: quit"
            if self.over
            else "space: pause   r: restart   esc: quit"
        )
        return scaled_picture(self._frame, [head, hint], max(1, self.size // max(self._frame.shape[:2])))

    def close(self) -> None:
        self.game.close()


def watch(
    cfg: GameConfig, policy: Policy, seed: int = 0, size: int = 480, fps: float = 5.0, end_hold_s: float = 1.0
) -> WatchResult:
    """Watch ``policy`` play in an OpenCV window until Esc (or the window is closed); ``fps`` steps per
    second, each finished episode held ``end_hold_s`` seconds. Raises ``NoDisplayError`` (one line)
    where no window can open."""
    from gridrl.window import Window

    session = WatchSession(cfg, policy, seed, size)
    window = Window("gridrl play")
    try:
        window.show(session.picture())
        paused, next_t = False, time.monotonic()
        while True:
            key = window.key(50 if paused else max(1, int(1000 * (next_t - time.monotonic()))))
            if key == "esc":
                return session.result
            if key == " ":
                paused = not paused
            elif key == "r":
                session.restart()
                window.show(session.picture())
            if paused or key is not None or time.monotonic() < next_t:
                continue
            session.advance()
            window.show(session.picture())
            next_t = time.monotonic() + (end_hold_s if session.over else 1 / fps)
    finally:
        window.close()
        session.close()
