"""The batched grid game's rules, observations, presets and config checks (gridrl.game.grid)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gridrl.config import ConfigError, EnvConfig
from gridrl.game.grid import ACTION_TABLES, OUTCOME_NAMES, GridGame, n_actions, obs_shape

# The tutorials' tables (../shared/docs/seed-games.md), written out independently of the code.
SEED8 = [(1, 1), (-1, -1), (-1, 1), (1, -1), (1, 0), (0, 1), (-1, 0), (0, -1)]
SENTDEX9 = [(1, 1), (-1, -1), (-1, 1), (1, -1), (1, 0), (-1, 0), (0, 1), (0, -1), (0, 0)]
TABLES = {"seed8": SEED8, "sentdex9": SENTDEX9}
FOOD, ENEMY, TIMEOUT = 1, 2, 3


def make(n: int = 1, **kw) -> tuple[EnvConfig, GridGame]:
    cfg = EnvConfig(**kw)
    game = GridGame(cfg, n)
    game.reset(seed=0)
    return cfg, game


def layout(player, food, enemy=(), alive=None) -> dict[str, np.ndarray]:
    """One game's layout as a (1, ...) state dict."""
    food = np.array(food, dtype=np.int64).reshape(1, -1, 2)
    state = {
        "player": np.array([player], dtype=np.int64),
        "food": food,
        "enemy": np.array(enemy, dtype=np.int64).reshape(1, -1, 2),
    }
    if alive is not None:
        state["food_alive"] = np.array([alive], dtype=bool)
    return state


def act(game: GridGame, a: int):
    return game.step(np.array([a]))


# ------------------------------------------------------------------------------------------- moves
def test_action_tables_match_the_tutorials():
    for name, table in TABLES.items():
        assert ACTION_TABLES[name].tolist() == [list(m) for m in table]
        assert n_actions(EnvConfig(actions=name)) == len(table)


@pytest.mark.parametrize("actions", ["seed8", "sentdex9"])
def test_every_action_moves_by_its_displacement(actions):
    for a, (dx, dy) in enumerate(TABLES[actions]):
        cfg, game = make(actions=actions, n_enemies=0)
        game.set_state(layout((4, 5), [(0, 9)]))
        obs, reward, term, trunc, info = act(game, a)
        assert game.player[0].tolist() == [4 + dx, 5 + dy], (actions, a)
        assert reward.tolist() == [-1.0] and not term[0] and not trunc[0]
        assert info["outcome"][0] == 0


@pytest.mark.parametrize("actions", ["seed8", "sentdex9"])
def test_moves_are_clamped_at_edges_and_corners(actions):
    H, W = 6, 8
    starts = [(0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1), (3, 0), (0, 2), (W - 1, 4), (5, H - 1)]
    for x, y in starts:
        for a, (dx, dy) in enumerate(TABLES[actions]):
            cfg, game = make(actions=actions, height=H, width=W, n_enemies=0)
            food = (3, 2) if (x, y) != (3, 2) else (4, 3)
            game.set_state(layout((x, y), [food]))
            act(game, a)
            want = [min(max(x + dx, 0), W - 1), min(max(y + dy, 0), H - 1)]
            if want == list(food):
                continue  # the food ends the episode and resets the layout
            assert game.player[0].tolist() == want, ((x, y), a)


def test_moves_are_deterministic_without_slip():
    cfg, game = make(n=64, n_enemies=0, height=12, width=12)
    game.set_state(
        {"player": np.full((64, 2), 5), "food": np.zeros((64, 1, 2)), "enemy": np.zeros((64, 0, 2))}
    )
    act_all = np.arange(64) % 9
    game.step(act_all)
    assert (game.player == 5 + ACTION_TABLES["sentdex9"][act_all]).all()


def test_slip_one_randomises_every_action():
    cfg, game = make(n=4000, n_enemies=0, height=12, width=12, slip=1.0)
    game.set_state(
        {"player": np.full((4000, 2), 5), "food": np.zeros((4000, 1, 2)), "enemy": np.zeros((4000, 0, 2))}
    )
    game.step(np.zeros(4000, dtype=np.int64))  # always "(+1, +1)" ...
    moved = game.player - 5
    kinds, counts = np.unique(moved, axis=0, return_counts=True)
    assert len(kinds) == 9  # ... but every displacement happens, about equally often
    assert counts.min() > 4000 / 9 * 0.7


