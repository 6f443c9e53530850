"""BFS distances, oracle returns and the scripted greedy policy (gridrl.game.oracle)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from gridrl.config import EnvConfig
from gridrl.game.grid import ACTION_TABLES, GridGame
from gridrl.game.oracle import (
    UNREACHABLE,
    bfs_distances,
    greedy_actions,
    heuristic_returns,
    oracle_returns,
)


def state_of(player, food, enemy=(), alive=None) -> dict[str, np.ndarray]:
    food = np.array(food, dtype=np.int64).reshape(1, -1, 2)
    return {
        "player": np.array([player], dtype=np.int64),
        "food": food,
        "food_alive": np.ones(food.shape[:2], dtype=bool) if alive is None else np.array([alive]),
        "enemy": np.array(enemy, dtype=np.int64).reshape(1, -1, 2),
    }


def stack(states: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([s[k] for s in states]) for k in states[0]}


def ref_bfs(cfg: EnvConfig, player, food, alive, enemy) -> int:
    """Plain breadth-first search over cells (the player is never on food in these layouts)."""
    enemies = {tuple(e) for e in enemy}
    goals = {tuple(f) for f, a in zip(food, alive, strict=True) if a} - enemies
    start = tuple(player)
    seen, queue = {start}, deque([(start, 0)])
    while queue:
        (x, y), d = queue.popleft()
        for dx, dy in ACTION_TABLES[cfg.actions]:
            nxt = (min(max(x + dx, 0), cfg.width - 1), min(max(y + dy, 0), cfg.height - 1))
            if nxt in enemies or nxt in seen:
                continue
            if nxt in goals:
                return d + 1
            seen.add(nxt)
            queue.append((nxt, d + 1))
    return UNREACHABLE


# ------------------------------------------------------------------------------------ BFS distances
def test_open_layout_distance_is_chebyshev():
    cfg = EnvConfig()
    d = bfs_distances(cfg, state_of((0, 0), [(7, 3)], [(9, 9)]))
    assert d.tolist() == [7]
    assert oracle_returns(cfg, state_of((0, 0), [(7, 3)], [(9, 9)])).tolist() == [6 * -1.0 + 25.0]


def test_a_wall_of_enemies_forces_a_detour():
    wall = [(3, y) for y in range(6)]  # column x=3, rows 0..5: pass below it at y >= 6
    cfg = EnvConfig(n_enemies=len(wall))
    st = state_of((0, 0), [(6, 0)], wall)
    assert bfs_distances(cfg, st).tolist() == [12]  # 6 down-right to (3, 6), 6 up-right to (6, 0)
    assert oracle_returns(cfg, st).tolist() == [11 * -1.0 + 25.0]
    open_cfg = EnvConfig(n_enemies=1)
    assert bfs_distances(open_cfg, state_of((0, 0), [(6, 0)], [(9, 9)])).tolist() == [6]


def test_a_diagonal_gap_is_passable():
    # king moves squeeze between two diagonal enemies
    cfg = EnvConfig(height=3, width=3, n_enemies=2, actions="seed8")
    st = state_of((0, 0), [(2, 2)], [(1, 0), (0, 1)])
    assert bfs_distances(cfg, st).tolist() == [2]


def test_unreachable_food_gives_the_timeout_return():
    cfg = EnvConfig(n_enemies=3)
    st = state_of((5, 5), [(0, 0)], [(1, 0), (0, 1), (1, 1)])
    assert bfs_distances(cfg, st).tolist() == [UNREACHABLE]
    assert oracle_returns(cfg, st).tolist() == [200 * -1.0]
    # food under an enemy cannot be eaten either (the enemy is checked first)
    cfg1 = EnvConfig(n_enemies=1)
    st1 = state_of((5, 5), [(2, 2)], [(2, 2)])
    assert bfs_distances(cfg1, st1).tolist() == [UNREACHABLE]


def test_food_beyond_max_steps_is_a_timeout():
    cfg = EnvConfig(max_steps=5, n_enemies=0)
    st = stack([state_of((0, 0), [(9, 9)]), state_of((0, 0), [(5, 2)]), state_of((0, 0), [(4, 4)])])
    assert bfs_distances(cfg, st).tolist() == [9, 5, 4]
    assert oracle_returns(cfg, st).tolist() == [-5.0, 4 * -1.0 + 25.0, 3 * -1.0 + 25.0]


def test_nearest_of_several_food_and_dead_food_is_ignored():
    cfg = EnvConfig(n_food=3, n_enemies=0)
    st = stack(
        [
            state_of((0, 0), [(9, 9), (2, 5), (6, 1)]),
            state_of((0, 0), [(9, 9), (2, 5), (6, 1)], alive=[True, False, True]),
            state_of((0, 0), [(9, 9), (2, 5), (6, 1)], alive=[True, False, False]),
        ]
    )
    assert bfs_distances(cfg, st).tolist() == [5, 6, 9]


def test_player_on_food_needs_a_step_back_onto_it():
    # only reachable through set_state: the game pays the food when the player steps onto it again
    st = state_of((4, 4), [(4, 4)], [(0, 9)])
    assert bfs_distances(EnvConfig(actions="sentdex9"), st).tolist() == [1]  # stay
    assert bfs_distances(EnvConfig(actions="seed8"), st).tolist() == [2]  # away and back
    edge = state_of((0, 4), [(0, 4)], [(9, 9)])
    assert bfs_distances(EnvConfig(actions="seed8"), edge).tolist() == [1]  # bump into the wall


@pytest.mark.parametrize("actions", ["seed8", "sentdex9"])
def test_bfs_matches_a_plain_search_on_crowded_layouts(actions):
    cfg = EnvConfig(height=6, width=7, n_food=2, n_enemies=14, actions=actions)
    game = GridGame(cfg, 400)
    game.reset(seed=7)
    st = game.get_state()
    st["food_alive"][::3, 0] = False
    d = bfs_distances(cfg, st)
    want = [
        ref_bfs(cfg, st["player"][i], st["food"][i], st["food_alive"][i], st["enemy"][i]) for i in range(400)
    ]
    assert d.tolist() == want
    assert (d == UNREACHABLE).any() and (d > 3).any()  # the layouts exercise both cases


def test_bfs_on_a_bigger_grid_matches_the_plain_search():
    cfg = EnvConfig(height=20, width=13, n_food=1, n_enemies=60, actions="seed8")
    game = GridGame(cfg, 100)
    game.reset(seed=3)
    st = game.get_state()
    d = bfs_distances(cfg, st)
    want = [
        ref_bfs(cfg, st["player"][i], st["food"][i], st["food_alive"][i], st["enemy"][i]) for i in range(100)
    ]
    assert d.tolist() == want


# ----------------------------------------------------------------------------------- reference means
def test_reference_mean_on_1000_sentdex_layouts():
    cfg = EnvConfig(height=10, width=10, actions="sentdex9")
    game = GridGame(cfg, 1000)
    game.reset(seed=12345)
    r = oracle_returns(cfg, game.get_state())
    assert abs(r.mean() - 21.43) <= 0.3  # learning-notes.md (exact expectation over all layouts: 21.32)
    assert r.min() >= 25 - 9 and r.max() == 25.0  # d in 1..9 on a 10x10 grid with one enemy: 25 - (d - 1)


def test_reference_mean_on_1000_seed_layouts():
    cfg = EnvConfig(height=15, width=15, actions="seed8")
    game = GridGame(cfg, 1000)
    game.reset(seed=12345)
    assert abs(oracle_returns(cfg, game.get_state()).mean() - 18.89) <= 0.3


def test_random_play_is_far_below_the_oracle():
    cfg = EnvConfig()
    game = GridGame(cfg, 1000, obs_mode="planes")
    game.reset(seed=1)
    rng = np.random.default_rng(0)
    returns = np.full(1000, np.nan)
    for _ in range(cfg.max_steps):
        _, _, term, trunc, info = game.step(rng.integers(0, 9, 1000))
        first = (term | trunc) & np.isnan(returns)
        returns[first] = info["episode_return"][first]
    assert -230 < returns.mean() < -170  # learning-notes.md: about -200


# ---------------------------------------------------------------------------------- greedy heuristic
def test_greedy_equals_the_oracle_on_an_open_layout():
    cfg = EnvConfig(n_food=1, n_enemies=1)
    st = stack(
        [
            state_of((0, 0), [(7, 3)], [(9, 9)]),
            state_of((8, 1), [(2, 6)], [(0, 0)]),
            state_of((5, 5), [(5, 0)], [(9, 0)]),
        ]
    )
    assert heuristic_returns(cfg, st).tolist() == oracle_returns(cfg, st).tolist() == [19.0, 20.0, 21.0]


def test_greedy_is_close_to_the_oracle_on_random_static_layouts():
    cfg = EnvConfig()
    game = GridGame(cfg, 1000)
    game.reset(seed=5)
    st = game.get_state()
    h, o = heuristic_returns(cfg, st), oracle_returns(cfg, st)
    assert (h <= o + 1e-9).all()  # nothing beats the optimum
    assert (h == o).mean() > 0.98 and h.mean() > o.mean() - 0.5


def test_greedy_costs_and_tie_break():
    cfg = EnvConfig(n_enemies=1, actions="sentdex9")
    game = GridGame(cfg, 3)
    game.set_state(
        stack(
            [
                state_of((2, 2), [(6, 6)], [(0, 9)]),  # (+1,+1) straight at it
                state_of(
                    (2, 2), [(6, 6)], [(3, 3)]
                ),  # the diagonal holds the enemy: (+1,0) and (0,+1) tie -> 4
                state_of((2, 2), [(2, 6)], [(9, 0)]),  # (-1,+1), (+1,+1) and (0,+1) tie: lowest index wins
            ]
        )
    )
    assert greedy_actions(game).tolist() == [0, 4, 0]
    # the enemy never gets stepped on, even when it is the only move toward the food
    game.set_state(stack([state_of((0, 0), [(2, 0)], [(1, 0)])] * 3))
    a = greedy_actions(game)
    assert (ACTION_TABLES["sentdex9"][a] != [1, 0]).any(-1).all()


def test_greedy_avoids_cells_next_to_an_enemy_when_asked():
    cfg = EnvConfig(n_enemies=1)
    game = GridGame(cfg, 1)
    lay = state_of((2, 2), [(6, 2)], [(4, 3)])  # (3,3) and (3,2) are next to the enemy, (3,1) is not
    game.set_state(lay)
    assert greedy_actions(game, avoid_adjacent=False).tolist() == [0]  # (3,3): distance 3, lowest index
    assert greedy_actions(game, avoid_adjacent=True).tolist() == [3]  # (3,1): distance 3, not adjacent
    assert greedy_actions(game).tolist() == [0]  # static enemies: no avoidance by default
    moving = GridGame(EnvConfig(n_enemies=1, enemy_motion="random"), 1)
    moving.set_state(lay)
    assert greedy_actions(moving).tolist() == [3]  # the default when enemies move


def test_greedy_is_vectorised_over_games():
    cfg = EnvConfig(n_food=2, n_enemies=3)
    game = GridGame(cfg, 300)
    game.reset(seed=2)
    many = greedy_actions(game)
    for i in range(0, 300, 37):
        one = GridGame(cfg, 1)
        one.set_state({k: v[i : i + 1] for k, v in game.get_state().items()})
        assert greedy_actions(one)[0] == many[i]


# ----------------------------------------------------------------------------------- non-static games
def test_non_static_oracle_plays_the_heuristic_once_per_layout():
    cfg = EnvConfig(height=12, width=12, n_enemies=2, enemy_motion="random")
    game = GridGame(cfg, 500)
    game.reset(seed=4)
    st = game.get_state()
    a, b = oracle_returns(cfg, st, seed=1), oracle_returns(cfg, st, seed=1)
    c = oracle_returns(cfg, st, seed=2)
    assert (a == b).all() and not (a == c).all()
    assert (a == heuristic_returns(cfg, st, seed=1)).all()
    # every return is one episode's: food (25 - (moves - 1)), an enemy (-300 - (moves - 1)) or a timeout
    assert ((a == -200) | ((a > -300 - 200) & (a <= -300)) | ((a > 25 - 200) & (a <= 25))).all()
    assert 0 < a.mean() < 24


def test_remove_mode_uses_the_first_episode_only():
    cfg = EnvConfig(n_food=2, n_enemies=0, on_food="remove")
    st = state_of((0, 0), [(2, 0), (4, 0)])
    # two steps to the first item, two more to the second: (-1 + 25) * 2; later episodes are ignored
    assert oracle_returns(cfg, st).tolist() == [48.0]


def test_slip_makes_the_oracle_a_rollout():
    cfg = EnvConfig(slip=0.3)
    game = GridGame(cfg, 300)
    game.reset(seed=0)
    st = game.get_state()
    noisy = oracle_returns(cfg, st, seed=0)
    exact = oracle_returns(EnvConfig(), st)
    assert noisy.mean() < exact.mean()
