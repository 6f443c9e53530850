"""Reference scores for grid-game layouts: BFS shortest paths, the optimal return and a scripted policy.

* :func:`bfs_distances` - fewest player moves to the nearest live food that never step onto an enemy.
* :func:`oracle_returns` - the optimal return of static games (from the BFS distance), else the mean return
  of the scripted heuristic played on exactly those layouts.
* :func:`greedy_actions` - the scripted heuristic: step toward the nearest food, never onto an enemy (and,
  when enemies move, preferably not next to one).

Everything is vectorised over the ``N`` layouts (numpy boolean masks of shape ``(N, H, W)``); the only
Python loops run over BFS depth and over the (at most 9) actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridrl.config import EnvConfig
from gridrl.game.grid import ACTION_TABLES, GridGame

UNREACHABLE = -1  # bfs_distances' value for a game whose food cannot be reached without touching an enemy

ENEMY_COST = 1e6  # greedy_actions: cost of a cell holding an enemy
ADJACENT_COST = 3.0  # greedy_actions: cost of a cell next to an enemy (with avoid_adjacent)


def _shift_clamped(mask: np.ndarray, d: int, axis: int) -> np.ndarray:
    """Push every True cell of ``mask`` by ``d`` in {-1, 0, 1} along ``axis``, clamping at the border."""
    if d == 0:
        return mask
    out = np.zeros_like(mask)
    n = mask.shape[axis]
    src = [slice(None)] * mask.ndim
    dst = [slice(None)] * mask.ndim
    if d > 0:
        src[axis], dst[axis] = slice(0, n - 1), slice(1, n)
        edge = n - 1
    else:
        src[axis], dst[axis] = slice(1, n), slice(0, n - 1)
        edge = 0
    out[tuple(dst)] = mask[tuple(src)]
    idx = [slice(None)] * mask.ndim
    idx[axis] = edge
    out[tuple(idx)] |= mask[tuple(idx)]  # a move off the grid is clamped: the cell stays put
    return out


def _grid_masks(cfg: EnvConfig, state: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(player, live food, enemy) boolean masks of shape (N, H, W) from a ``GridGame.get_state()`` dict."""
    H, W = cfg.height, cfg.width
    player = np.asarray(state["player"], dtype=np.int64).reshape(-1, 2)
    n = len(player)
    food = np.asarray(state["food"], dtype=np.int64).reshape(n, -1, 2)
    alive = np.asarray(state.get("food_alive", np.ones(food.shape[:2], dtype=bool)), dtype=bool)
    alive = np.broadcast_to(alive, food.shape[:2])
    enemy = np.asarray(state.get("enemy", np.zeros((n, 0, 2))), dtype=np.int64).reshape(n, -1, 2)
    rows = np.arange(n)
    pmask = np.zeros((n, H, W), dtype=bool)
    pmask[rows, player[:, 1], player[:, 0]] = True
    fmask = np.zeros((n, H, W), dtype=bool)
    g, j = np.nonzero(alive)
    fmask[g, food[g, j, 1], food[g, j, 0]] = True
    emask = np.zeros((n, H, W), dtype=bool)
    if enemy.shape[1]:
        g = np.repeat(rows, enemy.shape[1])
        emask[g, enemy[..., 1].ravel(), enemy[..., 0].ravel()] = True
    return pmask, fmask, emask


def bfs_distances(cfg: EnvConfig, state: dict[str, Any], max_depth: int | None = None) -> np.ndarray:
    """Fewest player moves from the player to the nearest live food, never stepping onto an enemy cell.

    Moves are ``cfg.actions``' displacements clamped to the grid (king moves; a move into a wall leaves
    the player where it is, and sentdex9's ``stay`` does too).  Food that shares its cell with an enemy
    cannot be eaten (the enemy is checked first).  Returns (N,) int64: the distance (>= 1), or
    :data:`UNREACHABLE` (-1) when no live food can be reached (or not within ``max_depth`` moves when given).

    The search runs on the sets ``R_k`` of cells the player can occupy after exactly ``k`` moves, so a
    player that already stands on food (possible only through ``set_state``) gets the number of moves
    needed to step onto food again (1 with a stay / wall bump, else 2), as the game would score it.
    """
    pmask, fmask, emask = _grid_masks(cfg, state)
    n = len(pmask)
    free = ~emask
    target = fmask & free
    moves = ACTION_TABLES[cfg.actions]
    dist = np.full(n, UNREACHABLE, dtype=np.int64)
    todo = target.reshape(n, -1).any(1)  # games with some edible food
    limit = 2 * cfg.height * cfg.width + 2 if max_depth is None else max_depth
    reach = pmask
    prev2: np.ndarray | None = None  # R_{k-2}: R_k == R_{k-2} means the sets cycle from here on
    k = 0
    while todo.any() and k < limit:
        k += 1
        sub = reach[todo] if not todo.all() else reach
        nxt = np.zeros_like(sub)
        xs = {dx: _shift_clamped(sub, int(dx), 2) for dx in np.unique(moves[:, 0])}
        for dx, dy in moves:
            nxt |= _shift_clamped(xs[int(dx)], int(dy), 1)
        idx = np.flatnonzero(todo)
        nxt &= free[idx]
        hit = np.zeros(n, dtype=bool)
        hit[idx] = (nxt & target[idx]).reshape(len(idx), -1).any(1)
        dist[hit] = k
        # keep R_k for every game (games already done keep a stale set, never read again)
        new_reach = reach.copy()
        new_reach[idx] = nxt
        cycled = np.zeros(n, dtype=bool)
        if prev2 is not None:
            cycled[idx] = (new_reach[idx] == prev2[idx]).reshape(len(idx), -1).all(1)
        prev2, reach = reach, new_reach
        todo &= ~(hit | cycled)
    return dist