# ----------------------------------------------------------------------------------------- rewards
def test_rewards_food_enemy_move():
    cfg, game = make(n_enemies=1)
    game.set_state(layout((2, 2), [(3, 3)], [(1, 1)]))
    _, r, term, trunc, info = act(game, 4)  # (+1, 0) -> (3, 2)
    assert r[0] == -1.0 and not term[0] and not trunc[0]
    _, r, term, trunc, info = act(game, 6)  # (0, +1) -> (3, 3) = food
    assert r[0] == 25.0 and term[0] and not trunc[0]
    assert info["outcome"][0] == FOOD and OUTCOME_NAMES[FOOD] == "food"
    assert info["episode_return"][0] == 24.0 and info["episode_length"][0] == 2

    game.set_state(layout((2, 2), [(3, 3)], [(1, 1)]))
    _, r, term, trunc, info = act(game, 1)  # (-1, -1) -> enemy
    assert r[0] == -300.0 and term[0] and not trunc[0]
    assert info["outcome"][0] == ENEMY and OUTCOME_NAMES[ENEMY] == "enemy"
    assert info["episode_return"][0] == -300.0 and info["episode_length"][0] == 1


def test_custom_rewards_are_used():
    cfg, game = make(move_reward=-0.5, food_reward=3.0, enemy_reward=-7.0)
    game.set_state(layout((2, 2), [(4, 2)], [(2, 4)]))
    assert act(game, 4)[1][0] == -0.5
    assert act(game, 4)[1][0] == 3.0
    game.set_state(layout((2, 2), [(4, 2)], [(2, 3)]))
    assert act(game, 6)[1][0] == -7.0


def test_enemy_is_checked_before_food_on_a_shared_cell():
    cfg, game = make(n_enemies=1)
    game.set_state(layout((2, 2), [(3, 2)], [(3, 2)]))
    _, r, term, _, info = act(game, 4)
    assert r[0] == -300.0 and term[0] and info["outcome"][0] == ENEMY


def test_enemy_moving_onto_the_food_cell_wins():
    # the player steps onto the food at (3, 2) and the chasing enemy steps there too
    cfg, game = make(n_enemies=1, enemy_motion="chase", chase_prob=1.0)
    game.set_state(layout((2, 2), [(3, 2)], [(4, 2)]))
    _, r, term, _, info = act(game, 4)
    assert r[0] == -300.0 and term[0] and info["outcome"][0] == ENEMY


def test_an_enemy_walking_onto_the_player_ends_the_game():
    cfg, game = make(n_enemies=1, enemy_motion="chase", chase_prob=1.0)
    game.set_state(layout((2, 2), [(8, 8)], [(4, 4)]))
    _, r, term, _, info = act(game, 8)  # stay; the enemy goes (4,4) -> (3,3): not yet
    assert r[0] == -1.0 and game.enemy[0, 0].tolist() == [3, 3]
    _, r, term, _, info = act(game, 8)  # (3,3) -> (2,2): caught
    assert r[0] == -300.0 and term[0] and info["outcome"][0] == ENEMY


# ------------------------------------------------------------------------------- episode boundaries
def test_truncation_at_max_steps_is_not_termination():
    cfg, game = make(max_steps=5)
    game.set_state(layout((0, 0), [(9, 9)], [(9, 0)]))
    for t in range(1, 5):
        _, r, term, trunc, info = act(game, 8)
        assert not term[0] and not trunc[0] and game.t[0] == t
    _, r, term, trunc, info = act(game, 8)
    assert trunc[0] and not term[0] and r[0] == -1.0
    assert info["outcome"][0] == TIMEOUT and OUTCOME_NAMES[TIMEOUT] == "timeout"
    assert info["episode_return"][0] == -5.0 and info["episode_length"][0] == 5
    assert game.t[0] == 0 and game.ep_return[0] == 0.0  # auto-reset


def test_termination_wins_on_the_last_step():
    cfg, game = make(max_steps=3)
    game.set_state(layout((0, 0), [(3, 3)], [(9, 0)]))
    act(game, 0)
    act(game, 0)
    _, r, term, trunc, info = act(game, 0)
    assert term[0] and not trunc[0] and info["outcome"][0] == FOOD
    assert info["episode_return"][0] == 23.0 and info["episode_length"][0] == 3
    cfg, game = make(max_steps=1)
    game.set_state(layout((0, 0), [(3, 3)], [(1, 1)]))
    _, r, term, trunc, info = act(game, 0)
    assert term[0] and not trunc[0] and info["outcome"][0] == ENEMY


