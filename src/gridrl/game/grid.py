"""The Blob grid game, N games at once as numpy arrays (rules and the vectorised drawing of the three
views live together: the incremental redraw must follow every rule that moves an entity).

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
planes food, enemies and inside-the-grid; ``fovea`` is ``(6, k, k)`` (``k = cfg.fovea``): the ``k x k``
centre of the ego view, then the whole ego view zero-padded around its centre to ``k * p`` (``p`` the
smallest odd factor that covers it) and max-pooled by ``p``. Its size does not depend on the grid's.
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


def obs_shape(cfg: EnvConfig, mode: str | None = None) -> tuple[int, int, int]:
    """The observation shape (C, H, W) of the game in ``mode`` (default: the game's ``obs_mode``)."""
    mode = mode or cfg.obs_mode
    if mode == "ego":
        return 3, 2 * cfg.height - 1, 2 * cfg.width - 1
    if mode == "fovea":
        return 6, cfg.fovea, cfg.fovea
    return 3, cfg.height, cfg.width


def fovea_pooling(cfg: EnvConfig) -> int:
    """The fovea view's pooling factor ``p``: the smallest odd ``p`` with ``fovea * p`` >= the ego view's side."""
    p = -(-(2 * max(cfg.height, cfg.width) - 1) // cfg.fovea)
    return p + 1 - p % 2


def _fovea_inside(cfg: EnvConfig) -> np.ndarray:
    """(H*W, 2, k, k): the fovea view's inside-the-grid planes (window, pooled) for every player cell."""
    H, W, k = cfg.height, cfg.width, cfg.fovea
    r, p = k // 2, fovea_pooling(cfg)
    c = (k * p) // 2
    table = np.zeros((H * W, 2, k, k), dtype=np.uint8)
    gy, gx = np.divmod(np.arange(H * W), W)  # every grid cell
    for y in range(H):
        for x in range(W):
            window = table[y * W + x, 0]
            window[max(0, r - y) : min(k, r + H - y), max(0, r - x) : min(k, r + W - x)] = 255
            table[y * W + x, 1, (c + gy - y) // p, (c + gx - x) // p] = 255
    return table


def n_actions(cfg: EnvConfig) -> int:
    return len(ACTION_TABLES[cfg.actions])


class GridGame:
    """``n`` independent games stepped together.

    State arrays (public, read-only for callers): ``player`` (N, 2), ``food`` (N, F, 2), ``food_alive``
    (N, F), ``enemy`` (N, E, 2), ``t`` (N,) steps in the current episode, ``ep_return`` (N,).
    ``player``, ``food``, ``enemy`` and ``food_alive`` are views of planar arrays (entity-major, game
    last, for speed): index them as usual; to change a state use :meth:`set_state` (which redraws).
    The returned observation is a preallocated buffer that the next ``step`` overwrites: copy what you
    keep, and never write into it (``step`` erases and redraws only the pixels it drew last time).
    """

    def __init__(self, cfg: EnvConfig, n: int = 1, obs_mode: str | None = None) -> None:
        self.cfg = cfg
        self.n = n
        self.H, self.W = cfg.height, cfg.width
        self.obs_mode = obs_mode or cfg.obs_mode
        self.moves = ACTION_TABLES[cfg.actions]
        self.n_actions = len(self.moves)
        self.obs_shape = shape = obs_shape(cfg, self.obs_mode)
        pixels = shape[0] * shape[1] * shape[2]
        # One spare byte after the observations: undrawn (eaten) food is "drawn" there.
        self._obs_flat = np.zeros(n * pixels + 1, dtype=np.uint8)
        self._obs = self._obs_flat[: n * pixels].reshape(n, *shape)
        self._bin = n * pixels
        self._final_obs = np.zeros((n, *shape), dtype=np.uint8)
        self._rows = np.arange(n)
        self.rng = np.random.default_rng(0)
        F, E = cfg.n_food, cfg.n_enemies
        self._F, self._E = F, E
        K = 1 + F + E
        # _pos[axis, entity, game] with axis 0 = x, 1 = y; entity 0 = player, then food, then enemies.
        self._pos = np.zeros((2, K, n), dtype=np.int64)
        self.player = self._pos[:, 0, :].T
        self.food = self._pos[:, 1 : 1 + F, :].transpose(2, 1, 0)
        self.enemy = self._pos[:, 1 + F :, :].transpose(2, 1, 0)
        self._alive = np.ones((F, n), dtype=bool)
        self.food_alive = self._alive.T
        self.t = np.zeros(n, dtype=np.int64)
        self.ep_return = np.zeros(n, dtype=np.float64)
        self._mx = np.ascontiguousarray(self.moves[:, 0])
        self._my = np.ascontiguousarray(self.moves[:, 1])
        self._hi = np.array([[self.W - 1], [self.H - 1]], dtype=np.int64)
        self._cells = np.zeros((K, n), dtype=np.int64)  # y * W + x of every entity, after the moves
        self._colors = {
            "player": np.array(cfg.player_color, dtype=np.uint8),
            "food": np.array(cfg.food_color, dtype=np.uint8),
            "enemy": np.array(cfg.enemy_color, dtype=np.uint8),
        }
        # Flat indices into _obs_flat of the pixels the last draw set (erased by the next draw).
        plane = shape[1] * shape[2]
        game_off = (self._rows * pixels)[None, :]
        if self.obs_mode == "ego":
            # inside-the-grid plane for every player cell: a (H*W, 2H-1, 2W-1) lookup table.
            H, W = self.H, self.W
            table = np.zeros((H * W, 2 * H - 1, 2 * W - 1), dtype=np.uint8)
            for y in range(H):
                for x in range(W):
                    table[y * W + x, H - 1 - y : 2 * H - 1 - y, W - 1 - x : 2 * W - 1 - x] = 255
            self._inside = table
            self._inside_buf = np.zeros((n, *shape[1:]), dtype=np.uint8)
            centre = (H - 1) * shape[2] + (W - 1)
            planes = np.array([0] * F + [1] * E, dtype=np.int64)[:, None]
            self._off = game_off + planes * plane + centre  # (F + E, N)
            self._ecell = np.zeros((K, n), dtype=np.int64)
            self._drawn = np.full((F + E, n), self._bin, dtype=np.int64)
        elif self.obs_mode == "fovea":
            k = cfg.fovea
            p = fovea_pooling(cfg)
            self._fovea = (k // 2, k, p, (k * p) // 2)  # r, k, p, centre
            self._inside = _fovea_inside(cfg)
            self._inside_buf = np.zeros((n, 2, k, k), dtype=np.uint8)
            planes = np.array([0] * F + [1] * E, dtype=np.int64)[:, None]
            self._off = game_off + planes * plane  # (F + E, N); the pooled planes are 3 planes further
            self._drawn = np.full((2 * (F + E), n), self._bin, dtype=np.int64)
        elif self.obs_mode == "planes":
            planes = np.array([0] + [1] * F + [2] * E, dtype=np.int64)[:, None]
            self._off = game_off + planes * plane  # (K, N)
            self._drawn = np.full((K, n), self._bin, dtype=np.int64)
        else:  # rgb
            self._off = game_off[:, None, :] + (np.arange(3) * plane)[None, :, None]  # (1, 3, N)
            self._drawn = np.full((K, 3, n), self._bin, dtype=np.int64)
            # the colour of every painted pixel, laid out like _drawn (scatter without broadcasting)
            self._paint = np.empty((K, 3, n), dtype=np.uint8)
            self._paint[0] = self._colors["player"][:, None]
            self._paint[1 : 1 + F] = self._colors["food"][:, None]
            self._paint[1 + F :] = self._colors["enemy"][:, None]
        self._spare = np.empty_like(self._drawn)

    # ------------------------------------------------------------------------------------ public API
    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start all games afresh (re-seeding the game's generator when ``seed`` is given)."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._spawn(self._rows)
        self._redraw()
        return self._obs, {}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Advance every game by one step; returns ``obs, reward, terminated, truncated, info``.

        ``info`` holds, valid where ``terminated | truncated``: ``final_obs`` (N, C, H, W) the last
        observation of the finished episode, ``episode_return``, ``episode_length`` and ``outcome``
        (1 food, 2 enemy, 3 timeout; 0 where the game goes on).
        """
        cfg = self.cfg
        F, E = self._F, self._E
        actions = np.asarray(actions, dtype=np.int64)
        if cfg.slip > 0.0:
            slip = self.rng.random(self.n) < cfg.slip
            actions = np.where(slip, self.rng.integers(0, self.n_actions, self.n), actions)
        pos = self._pos
        pos[0, 0] += self._mx.take(actions)
        pos[1, 0] += self._my.take(actions)
        player = pos[:, 0]
        np.minimum(player, self._hi, out=player)
        np.maximum(player, 0, out=player)
        if cfg.food_motion == "random":
            self._random_walk(self.food)
        if cfg.enemy_motion == "random":
            self._random_walk(self.enemy)
        elif cfg.enemy_motion == "chase":
            self._chase(self.enemy)

        cells = self._cells
        np.multiply(pos[1], self.W, out=cells)
        cells += pos[0]
        pc = cells[0]
        if E == 1:
            hit_enemy = cells[1 + F] == pc
        elif E:
            hit_enemy = (cells[1 + F :] == pc).any(0)
        else:
            hit_enemy = np.zeros(self.n, dtype=bool)
        on_food = cells[1 : 1 + F] == pc
        on_food &= self._alive
        hit_food = (on_food[0] if F == 1 else on_food.any(0)) & ~hit_enemy
        reward = np.where(hit_enemy, cfg.enemy_reward, np.where(hit_food, cfg.food_reward, cfg.move_reward))
        cells_ok = True
        if cfg.on_food == "end":
            terminated = hit_enemy | hit_food
        else:
            terminated = hit_enemy.copy()
            eaten = on_food & hit_food
            if cfg.on_food == "remove":
                self._alive &= ~eaten
                terminated |= ~self._alive.any(0)
            elif eaten.any():
                self._respawn_food(eaten.T)
                cells_ok = False
        self.t += 1
        self.ep_return += reward
        truncated = self.t >= cfg.max_steps
        truncated &= ~terminated
        done = terminated | truncated

        outcome = np.zeros(self.n, dtype=np.int64)
        info: dict[str, Any] = {
            "final_obs": self._final_obs,
            "outcome": outcome,
            "episode_return": self.ep_return.copy(),
            "episode_length": self.t.copy(),
        }
        self._draw(None, cells if cells_ok else None)
        if done.any():
            idx = np.flatnonzero(done)
            outcome[idx] = np.where(
                hit_enemy[idx], OUTCOME_ENEMY, np.where(terminated[idx], OUTCOME_FOOD, OUTCOME_TIMEOUT)
            )
            self._final_obs[idx] = self._obs[idx]
            self._spawn(idx)
            self._draw(idx)
        return self._obs, reward, terminated, truncated, info

    # ------------------------------------------------------------------------------- layouts (eval)
    def get_state(self) -> dict[str, np.ndarray]:
        """Every array of the games' state plus the generator's state (for checkpoints)."""
        return {
            "player": self.player.copy(),
            "food": self.food.copy(),
            "food_alive": self.food_alive.copy(),
            "enemy": self.enemy.copy(),
            "t": self.t.copy(),
            "ep_return": self.ep_return.copy(),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """Restore arrays from :meth:`get_state` (or a layout: player/food/enemy, t = 0) and render."""
        self.player[:] = state["player"]
        self.food[:] = state["food"]
        self.enemy[:] = state["enemy"]
        self.food_alive[:] = state.get("food_alive", True)
        self.t[:] = state.get("t", 0)
        self.ep_return[:] = state.get("ep_return", 0.0)
        self._redraw()
        return self._obs

    def render_obs(self, mode: str) -> np.ndarray:
        """The current state observed in another mode (e.g. ``rgb`` for videos of an ``ego`` game)."""
        other = GridGame(self.cfg, self.n, obs_mode=mode)
        other.set_state(self.get_state())
        return other._obs.copy()

    # ------------------------------------------------------------------------------------- internals
    def _spawn(self, idx: np.ndarray) -> None:
        """New layouts for the games ``idx``: 1 + F + E distinct cells drawn uniformly."""
        k = len(idx)
        if k == 0:
            return
        F, E = self.cfg.n_food, self.cfg.n_enemies
        cells = self.rng.random((k, self.H * self.W)).argpartition(F + E, axis=1)[:, : 1 + F + E].T
        self._pos[0][:, idx] = cells % self.W
        self._pos[1][:, idx] = cells // self.W
        self._alive[:, idx] = True
        self.t[idx] = 0
        self.ep_return[idx] = 0.0

    def _respawn_food(self, eaten: np.ndarray) -> None:
        """Move each eaten food item to a random cell free of the player, enemies and other food.

        ``eaten`` is (N, F).  Items are drawn in (game, item) order, one ``rng.integers`` draw each (none
        where the grid has no free cell: the item then goes to column 0 of the player's row).
        """
        games, items = np.nonzero(eaten)
        if len(games) > 1 and (games[1:] == games[:-1]).any():
            # two items of one game (walking food can share a cell): each must see the other's new cell
            for g, i in zip(games.tolist(), items.tolist(), strict=True):
                self._respawn_food_at(np.array([g]), np.array([i]))
        else:
            self._respawn_food_at(games, items)

    def _respawn_food_at(self, games: np.ndarray, items: np.ndarray) -> None:
        """Respawn item ``items[j]`` of game ``games[j]`` (distinct games), vectorised."""
        H, W = self.H, self.W
        k = len(games)
        cells = self._pos[1][:, games] * W + self._pos[0][:, games]  # (K, k), the player included
        occupied = np.zeros((k, H * W), dtype=bool)
        occupied[np.arange(k)[:, None], cells.T] = True
        n_free = H * W - occupied.sum(1)
        new = self._pos[1, 0, games] * W  # no free cell: column 0 of the player's row
        has = n_free > 0
        if has.any():
            rank = self.rng.integers(0, n_free[has])  # the same stream as one scalar draw per item
            free_seen = np.cumsum(~occupied[has], axis=1)
            new[has] = (free_seen <= rank[:, None]).sum(1)  # the rank-th free cell, in cell order
        self._pos[0][items + 1, games] = new % W
        self._pos[1][items + 1, games] = new // W

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

    # ---------------------------------------------------------------------------------------- drawing
    def _fovea_cells(self, pos: np.ndarray, off: np.ndarray) -> np.ndarray:
        """Flat indices (2 (F + E), N) of food and enemies in the fovea view: first in the window (the
        spare byte where farther than ``r`` cells), then in the pooled planes."""
        r, k, p, c = self._fovea
        dx = pos[0, 1:] - pos[0, :1]
        dy = pos[1, 1:] - pos[1, :1]
        new = np.empty((2, *dx.shape), dtype=np.int64)
        fine, coarse = new[0], new[1]
        np.multiply(dy + r, k, out=fine)
        fine += dx
        fine += r + off
        fine[(np.abs(dx) > r) | (np.abs(dy) > r)] = self._bin
        np.multiply((dy + c) // p, k, out=coarse)
        coarse += (dx + c) // p
        coarse += off + 3 * k * k
        return new.reshape(-1, dx.shape[-1])

    def _pixels(
        self, pos: np.ndarray, rows: np.ndarray | None, cells: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Flat indices of the entities' pixels now (laid out like ``_drawn``) and the view of them that
        is food (set to the spare byte where eaten)."""
        off = self._off if rows is None else self._off[..., rows]
        new = self._spare if rows is None else np.empty(self._drawn.shape[:-1] + (len(rows),), np.int64)
        F = self._F
        if self.obs_mode == "fovea":
            new = self._fovea_cells(pos, off)
            return new, new.reshape(2, -1, new.shape[-1])[:, :F]  # the window's and the pooled planes' food
        if self.obs_mode == "ego":
            ecell = self._ecell if rows is None else np.empty(pos.shape[1:], np.int64)
            np.multiply(pos[1], self.obs_shape[2], out=ecell)
            ecell += pos[0]
            np.subtract(ecell[1:], ecell[0], out=new)
            new += off
            return new, new[:F]
        if cells is None:
            cells = np.multiply(pos[1], self.W)
            cells += pos[0]
        if self.obs_mode == "planes":
            np.add(cells, off, out=new)
        else:
            np.add(cells[:, None, :], off, out=new)
        return new, new[1 : 1 + F]

    def _draw_inside(self, pos: np.ndarray, rows: np.ndarray | None) -> None:
        """The inside-the-grid plane(s) of the ego and fovea views: a lookup by the player's cell."""
        pc = pos[1, 0] * self.W
        pc += pos[0, 0]
        planes = 2 if self.obs_mode == "ego" else slice(2, None, 3)
        if rows is None:
            np.take(self._inside, pc, axis=0, out=self._inside_buf, mode="clip")
            self._obs[:, planes] = self._inside_buf
        else:
            self._obs[rows, planes] = self._inside[pc]

    def _redraw(self) -> None:
        """Draw every game from scratch (after reset / set_state)."""
        self._obs_flat.fill(0)
        self._drawn.fill(self._bin)
        self._draw(None)

    def _draw(self, rows: np.ndarray | None, cells: np.ndarray | None = None) -> None:
        """Bring ``_obs`` up to date for all games (``rows`` None) or the games ``rows``.

        Only the pixels the previous draw set are erased (flat indices kept in ``_drawn``), then the
        current ones are set; ``cells`` (K, N) may pass the entities' ``y * W + x`` when already known.
        """
        flat = self._obs_flat
        pos = self._pos if rows is None else self._pos[:, :, rows]
        F = self._F
        new, food_new = self._pixels(pos, rows, cells)
        if self.obs_mode in ("ego", "fovea"):
            self._draw_inside(pos, rows)
        alive = self._alive if rows is None else self._alive[:, rows]
        if not alive.all():
            dead = ~alive
            if food_new.ndim == 3:  # fovea (2, F, N): both views; rgb (F, 3, N): every channel
                dead = np.broadcast_to(dead if self.obs_mode == "fovea" else dead[:, None, :], food_new.shape)
            food_new[dead] = self._bin
        if rows is None:
            flat[self._drawn] = 0
            self._drawn, self._spare = new, self._drawn
        else:
            flat[self._drawn[..., rows]] = 0
            self._drawn[..., rows] = new
        if self.obs_mode == "rgb":  # food, enemies, then the player on top
            paint = self._paint if rows is None else self._paint[..., : len(rows)]
            flat[new[1 : 1 + F]] = paint[1 : 1 + F]
            if self._E:
                flat[new[1 + F :]] = paint[1 + F :]
            flat[new[0]] = paint[0]
        else:
            flat[new] = 255
