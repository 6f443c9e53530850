"""Play the grid game with the keyboard, or watch a policy play it, in an OpenCV window.

Keys (a numpad laid on the letters; the numpad's digits and the arrows work too)::

    q w e      7 8 9      up-left    up     up-right
    a s d      4 5 6      left       stay   right        (stay only with actions=sentdex9)
    z x c      1 2 3      down-left  down   down-right

``r`` starts a new game, ``Esc`` (or closing the window) quits; watching a policy, ``space`` pauses.
The game is turn-based: it moves when you press a move key. After an episode ends its last state stays
on screen until a move key or ``r`` starts the next one.

Everything but the window lives in :class:`PlaySession`, which :func:`run_headless_script` drives with a
list of key names (tests, or machines without a display).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from gridrl.config import EnvConfig
from gridrl.game.grid import ACTION_TABLES, OUTCOME_NAMES
from gridrl.game.render import ViewedGame, annotate, upscale
from gridrl.window import NO_DISPLAY_MESSAGE, NoDisplayError, Window, has_display

__all__ = [
    "KEY_MOVES",
    "NoDisplayError",
    "PlayResult",
    "PlaySession",
    "StepRecord",
    "key_actions",
    "play",
    "run_headless_script",
]

# key name -> (dx, dy); y grows downwards (row index)
KEY_MOVES: dict[str, tuple[int, int]] = {
    "q": (-1, -1), "w": (0, -1), "e": (1, -1),
    "a": (-1, 0), "s": (0, 0), "d": (1, 0),
    "z": (-1, 1), "x": (0, 1), "c": (1, 1),
    "7": (-1, -1), "8": (0, -1), "9": (1, -1),
    "4": (-1, 0), "5": (0, 0), "6": (1, 0),
    "1": (-1, 1), "2": (0, 1), "3": (1, 1),
    "up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0),
}  # fmt: skip
QUIT_KEYS = ("esc",)
RESTART_KEY = "r"
PAUSE_KEY = " "


def key_actions(actions: str) -> dict[str, int]:
    """Key name -> action index of the action set ``actions`` (keys whose move the set lacks are absent)."""
    index = {tuple(int(v) for v in move): i for i, move in enumerate(ACTION_TABLES[actions])}
    return {key: index[move] for key, move in KEY_MOVES.items() if move in index}


@dataclass
class StepRecord:
    """One step of a played game."""

    episode: int  # 1-based episode number in the session
    key: str  # the key pressed ("" when a policy acted)
    action: int  # the action asked for (slip may have replaced it)
    player: tuple[int, int]  # (x, y) of the player after the step (in the episode's last state if it ended)
    reward: float
    terminated: bool
    truncated: bool
    outcome: str  # "-" while the episode goes on, else food | enemy | timeout


@dataclass
class PlayResult:
    """What a session did: its steps, finished episodes and (if recorded) the pictures shown."""

    steps: list[StepRecord] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)  # return of each finished episode
    outcomes: list[str] = field(default_factory=list)  # outcome of each finished episode
    frames: list[np.ndarray] = field(default_factory=list)  # RGB HWC pictures, one per change on screen


class PlaySession:
    """One game played turn by turn, driven by key names or by a policy; draws what a window shows.

    The first game is ``GridGame(cfg, 1).reset(seed)``; later games continue its random generator.
    """

    def __init__(
        self,
        cfg: EnvConfig,
        seed: int = 0,
        size: int = 400,
        record_frames: bool = False,
        policy: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.cfg = cfg
        self.size = size
        self.policy = policy
        self.keys = key_actions(cfg.actions)
        self.game = ViewedGame(cfg, 1)
        self.result = PlayResult()
        self.record_frames = record_frames
        self.episode = 0
        self.quit = False
        self._new_episode(seed)

    # ---------------------------------------------------------------------------------------- state
    def _new_episode(self, seed: int | None = None) -> None:
        self.obs = self.game.reset(seed)[0].copy()
        self.episode += 1
        self.over = False
        self.t, self.ret, self.outcome = 0, 0.0, "-"
        self._record()

    def _record(self) -> None:
        if self.record_frames:
            self.result.frames.append(self.picture())

    @property
    def player(self) -> tuple[int, int]:
        """(x, y) of the player in the state on screen."""
        pos = self.game.final_state["player"][0] if self.over else self.game.player[0]
        return int(pos[0]), int(pos[1])

    def act(self, action: int, key: str = "") -> StepRecord:
        """Step the game with ``action`` (the episode must be running)."""
        obs, reward, term, trunc, info = self.game.step(np.array([action], dtype=np.int64))
        self.obs = (info["final_obs"] if term[0] or trunc[0] else obs).copy()
        self.t, self.ret = int(info["episode_length"][0]), float(info["episode_return"][0])
        if term[0] or trunc[0]:
            self.over = True
            self.outcome = OUTCOME_NAMES[int(info["outcome"][0])]
            self.result.returns.append(self.ret)
            self.result.outcomes.append(self.outcome)
        rec = StepRecord(
            self.episode,
            key,
            int(action),
            self.player,
            float(reward[0]),
            bool(term[0]),
            bool(trunc[0]),
            self.outcome,
        )
        self.result.steps.append(rec)
        self._record()
        return rec

    def press(self, key: str) -> str:
        """Handle one key: returns ``quit``, ``restart``, ``step``, ``pause`` or ``ignored``."""
        key = key.lower() if len(key) == 1 else key
        if key in QUIT_KEYS:
            self.quit = True
            return "quit"
        if key == RESTART_KEY or (self.over and key in self.keys):
            self._new_episode()
            return "restart"
        if key == PAUSE_KEY and self.policy is not None:
            return "pause"
        if key in self.keys and self.policy is None:
            self.act(self.keys[key], key)
            return "step"
        return "ignored"

    def advance(self) -> str:
        """Policy mode: one policy step, or a new episode after a finished one. Returns step | restart."""
        assert self.policy is not None
        if self.over:
            self._new_episode()
            return "restart"
        action = int(np.asarray(self.policy(self.obs)).reshape(-1)[0])
        self.act(action)
        return "step"

    # -------------------------------------------------------------------------------------- picture
    def picture(self) -> np.ndarray:
        """The RGB HWC picture of the state on screen, with a text band."""
        frame = self.game.final_frames()[0] if self.over else self.game.frames()[0]
        img = upscale(frame, self.size, grid=True)
        head = f"episode {self.episode}   step {self.t}/{self.cfg.max_steps}   return {self.ret:+g}"
        if self.over:
            hint = f"outcome: {self.outcome}   r: new game   esc: quit"
        elif self.policy is not None:
            hint = "watching the policy   space: pause   r: restart   esc: quit"
        else:
            hint = "move: qwe/asd/zxc   r: restart   esc: quit"
        return annotate(img, [head, hint])


def run_headless_script(
    env_cfg: EnvConfig, keys: Iterable[str], seed: int = 0, size: int = 400, record_frames: bool = True
) -> PlayResult:
    """Play ``keys`` without a window (key names as :func:`play` reads them: ``w``, ``up``, ``r``, ``esc``).

    Keys the action set lacks and unknown keys are ignored; ``esc`` stops. Returns the steps, the
    finished episodes and, with ``record_frames``, every picture the window would have shown.
    """
    session = PlaySession(env_cfg, seed=seed, size=size, record_frames=record_frames)
    for key in keys:
        session.press(key)
        if session.quit:
            break
    return session.result


def play(
    env_cfg: EnvConfig,
    policy: Callable[[np.ndarray], np.ndarray] | None = None,
    seed: int = 0,
    size: int = 400,
    fps: float = 5.0,
    end_hold_s: float = 1.0,
) -> PlayResult:
    """Play with the keyboard (``policy=None``) or watch ``policy`` play, in an OpenCV window.

    ``policy`` maps ``cfg.obs_mode`` observations ``(1, C, H, W)`` uint8 to one action; it plays ``fps``
    steps per second and each finished episode stays on screen ``end_hold_s`` seconds. Returns when
    Esc is pressed or the window is closed. Raises :class:`NoDisplayError` (a ``ConfigError``, one line)
    where no window can open.
    """
    if not has_display():
        raise NoDisplayError(NO_DISPLAY_MESSAGE)
    session = PlaySession(env_cfg, seed=seed, size=size, policy=policy)
    window = Window("gridrl play")
    try:
        window.show(session.picture())
        paused = False
        next_t = time.monotonic()
        while not session.quit:
            if policy is None:
                key = window.key(50)
                if key is not None and session.press(key) in ("step", "restart"):
                    window.show(session.picture())
                continue
            wait_ms = 50 if paused else max(1, int(1000 * (next_t - time.monotonic())))
            key = window.key(wait_ms)
            if key is not None:
                outcome = session.press(key)
                if outcome == "pause":
                    paused = not paused
                if outcome == "restart":
                    window.show(session.picture())
                    next_t = time.monotonic() + 1 / fps
                continue
            if paused or time.monotonic() < next_t:
                continue
            session.advance()
            window.show(session.picture())
            next_t = time.monotonic() + (end_hold_s if session.over else 1 / fps)
        return session.result
    finally:
        window.close()