def test_auto_reset_keeps_the_final_frame_in_info():
    cfg, game = make(n=3, obs_mode="planes", n_enemies=1)
    state = {
        "player": np.array([[2, 2], [2, 2], [2, 2]]),
        "food": np.array([[[3, 3]], [[7, 7]], [[7, 7]]]),
        "enemy": np.array([[[0, 9]], [[1, 1]], [[0, 9]]]),
    }
    game.set_state(state)
    obs, r, term, trunc, info = game.step(np.array([0, 1, 8]))  # food, enemy, nothing
    assert term.tolist() == [True, True, False] and not trunc.any()
    assert info["outcome"].tolist() == [FOOD, ENEMY, 0]
    assert info["episode_return"].tolist()[:2] == [25.0, -300.0]
    assert info["episode_length"].tolist()[:2] == [1, 1]
    final = info["final_obs"]
    assert final.shape == (3, 3, 10, 10)
    # game 0 ended with the player on the food cell, game 1 with the player on the enemy
    assert final[0, 0, 3, 3] == 255 and final[0, 1, 3, 3] == 255 and final[0, 2, 9, 0] == 255
    assert final[1, 0, 1, 1] == 255 and final[1, 2, 1, 1] == 255 and final[1, 1, 7, 7] == 255
    assert final[0].sum() == 3 * 255 and final[1].sum() == 3 * 255
    # the finished games restarted on fresh layouts and the returned obs shows them
    assert (game.t == [0, 0, 1]).all() and (game.ep_return == [0.0, 0.0, -1.0]).all()
    fresh = GridGame(cfg, 3)
    fresh.set_state(game.get_state())
    assert (obs == fresh._obs).all()
    assert game.player[2].tolist() == [2, 2]


def test_episode_info_runs_over_many_auto_resets():
    cfg, game = make(n=256, n_enemies=2, max_steps=30)
    rng = np.random.default_rng(1)
    ret = np.zeros(256)
    length = np.zeros(256, dtype=int)
    outcomes = set()
    for _ in range(200):
        _, r, term, trunc, info = game.step(rng.integers(0, 9, 256))
        ret += r
        length += 1
        done = term | trunc
        assert not (term & trunc).any()
        assert (info["episode_return"][done] == ret[done]).all()
        assert (info["episode_length"][done] == length[done]).all()
        assert (info["outcome"][~done] == 0).all() and (info["outcome"][done] > 0).all()
        assert (info["outcome"][trunc] == TIMEOUT).all() and (length[trunc] == 30).all()
        outcomes |= set(info["outcome"][done].tolist())
        ret[done], length[done] = 0.0, 0
    assert outcomes == {FOOD, ENEMY, TIMEOUT}


# ------------------------------------------------------------------------------------ on_food modes
def test_on_food_remove_eats_each_item_once_and_ends_when_none_is_left():
    cfg, game = make(n_food=2, n_enemies=0, on_food="remove", obs_mode="planes")
    game.set_state(layout((0, 0), [(1, 0), (3, 0)]))
    obs, r, term, _, _ = act(game, 4)
    assert r[0] == 25.0 and not term[0] and game.food_alive[0].tolist() == [False, True]
    assert obs[0, 1].sum() == 255 and obs[0, 1, 0, 3] == 255  # the eaten item is not drawn
    _, r, term, _, _ = act(game, 5)  # back to (0,0)
    obs, r, term, _, _ = act(game, 4)  # (1,0) again: nothing left there
    assert r[0] == -1.0 and not term[0]
    act(game, 4)
    _, r, term, trunc, info = act(game, 4)
    assert r[0] == 25.0 and term[0] and not trunc[0] and info["outcome"][0] == FOOD
    assert info["episode_return"][0] == 25 - 1 - 1 - 1 + 25 and info["episode_length"][0] == 5
    assert game.food_alive[0].all()  # the next episode starts with every item