def oracle_returns(cfg: EnvConfig, state: dict[str, Any], seed: int = 0) -> np.ndarray:
    """(N,) float64 reference return of each layout in ``state`` (a ``GridGame.get_state()`` dict).

    Static games (``cfg.is_static`` and ``on_food == "end"``): the optimal return from the BFS distance
    ``d``: ``(d - 1) * move_reward + food_reward`` when ``1 <= d <= max_steps``, else the timeout return
    ``max_steps * move_reward`` (food unreachable or too far).  This is the optimum as long as eating is
    worth more than timing out or touching an enemy (true of every preset: -1 / +25 / -300, 200 steps).

    Other games (moving food or enemies, slip, several food with ``remove`` / ``respawn``): the return of
    the scripted heuristic (:func:`greedy_actions`) played once on exactly those layouts, one episode per
    game (the auto-reset's later episodes are ignored); ``seed`` seeds the game's randomness.
    """
    if cfg.is_static and cfg.on_food == "end":
        d = bfs_distances(cfg, state, max_depth=cfg.max_steps)
        ok = d >= 1
        return np.where(ok, (d - 1) * cfg.move_reward + cfg.food_reward, cfg.max_steps * cfg.move_reward)
    return heuristic_returns(cfg, state, seed=seed)


def heuristic_returns(
    cfg: EnvConfig, state: dict[str, Any], seed: int = 0, avoid_adjacent: bool | None = None
) -> np.ndarray:
    """(N,) float64 first-episode return of :func:`greedy_actions` on each layout of ``state``."""
    n = len(np.asarray(state["player"]).reshape(-1, 2))
    game = GridGame(cfg, n, obs_mode="planes")  # the cheapest render; the rules do not depend on it
    game.rng = np.random.default_rng(seed)
    layout: dict[str, np.ndarray] = {
        k: state[k] for k in ("player", "food", "food_alive", "enemy") if k in state
    }
    game.set_state(layout)  # t = 0, return 0: a fresh episode on this layout
    returns = np.zeros(n, dtype=np.float64)
    pending = np.ones(n, dtype=bool)
    for _ in range(cfg.max_steps):
        _, _, terminated, truncated, info = game.step(greedy_actions(game, avoid_adjacent))
        done = (terminated | truncated) & pending
        returns[done] = info["episode_return"][done]
        pending &= ~done
        if not pending.any():
            break
    return returns


def greedy_actions(game: GridGame, avoid_adjacent: bool | None = None) -> np.ndarray:
    """The scripted policy for every game of ``game``: (N,) int64 actions.

    For each action, the player's resulting (clamped) cell costs its Chebyshev distance to the nearest
    live food (0 when none is left), plus :data:`ENEMY_COST` if the cell holds an enemy, plus
    :data:`ADJACENT_COST` if ``avoid_adjacent`` (default: True when enemies move) and the cell is next to
    an enemy.  The cheapest action wins; ties go to the lowest action index.
    """
    cfg = game.cfg
    if avoid_adjacent is None:
        avoid_adjacent = cfg.enemy_motion != "static"
    cells = game.player[:, None, :] + game.moves[None, :, :]  # (N, A, 2)
    np.clip(cells[..., 0], 0, game.W - 1, out=cells[..., 0])
    np.clip(cells[..., 1], 0, game.H - 1, out=cells[..., 1])
    # Chebyshev distance to each food: (N, A, F); dead food is infinitely far.
    dfood = np.abs(cells[:, :, None, :] - game.food[:, None, :, :]).max(-1).astype(np.float64)
    dfood[np.broadcast_to(~game.food_alive[:, None, :], dfood.shape)] = np.inf
    cost = dfood.min(-1)
    cost[~np.isfinite(cost)] = 0.0
    if game.enemy.shape[1]:
        denemy = np.abs(cells[:, :, None, :] - game.enemy[:, None, :, :]).max(-1).min(-1)  # (N, A)
        cost += np.where(denemy == 0, ENEMY_COST, 0.0)
        if avoid_adjacent:
            cost += np.where(denemy == 1, ADJACENT_COST, 0.0)
    return cost.argmin(1)
