"""The Blob grid game, N games at once as numpy arrays.

Rules (per step, for every game):

1. The player's action becomes a displacement (``slip``: replaced by a random action with that chance);
   the player moves and is clamped to the grid.  Moves are deterministic.
2. Food then enemies move if configured (random walk: each axis -1/0/+1; chase: one step toward the
   player with probability ``chase_prob``, else a random-walk step); everything is clamped.
3. Touching an enemy gives ``enemy_reward`` and terminates (checked before food); else stepping onto live
   food gives ``food_reward`` and, by ``on_food``, ends the episode, removes the item (the episode ends
   when no food is left) or respawns it on a free cell; else the step costs ``move_reward``.
4. After ``max_steps`` steps a game that did not terminate is truncated (a timeout, which bootstraps).
5. Finished games reset at once (auto-reset); their final observation stays in ``info["final_obs"]``.

Coordinates are ``(x, y)`` = (column, row); observations are uint8 ``(N, C, H, W)``:
``rgb`` paints food, enemies, then the player (on top) in the configured colours; ``planes`` has one
0/255 plane each for player, food and enemies; ``ego`` is ``(3, 2H-1, 2W-1)`` centred on the player with
planes food, enemies and inside-the-grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridrl.config import EnvConfig

# (dx, dy) per action, in each tutorial's order.
ACTION_TABLES: dict[str, np.ndarray] = {
    "seed8": np.array([(1, 1), (-1, -1), (-1, 1), (1, -1), (1, 0), (0, 1), (-1, 0), (0, -1)], dtype=np.int64),
    "sentdex9": np.array(
        [(1, 1), (-1, -1), (-1, 1), (1, -1), (1, 0), (-1, 0), (0, 1), (0, -1), (0, 0)], dtype=np.int64
    ),
}
OUTCOME_NONE, OUTCOME_FOOD, OUTCOME_ENEMY, OUTCOME_TIMEOUT = 0, 1, 2, 3
OUTCOME_NAMES = ("none", "food", "enemy", "timeout")


def obs_shape(cfg: EnvConfig) -> tuple[int, int, int]:
    if cfg.obs_mode == "ego":
        return 3, 2 * cfg.height - 1, 2 * cfg.width - 1
    return 3, cfg.height, cfg.width


def n_actions(cfg: EnvConfig) -> int:
    return len(ACTION_TABLES[cfg.actions])


class GridGame:
    """``n`` independent games stepped together.

    State arrays (public, read-only for callers): ``player`` (N, 2), ``food`` (N, F, 2), ``food_alive``
    (N, F), ``enemy`` (N, E, 2), ``t`` (N,) steps in the current episode, ``ep_return`` (N,).
    The returned observation is a preallocated buffer that the next ``step`` overwrites: copy what you keep.
    """

    def __init__(self, cfg: EnvConfig, n: int = 1, obs_mode: str | None = None) -> None:
        self.cfg = cfg
        self.n = n
        self.H, self.W = cfg.height, cfg.width
        self.obs_mode = obs_mode or cfg.obs_mode
        self.moves = ACTION_TABLES[cfg.actions]
        self.n_actions = len(self.moves)
        shape = obs_shape(cfg) if self.obs_mode == cfg.obs_mode else obs_shape(_with_mode(cfg, self.obs_mode))
        self.obs_shape = shape
        self._obs = np.zeros((n, *shape), dtype=np.uint8)
        self._final_obs = np.zeros((n, *shape), dtype=np.uint8)
        self._rows = np.arange(n)
        self.rng = np.random.default_rng(0)
        F, E = cfg.n_food, cfg.n_enemies
        self.player = np.zeros((n, 2), dtype=np.int64)
        self.food = np.zeros((n, F, 2), dtype=np.int64)
        self.food_alive = np.ones((n, F), dtype=bool)
        self.enemy = np.zeros((n, E, 2), dtype=np.int64)
        self.t = np.zeros(n, dtype=np.int64)
        self.ep_return = np.zeros(n, dtype=np.float64)
        self._colors = {
            "player": np.array(cfg.player_color, dtype=np.uint8),
            "food": np.array(cfg.food_color, dtype=np.uint8),
            "enemy": np.array(cfg.enemy_color, dtype=np.uint8),
        }
        if self.obs_mode == "ego":
            # inside-the-grid plane for every player cell: a (H*W, 2H-1, 2W-1) lookup table.
            H, W = self.H, self.W
            table = np.zeros((H * W, 2 * H - 1, 2 * W - 1), dtype=np.uint8)
            for y in range(H):
                for x in range(W):
                    table[y * W + x, H - 1 - y : 2 * H - 1 - y, W - 1 - x : 2 * W - 1 - x] = 255
            self._inside = table

    # ------------------------------------------------------------------------------------ public API
    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start all games afresh (re-seeding the game's generator when ``seed`` is given)."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._spawn(self._rows)
        self._render(self._obs, self._rows)
        return self._obs, {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Advance every game by one step; returns ``obs, reward, terminated, truncated, info``.

        ``info`` holds, valid where ``terminated | truncated``: ``final_obs`` (N, C, H, W) the last
        observation of the finished episode, ``episode_return``, ``episode_length`` and ``outcome``
        (1 food, 2 enemy, 3 timeout; 0 where the game goes on).
        """
        cfg = self.cfg
        actions = np.asarray(actions, dtype=np.int64)
        if cfg.slip > 0.0:
            slip = self.rng.random(self.n) < cfg.slip
            actions = np.where(slip, self.rng.integers(0, self.n_actions, self.n), actions)
        self.player += self.moves[actions]
        np.clip(self.player[:, 0], 0, self.W - 1, out=self.player[:, 0])
        np.clip(self.player[:, 1], 0, self.H - 1, out=self.player[:, 1])
        if cfg.food_motion == "random":
            self._random_walk(self.food)
        if cfg.enemy_motion == "random":
            self._random_walk(self.enemy)
        elif cfg.enemy_motion == "chase":
            self._chase(self.enemy)

        p = self.player[:, None, :]
        hit_enemy = (self.enemy == p).all(-1).any(-1) if cfg.n_enemies else np.zeros(self.n, dtype=bool)
        on_food = (self.food == p).all(-1) & self.food_alive
        hit_food = on_food.any(-1) & ~hit_enemy
        reward = np.where(hit_enemy, cfg.enemy_reward, np.where(hit_food, cfg.food_reward, cfg.move_reward))
        terminated = hit_enemy.copy()
        if cfg.on_food == "end":
            terminated |= hit_food
        else:
            eaten = on_food & hit_food[:, None]
            if cfg.on_food == "remove":
                self.food_alive &= ~eaten
                terminated |= ~self.food_alive.any(-1)
            elif eaten.any():
                self._respawn_food(eaten)
        self.t += 1
        self.ep_return += reward
        truncated = ~terminated & (self.t >= cfg.max_steps)
        done = terminated | truncated

        outcome = np.zeros(self.n, dtype=np.int64)
        info: dict[str, Any] = {"final_obs": self._final_obs, "outcome": outcome,
                                "episode_return": self.ep_return.copy(), "episode_length": self.t.copy()}
        if done.any():
            idx = np.flatnonzero(done)
            outcome[idx] = np.where(hit_enemy[idx], OUTCOME_ENEMY,
                                    np.where(terminated[idx], OUTCOME_FOOD, OUTCOME_TIMEOUT))
            self._render(self._final_obs, idx)
            self._spawn(idx)
        self._render(self._obs, self._rows)
        return self._obs, reward, terminated, truncated, info

    # ------------------------------------------------------------------------------- layouts (eval)
    def get_state(self) -> dict[str, np.ndarray]:
        """Every array of the games' state plus the generator's state (for checkpoints)."""
        return {
            "player": self.player.copy(), "food": self.food.copy(), "food_alive": self.food_alive.copy(),
            "enemy": self.enemy.copy(), "t": self.t.copy(), "ep_return": self.ep_return.copy(),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Restore arrays from :meth:`get_state` (or a layout: player/food/enemy, t = 0) and render."""
        self.player[:] = state["player"]
        self.food[:] = state["food"]
        self.enemy[:] = state["enemy"]
        self.food_alive[:] = state.get("food_alive", True)
        self.t[:] = state.get("t", 0)
        self.ep_return[:] = state.get("ep_return", 0.0)
        self._render(self._obs, self._rows)
        return self._obs

    def render_obs(self, mode: str) -> np.ndarray:
        """The current state observed in another mode (e.g. ``rgb`` for videos of an ``ego`` game)."""
        other = GridGame(_with_mode(self.cfg, mode), self.n)
        other.set_state(self.get_state())
        return other._obs.copy()

    # ------------------------------------------------------------------------------------- internals
    def _spawn(self, idx: np.ndarray) -> None:
        """New layouts for the games ``idx``: 1 + F + E distinct cells drawn uniformly."""
        k = len(idx)
        if k == 0:
            return
        F, E = self.cfg.n_food, self.cfg.n_enemies
        cells = self.rng.random((k, self.H * self.W)).argpartition(F + E, axis=1)[:, : 1 + F + E]
        xy = np.stack([cells % self.W, cells // self.W], axis=-1)
        self.player[idx] = xy[:, 0]
        self.food[idx] = xy[:, 1 : 1 + F]
        self.enemy[idx] = xy[:, 1 + F :]
        self.food_alive[idx] = True
        self.t[idx] = 0
        self.ep_return[idx] = 0.0

    def _respawn_food(self, eaten: np.ndarray) -> None:
        """Move each eaten food item to a random cell free of the player, enemies and other food."""
        games, items = np.nonzero(eaten)
        for g, i in zip(games.tolist(), items.tolist(), strict=True):  # rare event: a few per step
            occupied = np.zeros(self.H * self.W, dtype=bool)
            occupied[self.player[g, 1] * self.W + self.player[g, 0]] = True
            occupied[self.food[g, :, 1] * self.W + self.food[g, :, 0]] = True
            if self.cfg.n_enemies:
                occupied[self.enemy[g, :, 1] * self.W + self.enemy[g, :, 0]] = True
            free = np.flatnonzero(~occupied)
            cell = free[self.rng.integers(len(free))] if len(free) else self.player[g, 1] * self.W
            self.food[g, i] = (cell % self.W, cell // self.W)

    def _clamp(self, pos: np.ndarray) -> None:
        np.clip(pos[..., 0], 0, self.W - 1, out=pos[..., 0])
        np.clip(pos[..., 1], 0, self.H - 1, out=pos[..., 1])

    def _random_walk(self, pos: np.ndarray) -> None:
        if pos.shape[1]:
            pos += self.rng.integers(-1, 2, size=pos.shape)
            self._clamp(pos)

    def _chase(self, pos: np.ndarray) -> None:
        if not pos.shape[1]:
            return
        toward = np.sign(self.player[:, None, :] - pos)
        rand = self.rng.integers(-1, 2, size=pos.shape)
        chase = self.rng.random(pos.shape[:2]) < self.cfg.chase_prob
        pos += np.where(chase[..., None], toward, rand)
        self._clamp(pos)

    def _render(self, out: np.ndarray, idx: np.ndarray) -> None:
        """Draw the games ``idx`` into ``out[idx]`` by array indexing (no per-pixel loop)."""
        sub = out if len(idx) == self.n else None
        buf = out if sub is not None else np.zeros((len(idx), *out.shape[1:]), dtype=np.uint8)
        if sub is not None:
            buf.fill(0)
            player, food, alive, enemy = self.player, self.food, self.food_alive, self.enemy
        else:
            player, food, alive, enemy = self.player[idx], self.food[idx], self.food_alive[idx], self.enemy[idx]
        k = len(idx)
        if self.obs_mode == "ego":
            H, W = self.H, self.W
            buf[:, 2] = self._inside[player[:, 1] * W + player[:, 0]]
            off_y, off_x = H - 1 - player[:, 1:2], W - 1 - player[:, 0:1]
            g, j = np.nonzero(alive)
            buf[g, 0, food[g, j, 1] + off_y[g, 0], food[g, j, 0] + off_x[g, 0]] = 255
            if enemy.shape[1]:
                g = np.repeat(np.arange(k), enemy.shape[1])
                buf[g, 1, (enemy[..., 1] + off_y).ravel(), (enemy[..., 0] + off_x).ravel()] = 255
        elif self.obs_mode == "planes":
            rows = np.arange(k)
            buf[rows, 0, player[:, 1], player[:, 0]] = 255
            g, j = np.nonzero(alive)
            buf[g, 1, food[g, j, 1], food[g, j, 0]] = 255
            if enemy.shape[1]:
                g = np.repeat(rows, enemy.shape[1])
                buf[g, 2, enemy[..., 1].ravel(), enemy[..., 0].ravel()] = 255
        else:  # rgb: food, enemies, then the player on top
            g, j = np.nonzero(alive)
            self._paint(buf, g, food[g, j], self._colors["food"])
            if enemy.shape[1]:
                g = np.repeat(np.arange(k), enemy.shape[1])
                self._paint(buf, g, enemy.reshape(-1, 2), self._colors["enemy"])
            self._paint(buf, np.arange(k), player, self._colors["player"])
        if sub is None:
            out[idx] = buf

    @staticmethod
    def _paint(buf: np.ndarray, g: np.ndarray, xy: np.ndarray, color: np.ndarray) -> None:
        for c in range(3):
            buf[g, c, xy[:, 1], xy[:, 0]] = color[c]


def _with_mode(cfg: EnvConfig, mode: str) -> EnvConfig:
    from dataclasses import replace

    return replace(cfg, obs_mode=mode)