def test_on_food_respawn_moves_the_item_to_a_free_cell():
    cfg, game = make(n=1, height=4, width=4, n_food=3, n_enemies=4, on_food="respawn")
    rng = np.random.default_rng(0)
    eaten = 0
    for _ in range(400):
        before = game.get_state()
        _, r, term, trunc, info = game.step(rng.integers(0, 9, 1))
        if r[0] == 25.0:
            eaten += 1
            assert not term[0] and game.food_alive[0].all()
            cells = (
                [tuple(game.player[0])] + [tuple(f) for f in game.food[0]] + [tuple(e) for e in game.enemy[0]]
            )
            assert len(set(cells)) == len(cells)  # on a free cell, the player's included
            moved = (game.food[0] != before["food"][0]).any(-1)
            assert moved.sum() == 1  # only the eaten item moved
    assert eaten > 10


def test_respawn_gives_one_reward_and_never_terminates_on_food():
    cfg, game = make(n_enemies=0, on_food="respawn", max_steps=10)
    game.set_state(layout((0, 0), [(1, 1)]))
    total = 0.0
    for _ in range(10):
        a = int(np.argmin(np.abs(game.food[0] - game.player[0]).max(-1)))  # only one item: 0
        dx, dy = np.sign(game.food[0, a] - game.player[0])
        _, r, term, trunc, info = act(game, SENTDEX9.index((int(dx), int(dy))))
        total += r[0]
        assert not term[0]
    assert trunc[0] and info["outcome"][0] == TIMEOUT and info["episode_return"][0] == total
    assert total > 25.0


@pytest.mark.parametrize("on_food", ["remove", "respawn"])
def test_two_items_on_one_cell_are_eaten_together_for_one_reward(on_food):
    # Spawns never overlap, but walking food can share a cell; stepping there eats every item on it and
    # pays food_reward once (the rule of gridrl.game.grid, pinned here).
    cfg, game = make(n_food=3, n_enemies=0, on_food=on_food)
    game.set_state(layout((0, 0), [(1, 0), (1, 0), (5, 5)]))
    _, r, term, _, _ = act(game, 4)
    assert r[0] == 25.0 and not term[0]
    if on_food == "remove":
        assert game.food_alive[0].tolist() == [False, False, True]
    else:
        assert game.food_alive[0].all() and (game.food[0, :2] != [1, 0]).any(-1).all()


# ------------------------------------------------------------------------------------------ motion
@pytest.mark.parametrize("kind", ["random", "chase"])
def test_moving_entities_stay_in_the_grid_and_step_at_most_one(kind):
    cfg, game = make(
        n=128,
        height=5,
        width=7,
        n_food=2,
        n_enemies=3,
        food_motion="random",
        enemy_motion=kind,
        chase_prob=0.5,
        max_steps=1000,
        on_food="respawn",
    )
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(100):
        food0, enemy0 = game.food.copy(), game.enemy.copy()
        _, r, term, trunc, _ = game.step(rng.integers(0, 9, 128))
        keep = ~(term | trunc)
        for now in (game.food, game.enemy):
            assert (now[..., 0] >= 0).all() and (now[..., 0] < 7).all()
            assert (now[..., 1] >= 0).all() and (now[..., 1] < 5).all()
        d = np.abs(game.enemy[keep] - enemy0[keep])
        assert d.max() <= 1
        seen |= {tuple(v) for v in (game.enemy[keep] - enemy0[keep]).reshape(-1, 2).tolist()}
        jumped = (np.abs(game.food[keep] - food0[keep]).max(-1) > 1).sum(1)
        assert (jumped[r[keep] != 25.0] == 0).all()  # only eaten (respawned) items may jump
    assert len(seen) == 9  # every -1/0/+1 combination happens


def test_random_walk_food_moves_by_at_most_one():
    cfg, game = make(n=256, n_enemies=0, food_motion="random", max_steps=1000)
    far = {"player": np.zeros((256, 2)), "food": np.full((256, 1, 2), 6), "enemy": np.zeros((256, 0, 2))}
    game.set_state(far)
    game.step(np.full(256, 8))
    d = game.food[:, 0] - 6
    assert np.abs(d).max() <= 1 and len(np.unique(d, axis=0)) == 9


def test_chase_with_prob_one_moves_toward_the_player():
    cfg, game = make(n=1, height=12, width=12, n_enemies=3, enemy_motion="chase", chase_prob=1.0)
    game.set_state(layout((6, 6), [(0, 11)], [(0, 0), (11, 6), (9, 10)]))
    act(game, 4)  # player -> (7, 6); enemies chase the new position
    assert game.enemy[0].tolist() == [[1, 1], [10, 6], [8, 9]]
    act(game, 8)
    assert game.enemy[0].tolist() == [[2, 2], [9, 6], [7, 8]]


def test_chase_with_prob_zero_is_a_random_walk():
    cfg, game = make(n=512, height=12, width=12, n_enemies=1, enemy_motion="chase", chase_prob=0.0)
    game.set_state(
        {"player": np.zeros((512, 2)), "food": np.full((512, 1, 2), 11), "enemy": np.full((512, 1, 2), 6)}
    )
    game.step(np.full(512, 8))
    assert len(np.unique(game.enemy[:, 0] - 6, axis=0)) == 9


# ------------------------------------------------------------------------------------------ spawns
@pytest.mark.parametrize("hw,f,e", [((4, 4), 5, 6), ((2, 2), 1, 2), ((3, 5), 2, 0), ((10, 10), 1, 1)])
def test_spawns_never_overlap(hw, f, e):
    h, w = hw
    cfg, game = make(n=512, height=h, width=w, n_food=f, n_enemies=e, max_steps=3)
    rng = np.random.default_rng(0)
    for i in range(20):
        if i % 5 == 0:
            game.reset(seed=i)
            assert (game.t == 0).all() and (game.ep_return == 0).all() and game.food_alive.all()
        cells = np.concatenate([game.player[:, None], game.food, game.enemy], axis=1)
        flat = cells[..., 1] * w + cells[..., 0]
        s = np.sort(flat, axis=1)
        assert (np.diff(s, axis=1) > 0).all()
        assert (cells[..., 0] < w).all() and (cells[..., 1] < h).all() and (cells >= 0).all()
        for _ in range(3):  # max_steps=3: every game has been reset after three steps
            game.step(rng.integers(0, n_actions(cfg), 512))


def test_spawn_cells_are_uniform():
    cfg, game = make(n=40_000, height=3, width=3, n_food=1, n_enemies=1)
    for arr in (game.player, game.food[:, 0], game.enemy[:, 0]):
        counts = np.bincount(arr[:, 1] * 3 + arr[:, 0], minlength=9)
        assert np.abs(counts / 40_000 - 1 / 9).max() < 0.01


# ----------------------------------------------------------------------------------------- seeding
def _trajectory(seed: int, **kw):
    cfg = EnvConfig(
        n_food=2,
        n_enemies=2,
        food_motion="random",
        enemy_motion="chase",
        slip=0.2,
        on_food="respawn",
        max_steps=20,
        **kw,
    )
    game = GridGame(cfg, 16)
    obs, _ = game.reset(seed=seed)
    frames, rewards = [obs.copy()], []
    acts = np.random.default_rng(99).integers(0, 9, (60, 16))
    for a in acts:
        obs, r, _, _, _ = game.step(a)
        frames.append(obs.copy())
        rewards.append(r)
    return np.array(frames), np.array(rewards)


def test_same_seed_same_trajectory_other_seed_differs():
    f1, r1 = _trajectory(3)
    f2, r2 = _trajectory(3)
    f3, r3 = _trajectory(4)
    assert (f1 == f2).all() and (r1 == r2).all()
    assert not (f1 == f3).all()


def test_get_state_set_state_round_trip():
    cfg, game = make(n=8, n_food=2, n_enemies=2, on_food="remove")
    game.step(np.random.default_rng(0).integers(0, 9, 8))
    state = game.get_state()
    other = GridGame(cfg, 8)
    obs = other.set_state(state)
    assert (obs == game._obs).all()
    for k, v in other.get_state().items():
        assert (v == state[k]).all(), k


# ------------------------------------------------------------------------------------ observations
def ref_obs(cfg: EnvConfig, player, food, alive, enemy) -> np.ndarray:
    """Plain per-cell reference renderer of one game."""
    H, W = cfg.height, cfg.width
    px, py = player
    if cfg.obs_mode == "ego":
        out = np.zeros((3, 2 * H - 1, 2 * W - 1), dtype=np.uint8)
        for y in range(H):
            for x in range(W):
                out[2, y - py + H - 1, x - px + W - 1] = 255
        for (x, y), a in zip(food, alive, strict=True):
            if a:
                out[0, y - py + H - 1, x - px + W - 1] = 255
        for x, y in enemy:
            out[1, y - py + H - 1, x - px + W - 1] = 255
        return out
    out = np.zeros((3, H, W), dtype=np.uint8)
    if cfg.obs_mode == "planes":
        out[0, py, px] = 255
        for (x, y), a in zip(food, alive, strict=True):
            if a:
                out[1, y, x] = 255
        for x, y in enemy:
            out[2, y, x] = 255
        return out
    for (x, y), a in zip(food, alive, strict=True):
        if a:
            out[:, y, x] = cfg.food_color
    for x, y in enemy:
        out[:, y, x] = cfg.enemy_color
    out[:, py, px] = cfg.player_color
    return out


HAND_LAYOUTS = [
    # player, food, alive, enemy (5 rows x 7 columns, 3 food, 2 enemies)
    ((0, 0), [(6, 4), (1, 0), (3, 2)], [True, True, True], [(0, 4), (6, 0)]),  # corner, far corners
    ((6, 4), [(0, 0), (5, 4), (6, 3)], [True, False, True], [(0, 4), (6, 0)]),  # other corner, dead food
    ((3, 0), [(3, 4), (0, 2), (6, 2)], [True, True, True], [(2, 0), (4, 1)]),  # top edge
    ((0, 2), [(6, 2), (1, 1), (1, 3)], [True, True, False], [(0, 1), (0, 3)]),  # left edge
    ((3, 2), [(3, 2), (2, 2), (4, 3)], [True, True, True], [(3, 2), (2, 2)]),  # overlaps: player on top
]


@pytest.mark.parametrize("mode", ["rgb", "planes", "ego"])
def test_observations_match_a_plain_renderer(mode):
    cfg = EnvConfig(height=5, width=7, n_food=3, n_enemies=2, obs_mode=mode)
    n = len(HAND_LAYOUTS)
    game = GridGame(cfg, n)
    assert game.obs_shape == obs_shape(cfg)
    state = {
        "player": np.array([lay[0] for lay in HAND_LAYOUTS]),
        "food": np.array([lay[1] for lay in HAND_LAYOUTS]),
        "food_alive": np.array([lay[2] for lay in HAND_LAYOUTS]),
        "enemy": np.array([lay[3] for lay in HAND_LAYOUTS]),
    }
    obs = game.set_state(state)
    assert obs.dtype == np.uint8 and obs.shape == (n, *obs_shape(cfg))
    for i, lay in enumerate(HAND_LAYOUTS):
        assert (obs[i] == ref_obs(cfg, *lay)).all(), (mode, i)


def test_rgb_colours_and_player_on_top():
    cfg = EnvConfig(
        obs_mode="rgb", n_enemies=1, player_color=[255, 0, 0], food_color=[0, 255, 0], enemy_color=[0, 0, 255]
    )
    game = GridGame(cfg, 2)
    obs = game.set_state(
        {
            "player": np.array([[1, 2], [5, 5]]),
            "food": np.array([[[3, 4]], [[5, 5]]]),
            "enemy": np.array([[[9, 0]], [[5, 5]]]),
        }
    )
    assert obs.shape == (2, 3, 10, 10)
    assert obs[0, :, 2, 1].tolist() == [255, 0, 0]  # (x=1, y=2): row 2, column 1
    assert obs[0, :, 4, 3].tolist() == [0, 255, 0]
    assert obs[0, :, 0, 9].tolist() == [0, 0, 255]
    assert obs[0].sum() == 3 * 255
    assert obs[1, :, 5, 5].tolist() == [255, 0, 0] and obs[1].sum() == 255  # all three on one cell
    default = GridGame(EnvConfig(obs_mode="rgb"), 1)
    obs = default.set_state(layout((0, 0), [(1, 1)], [(2, 2)]))
    assert obs[0, :, 0, 0].tolist() == [255, 175, 0]  # sentdex's player colour is the default


def test_planes_are_one_hot():
    cfg, game = make(n=64, obs_mode="planes", n_food=3, n_enemies=2)
    obs = game._obs
    assert set(np.unique(obs).tolist()) <= {0, 255}
    assert (obs[:, 0].reshape(64, -1).sum(1) == 255).all()
    assert (obs[:, 1].reshape(64, -1).sum(1) == 3 * 255).all()
    assert (obs[:, 2].reshape(64, -1).sum(1) == 2 * 255).all()
    assert ((obs > 0).sum(1) <= 1).all()  # spawns never overlap


def test_ego_view_is_centred_on_the_player():
    cfg, game = make(n=200, height=6, width=9, n_food=2, n_enemies=2, obs_mode="ego")
    obs = game._obs
    H, W = 6, 9
    assert obs.shape == (200, 3, 2 * H - 1, 2 * W - 1)
    assert (obs[:, 2, H - 1, W - 1] == 255).all()  # the player's own cell is always inside
    assert (obs[:, 2].reshape(200, -1).sum(1) == 255 * H * W).all()
    for i in range(200):
        px, py = game.player[i]
        for fx, fy in game.food[i]:
            assert obs[i, 0, H - 1 + fy - py, W - 1 + fx - px] == 255
        for ex, ey in game.enemy[i]:
            assert obs[i, 1, H - 1 + ey - py, W - 1 + ex - px] == 255
    assert (obs[:, 0].reshape(200, -1).sum(1) == 2 * 255).all()


@pytest.mark.parametrize("mode", ["rgb", "planes", "ego"])
def test_render_obs_in_another_mode(mode):
    cfg, game = make(n=32, n_food=2, n_enemies=2, obs_mode="planes")
    other = GridGame(replace(cfg, obs_mode=mode), 32)
    expected = other.set_state(game.get_state())
    got = game.render_obs(mode)
    assert got.shape == expected.shape and (got == expected).all()


MOTION_CONFIGS = [
    dict(food_motion="random", enemy_motion="random", on_food="remove"),
    dict(food_motion="random", enemy_motion="chase", on_food="respawn", slip=0.3),
    dict(on_food="end", actions="seed8"),
]


@pytest.mark.parametrize("mode", ["rgb", "planes", "ego"])
@pytest.mark.parametrize("kw", MOTION_CONFIGS, ids=["remove", "respawn", "end"])
def test_step_observations_match_a_plain_renderer_over_random_play(mode, kw):
    # the game redraws only what changed: every frame must still equal a drawing from scratch
    cfg, game = make(n=64, height=5, width=6, n_food=2, n_enemies=2, max_steps=15, obs_mode=mode, **kw)
    rng = np.random.default_rng(5)
    for step in range(60):
        if step == 30:  # a mid-run set_state redraws everything
            st = game.get_state()
            st["food_alive"][::3, 0] = False
            game.set_state(st)
        obs, _, term, trunc, info = game.step(rng.integers(0, n_actions(cfg), 64))
        for i in range(0, 64, 5):
            lay = (game.player[i], game.food[i], game.food_alive[i], game.enemy[i])
            assert (obs[i] == ref_obs(cfg, *lay)).all()


# ------------------------------------------------------------------- the rules against a reference
def ref_step(cfg: EnvConfig, player, food, alive, enemy, t, action):
    """Plain Python rules of one static game: (player, alive, reward, terminated, truncated)."""
    dx, dy = TABLES[cfg.actions][action]
    x = min(max(player[0] + dx, 0), cfg.width - 1)
    y = min(max(player[1] + dy, 0), cfg.height - 1)
    alive = list(alive)
    if any((x, y) == tuple(e) for e in enemy):
        return (x, y), alive, cfg.enemy_reward, True, False
    hit = [i for i, f in enumerate(food) if alive[i] and (x, y) == tuple(f)]
    if hit:
        term = cfg.on_food == "end"
        if cfg.on_food == "remove":
            for i in hit:
                alive[i] = False
            term = not any(alive)
        return (x, y), alive, cfg.food_reward, term, (not term) and t + 1 >= cfg.max_steps
    return (x, y), alive, cfg.move_reward, False, t + 1 >= cfg.max_steps


@pytest.mark.parametrize("on_food,actions", [("end", "sentdex9"), ("remove", "seed8"), ("end", "seed8")])
def test_static_rules_match_a_plain_python_reference(on_food, actions):
    cfg, game = make(
        n=64, height=4, width=5, n_food=3, n_enemies=2, on_food=on_food, actions=actions, max_steps=12
    )
    rng = np.random.default_rng(11)
    for _ in range(80):
        before = game.get_state()
        a = rng.integers(0, n_actions(cfg), 64)
        _, r, term, trunc, info = game.step(a)
        for i in range(64):
            p, alive, rr, tt, tr = ref_step(
                cfg,
                before["player"][i],
                before["food"][i],
                before["food_alive"][i],
                before["enemy"][i],
                before["t"][i],
                a[i],
            )
            assert (r[i], term[i], trunc[i]) == (rr, tt, tr)
            if not (tt or tr):
                assert tuple(game.player[i]) == p and game.food_alive[i].tolist() == alive


# ----------------------------------------------------------------------------------------- presets
def _compose_env(name: str) -> EnvConfig:
    from gridrl.config import compose_config

    return compose_config([f"env={name}"]).env


COMMON = dict(
    n_food=1,
    n_enemies=1,
    food_motion="static",
    enemy_motion="static",
    on_food="end",
    move_reward=-1.0,
    food_reward=25.0,
    enemy_reward=-300.0,
    max_steps=200,
    slip=0.0,
)


def test_preset_seed():
    env = _compose_env("seed")
    want = dict(
        COMMON,
        height=15,
        width=15,
        actions="seed8",
        player_color=[255, 0, 0],
        food_color=[0, 255, 0],
        enemy_color=[0, 0, 255],
    )
    for k, v in want.items():
        assert getattr(env, k) == v, k
    assert env.is_static and n_actions(env) == 8


def test_preset_sentdex():
    env = _compose_env("sentdex")
    want = dict(
        COMMON,
        height=10,
        width=10,
        actions="sentdex9",
        player_color=[255, 175, 0],
        food_color=[0, 255, 0],
        enemy_color=[0, 0, 255],
    )
    for k, v in want.items():
        assert getattr(env, k) == v, k
    assert env.is_static and n_actions(env) == 9


def test_preset_default():
    env = _compose_env("default")
    for k, v in dict(COMMON, height=10, width=10, actions="sentdex9").items():
        assert getattr(env, k) == v, k


def test_preset_crowded():
    env = _compose_env("crowded")
    assert env.n_food > 1 or env.n_enemies > 1
    assert not env.is_static or env.on_food != "end"
    game = GridGame(env, 8)
    game.reset(seed=0)
    for _ in range(50):
        game.step(np.random.default_rng(0).integers(0, n_actions(env), 8))


# ------------------------------------------------------------------------------------ config checks
BAD = [
    (dict(height=1), "env.height"),
    (dict(width=1), "env.width"),
    (dict(height=0, width=5), "env.height"),
    (dict(n_food=0), "env.n_food"),
    (dict(n_enemies=-1), "env.n_enemies"),
    (dict(height=2, width=2, n_food=2, n_enemies=2), "env.n_food"),
    (dict(food_motion="chase"), "env.food_motion"),
    (dict(food_motion="teleport"), "env.food_motion"),
    (dict(enemy_motion="fly"), "env.enemy_motion"),
    (dict(chase_prob=1.5), "env.chase_prob"),
    (dict(chase_prob=-0.1), "env.chase_prob"),
    (dict(actions="seed9"), "env.actions"),
    (dict(on_food="stay"), "env.on_food"),
    (dict(max_steps=0), "env.max_steps"),
    (dict(slip=-0.01), "env.slip"),
    (dict(slip=1.01), "env.slip"),
    (dict(obs_mode="pixels"), "env.obs_mode"),
    (dict(player_color=[255, 0]), "env.player_color"),
    (dict(food_color=[0, 256, 0]), "env.food_color"),
    (dict(enemy_color=[0, -1, 0]), "env.enemy_color"),
    (dict(enemy_color=[0, 0, 0, 0]), "env.enemy_color"),
]


@pytest.mark.parametrize("kw,key", BAD, ids=[f"{k}" for _, k in BAD])
def test_bad_settings_raise_config_error_naming_the_key(kw, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        EnvConfig(**kw)


def test_edge_settings_are_accepted():
    EnvConfig(height=2, width=2, n_food=1, n_enemies=2)  # exactly full
    EnvConfig(n_enemies=0, chase_prob=0.0, slip=1.0, max_steps=1)
    EnvConfig(chase_prob=1.0, player_color=[0, 0, 0], food_color=[255, 255, 255])
    assert EnvConfig().is_static
    assert not EnvConfig(slip=0.1).is_static and not EnvConfig(enemy_motion="chase").is_static
    assert not EnvConfig(food_motion="random").is_static
