"""gridrl.envs: MinAtar, MiniGrid and generic gymnasium envs behind the batched contract.

Every expected value is derived here from the wrapped libraries themselves (an unbatched env stepped
with the same seeds and actions, minigrid's constants) or computed by hand in a comment.
"""

from __future__ import annotations

import gymnasium
import minigrid  # noqa: F401  (registers the MiniGrid ids)
import numpy as np
import pytest
from gymnasium import spaces
from minatar import Environment
from minigrid.core import constants

from gridrl.config import ConfigError
from gridrl.envs import (
    MINATAR_DQN,
    BatchedEnv,
    GymEnv,
    MinAtarEnv,
    MiniGridEnv,
    colorize,
    env_config,
    make_env,
    make_env_from_name,
    onehot,
    optimal_returns,
    parse_env_name,
    reference_returns,
    shortest_path,
)
from gridrl.envs.minatar import GAMES
from gridrl.envs.minigrid import N_PLANES, TASKS, resolve_task


# ------------------------------------------------------------------------------------------ helpers
def run_random(env, seed: int, steps: int, action_seed: int = 1):
    """Reset with ``seed``, take random actions; every step's outputs copied."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed)
    out = {"obs": [obs.copy()], "actions": [], "reward": [], "term": [], "trunc": [], "final": [], "ret": []}
    out["len"] = []
    for _ in range(steps):
        a = rng.integers(0, env.n_actions, env.n)
        obs, r, te, tr, info = env.step(a)
        out["actions"].append(a)
        out["obs"].append(obs.copy())
        for k, v in (("reward", r), ("term", te), ("trunc", tr)):
            out[k].append(v.copy())
        out["final"].append(info["final_obs"].copy())
        out["ret"].append(info["episode_return"].copy())
        out["len"].append(info["episode_length"].copy())
    return {k: np.array(v) for k, v in out.items()}


def check_contract(env, steps: int = 5) -> None:
    """Types, shapes and dtypes of every output."""
    assert isinstance(env, BatchedEnv)
    n, shape = env.n, env.obs_shape
    assert len(shape) == 3
    obs, info = env.reset(seed=0)
    assert obs.shape == (n, *shape) and obs.dtype == np.uint8 and isinstance(info, dict)
    for _ in range(steps):
        obs, r, te, tr, info = env.step(np.zeros(n, dtype=np.int64))
        assert obs.shape == (n, *shape) and obs.dtype == np.uint8
        assert r.shape == (n,) and r.dtype == np.float32
        assert te.shape == tr.shape == (n,) and te.dtype == tr.dtype == np.bool_
        assert info["final_obs"].shape == (n, *shape) and info["final_obs"].dtype == np.uint8
        assert info["episode_return"].shape == (n,) and info["episode_length"].dtype == np.int64
        assert not (te & tr).any()
    pics = env.render()
    assert pics.ndim == 4 and pics.shape[0] == n and pics.shape[3] == 3 and pics.dtype == np.uint8
    env.close()


def minatar_state(env: Environment) -> np.ndarray:
    return env.state().transpose(2, 0, 1).astype(np.uint8) * 255


# --------------------------------------------------------------------------------------------- MinAtar
@pytest.mark.parametrize("game", GAMES)
def test_minatar_contract_and_binary_planes(game):
    env = MinAtarEnv(game, n=3)
    channels = Environment(game).state_shape()[2]
    assert env.obs_shape == (channels, 10, 10) and env.n_actions == 6
    check_contract(env)
    obs, _ = MinAtarEnv(game, n=2).reset(seed=3)
    assert set(np.unique(obs)) <= {0, 255}


@pytest.mark.parametrize("game", GAMES)
def test_minatar_matches_unbatched_env(game):
    """Every copy = a minatar.Environment seeded seed + i stepped with the same actions: observations,
    rewards, termination, final_obs and episode statistics across auto-resets."""
    n, seed, steps = 3, 11, 400 if game == "breakout" else 150
    got = run_random(MinAtarEnv(game, n=n, max_steps=None), seed, steps)
    for i in range(n):
        ref = Environment(game, sticky_action_prob=0.1)
        ref.seed(seed + i)
        ref.reset()
        assert np.array_equal(got["obs"][0, i], minatar_state(ref))
        ret, length = 0.0, 0
        for t in range(steps):
            r, done = ref.act(int(got["actions"][t, i]))
            ret, length = ret + r, length + 1
            assert got["reward"][t, i] == r and got["term"][t, i] == done and not got["trunc"][t, i]
            if done:
                assert np.array_equal(got["final"][t, i], minatar_state(ref))
                assert got["ret"][t, i] == ret and got["len"][t, i] == length
                ref.reset()
                ret, length = 0.0, 0
            assert np.array_equal(got["obs"][t + 1, i], minatar_state(ref))
    if game == "breakout":  # random play loses the ball quickly: the auto-reset path ran
        assert got["term"].sum() >= 5


def test_minatar_seeding_and_copies_differ():
    a = run_random(MinAtarEnv("breakout", n=6), seed=5, steps=40)
    b = run_random(MinAtarEnv("breakout", n=6), seed=5, steps=40)
    assert np.array_equal(a["obs"], b["obs"]) and np.array_equal(a["reward"], b["reward"])
    c = run_random(MinAtarEnv("breakout", n=6), seed=6, steps=40)
    assert not np.array_equal(a["obs"], c["obs"])
    # copies get different seeds: their trajectories are not all the same under identical actions
    env = MinAtarEnv("asterix", n=4)
    env.reset(seed=0)
    frames = [env.step(np.full(4, 3))[0].copy() for _ in range(30)]
    per_copy = np.stack(frames, 1).reshape(4, -1)
    assert len({row.tobytes() for row in per_copy}) > 1
    # a second reset with the seed replays the first episode, whatever happened in between
    env.reset(seed=0)
    again = [env.step(np.full(4, 3))[0].copy() for _ in range(30)]
    assert np.array_equal(np.stack(frames), np.stack(again))


def test_minatar_reset_with_seed_equals_a_fresh_env():
    """reset(seed) also forgets the sticky last action: a used env replays a fresh one exactly."""
    used = MinAtarEnv("breakout", n=2, sticky_action_prob=0.9)
    used.reset(seed=1)
    for _ in range(5):
        used.step(np.full(2, 3))  # last action: right
    fresh = MinAtarEnv("breakout", n=2, sticky_action_prob=0.9)
    for env in (used, fresh):
        env.reset(seed=7)
    for _ in range(6):
        a, b = used.step(np.full(2, 1))[0], fresh.step(np.full(2, 1))[0]
        assert np.array_equal(a, b)


def test_minatar_truncation_vs_termination():
    max_steps = 7
    got = run_random(MinAtarEnv("freeway", n=4, max_steps=max_steps), seed=0, steps=2 * max_steps)
    # freeway cannot end by itself before 2500 frames: every copy is truncated at steps 7 and 14
    ended = got["term"] | got["trunc"]
    assert not got["term"].any()
    assert ended[max_steps - 1].all() and ended[2 * max_steps - 1].all() and ended.sum() == 2 * 4
    assert (got["len"][max_steps - 1] == max_steps).all()
    assert np.allclose(got["ret"][max_steps - 1], got["reward"][:max_steps].sum(0))
    # breakout terminates (ball lost) before a long limit: terminated, not truncated
    got = run_random(MinAtarEnv("breakout", n=4, max_steps=1000), seed=0, steps=200)
    assert got["term"].any() and not got["trunc"].any()


def test_minatar_minimal_actions_map_to_the_games_set():
    env = MinAtarEnv("breakout", n=1, minimal_actions=True, sticky_action_prob=0.0)
    minimal = Environment("breakout").minimal_action_set()
    assert env.n_actions == len(minimal)
    env.reset(seed=0)
    ref = Environment("breakout", sticky_action_prob=0.0)
    ref.seed(0)
    ref.reset()
    for a in [1, 1, 2, 0, 2, 2, 1]:
        obs = env.step(np.array([a]))[0]
        ref.act(minimal[a])
        assert np.array_equal(obs[0], minatar_state(ref))
    with pytest.raises(ValueError, match="actions must lie"):
        env.step(np.array([len(minimal)]))


def test_minatar_render_colours_channels():
    env = MinAtarEnv("breakout", n=2)
    obs, _ = env.reset(seed=0)
    pics = env.render()
    assert pics.shape == (2, 10, 10, 3)
    empty = (obs == 0).all(1)
    assert (pics[empty] == 0).all() and (pics[~empty].max(-1) > 0).all()


def test_colorize_hand_made():
    planes = np.zeros((1, 2, 2, 2), dtype=np.uint8)
    planes[0, 0, 0, 0] = 255  # cell (0, 0): plane 0
    planes[0, 0, 1, 1] = planes[0, 1, 1, 1] = 255  # cell (1, 1): planes 0 and 1 -> the last one
    colors = np.array([[10, 20, 30], [40, 50, 60]], dtype=np.uint8)
    pic = colorize(planes, colors)[0]
    assert pic[0, 0].tolist() == [10, 20, 30] and pic[1, 1].tolist() == [40, 50, 60]
    assert pic[0, 1].tolist() == [0, 0, 0] and pic[1, 0].tolist() == [0, 0, 0]


# -------------------------------------------------------------------------------------------- MiniGrid
def test_onehot_index_ranges_match_minigrid_constants():
    assert (
        len(constants.OBJECT_TO_IDX) + len(constants.COLOR_TO_IDX) + len(constants.STATE_TO_IDX) == N_PLANES
    )
    assert max(constants.OBJECT_TO_IDX.values()) == len(constants.OBJECT_TO_IDX) - 1


def test_onehot_hand_made_obs():
    O, C, S = constants.OBJECT_TO_IDX, constants.COLOR_TO_IDX, constants.STATE_TO_IDX
    n_o, n_c = len(O), len(C)
    image = np.zeros((1, 2, 3, 3), dtype=np.uint8)  # (x, y) cells; (0, 0, 0) = unseen, red, open
    image[0, 0, 1] = (O["wall"], C["grey"], S["open"])
    image[0, 1, 2] = (O["door"], C["purple"], S["locked"])
    out = onehot(image)
    assert out.shape == (1, N_PLANES, 2, 3) and out.dtype == np.uint8
    expect = {  # plane index of each (group, value): objects, then colours, then states
        (0, 1): {O["wall"], n_o + C["grey"], n_o + n_c + S["open"]},
        (1, 2): {O["door"], n_o + C["purple"], n_o + n_c + S["locked"]},
        (0, 0): {O["unseen"], n_o + C["red"], n_o + n_c + S["open"]},
    }
    for (x, y), planes in expect.items():
        assert set(np.flatnonzero(out[0, :, x, y])) == planes
        assert (out[0, list(planes), x, y] == 255).all()
    assert (out.sum(1, dtype=np.int64) == 3 * 255).all()  # one object, colour and state per cell
    bad = image.copy()
    bad[0, 0, 0, 2] = 3  # a state of 3 (e.g. a fully observable agent's direction)
    with pytest.raises(ValueError, match="out of range"):
        onehot(bad)


@pytest.mark.parametrize("task", list(TASKS))
def test_minigrid_tasks_contract(task):
    env = MiniGridEnv(task, n=2)
    assert env.obs_shape == (N_PLANES, 7, 7) and env.n_actions == 7
    check_contract(env, steps=3)


@pytest.mark.parametrize("task", ["lavagap-s7", "doorkey-8x8"])
def test_minigrid_matches_unbatched_env(task):
    """Copies = gymnasium envs reset with seed + i and stepped with the same actions."""
    n, seed, steps, max_steps = 3, 4, 120, 20
    got = run_random(MiniGridEnv(task, n=n, max_steps=max_steps), seed, steps)
    for i in range(n):
        ref = gymnasium.make(resolve_task(task), max_steps=max_steps)
        obs, _ = ref.reset(seed=seed + i)
        assert np.array_equal(got["obs"][0, i], onehot(obs["image"][None])[0])
        ret, length = 0.0, 0
        for t in range(steps):
            obs, r, te, tr, _ = ref.step(int(got["actions"][t, i]))
            ret, length = ret + r, length + 1
            assert got["reward"][t, i] == np.float32(r)
            assert got["term"][t, i] == te and got["trunc"][t, i] == (tr and not te)
            if te or tr:
                assert np.array_equal(got["final"][t, i], onehot(obs["image"][None])[0])
                assert got["ret"][t, i] == pytest.approx(ret) and got["len"][t, i] == length
                obs, _ = ref.reset()
                ret, length = 0.0, 0
            assert np.array_equal(got["obs"][t + 1, i], onehot(obs["image"][None])[0])
    assert got["trunc"].sum() >= n  # 120 steps, a 20-step limit: episodes ended, auto-resets ran


FAST_VIEW_CASES = [(task, {}) for task in TASKS] + [
    ("doorkey-8x8", {"agent_view_size": 5}),
    ("MiniGrid-Dynamic-Obstacles-8x8-v0", {}),
    ("MiniGrid-Unlock-v0", {}),
    ("MiniGrid-ObstructedMaze-2Dlhb-v1", {}),
]


@pytest.mark.parametrize(("task", "kwargs"), FAST_VIEW_CASES)
def test_minigrid_fast_views_equal_minigrids_own(task, kwargs):
    """The batched views (EgocentricViews) against MiniGrid's gen_obs (fast_views=False), in lockstep:
    every output of every step, with some copies held still (``active``), through carried objects,
    opened doors and auto-resets."""
    n, steps = 4, 500
    actions = "keys" if task == "doorkey-8x8" else "all"  # random play opens DoorKey's door with these
    fast = MiniGridEnv(task, n=n, max_steps=200, actions=actions, env_kwargs=kwargs)
    slow = MiniGridEnv(task, n=n, max_steps=200, actions=actions, env_kwargs=kwargs, fast_views=False)
    assert fast._views is not None and slow._views is None
    rng = np.random.default_rng(3)
    assert np.array_equal(fast.reset(seed=5)[0], slow.reset(seed=5)[0])
    carried = opened = 0
    for t in range(steps):
        a = rng.integers(0, fast.n_actions, n)
        active = None if t % 3 else rng.random(n) < 0.5
        got, want = fast.step(a, active), slow.step(a, active)
        for x, y in zip(got[:4], want[:4], strict=True):
            assert np.array_equal(x, y), t
        done = want[2] | want[3]
        assert np.array_equal(got[4]["final_obs"][done], want[4]["final_obs"][done]), t
        carried += sum(u.carrying is not None for u in fast._units)
        opened += sum(
            o is not None and o.type == "door" and o.is_open for u in fast._units for o in u.grid.grid
        )
    if task == "doorkey-8x8":  # the cases that differ from walls and floor were met
        assert carried > 0 and opened > 0
    # and against MiniGrid's view of the current states, drawn afresh
    from minigrid.minigrid_env import MiniGridEnv as Base

    assert np.array_equal(fast._raw, np.stack([Base.gen_obs(u)["image"] for u in fast._units]))
    fast._views.MIN_BATCH = 1  # the array path on one env too (batches under 4 use MiniGrid's own)
    for u in fast._units:
        assert np.array_equal(fast._views([u])[0], Base.gen_obs(u)["image"])


def test_minigrid_own_view_kept_where_an_env_draws_its_own():
    """An env class with its own gen_obs keeps it (the batched views would not know what it draws)."""
    from minigrid.envs import EmptyEnv

    class Shifted(EmptyEnv):
        def gen_obs(self):
            obs = super().gen_obs()
            obs["image"] = np.roll(obs["image"], 1, axis=0)
            return obs

    env_id = "MiniGrid-GridrlTestShifted-v0"
    if env_id not in gymnasium.registry:
        gymnasium.register(env_id, entry_point=lambda **kw: Shifted(size=6, **kw))
    env = MiniGridEnv(env_id, n=2)
    assert env._views is None
    obs, _ = env.reset(seed=0)
    ref = Shifted(size=6)
    assert np.array_equal(obs[0], onehot(ref.reset(seed=0)[0]["image"][None])[0])


def test_minigrid_truncation_and_termination():
    env = MiniGridEnv("empty-8x8", n=2, max_steps=3, actions="nav")
    env.reset(seed=0)
    for _ in range(3):  # turning left never reaches the goal: truncated at the 3rd step
        _, r, te, tr, info = env.step(np.zeros(2, dtype=np.int64))
    assert tr.all() and not te.any() and (r == 0).all()
    assert (info["episode_length"] == 3).all() and (info["episode_return"] == 0).all()
    # the shortest path reaches the goal: terminated, with the optimal return as reward
    ref = gymnasium.make("MiniGrid-Empty-5x5-v0")
    ref.reset(seed=0)
    path = shortest_path(ref)
    env = MiniGridEnv("MiniGrid-Empty-5x5-v0", n=1, actions="nav")
    env.reset(seed=0)
    for a in path:
        _, r, te, tr, info = env.step(np.array([a]))
    assert te[0] and not tr[0]
    assert info["episode_return"][0] == pytest.approx(optimal_returns("MiniGrid-Empty-5x5-v0", [0])[0])
    assert r[0] == pytest.approx(info["episode_return"][0])
    # reaching the goal on the last allowed step: MiniGrid says terminated and truncated, we say terminated
    env = MiniGridEnv("MiniGrid-Empty-5x5-v0", n=1, max_steps=len(path), actions="nav")
    env.reset(seed=0)
    ref = gymnasium.make("MiniGrid-Empty-5x5-v0", max_steps=len(path))
    ref.reset(seed=0)
    for a in path:
        _, r, te, tr, info = env.step(np.array([a]))
        _, ref_r, ref_te, ref_tr, _ = ref.step(a)
    assert ref_te and ref_tr and te[0] and not tr[0] and r[0] == np.float32(ref_r) > 0


def test_minigrid_seeding_and_render():
    a = run_random(MiniGridEnv("fourrooms", n=4), seed=2, steps=10)
    b = run_random(MiniGridEnv("fourrooms", n=4), seed=2, steps=10)
    assert np.array_equal(a["obs"], b["obs"])
    assert len({a["obs"][0, i].tobytes() for i in range(4)}) > 1  # random layouts differ per copy
    env = MiniGridEnv("doorkey-8x8", n=2, tile_size=4)
    env.reset(seed=0)
    pics = env.render()
    assert pics.shape == (2, 8 * 4, 8 * 4, 3) and pics.dtype == np.uint8
    assert not np.array_equal(pics[0], pics[1])


# ------------------------------------------------------------------------------------ optimal returns
def test_optimal_return_hand_checked_empty_5x5():
    # Empty-5x5: agent at (1, 1) facing right, goal at (3, 3), max_steps = 4 * 5**2 = 100. Shortest:
    # forward, forward, turn right, forward, forward = 5 steps -> 1 - 0.9 * 5 / 100 = 0.955.
    env = gymnasium.make("MiniGrid-Empty-5x5-v0")
    env.reset(seed=0)
    assert shortest_path(env) == [2, 2, 1, 2, 2]
    assert optimal_returns("MiniGrid-Empty-5x5-v0", [0, 1]) == pytest.approx([0.955, 0.955])


@pytest.mark.parametrize("task", ["lavagap-s7", "fourrooms"])
def test_optimal_returns_are_achieved_and_never_beaten(task):
    seeds = list(range(6))
    best = optimal_returns(task, seeds)
    assert ((best > 0) & (best < 1)).all()
    for seed, value in zip(seeds, best, strict=True):  # replaying the plan earns exactly the optimum
        env = gymnasium.make(resolve_task(task))
        env.reset(seed=seed)
        for a in shortest_path(env):
            _, r, te, _, _ = env.step(a)
        assert te and r == pytest.approx(value)
    # random play (first episode of each copy = seed i) never beats it
    env = MiniGridEnv(task, n=len(seeds), actions="nav")
    env.reset(seed=0)
    first = np.full(len(seeds), np.nan)
    rng = np.random.default_rng(0)
    for _ in range(400):
        _, _, te, tr, info = env.step(rng.integers(0, 3, len(seeds)))
        new = (te | tr) & np.isnan(first)
        first[new] = info["episode_return"][new]
    done = ~np.isnan(first)
    assert done.any() and (first[done] <= best[done] + 1e-12).all()


def test_optimal_returns_refuse_doors_and_keys():
    with pytest.raises(ValueError, match="cannot plan"):
        optimal_returns("doorkey-8x8", [0])
    assert reference_returns("minigrid", "doorkey-8x8", [0]) is None


def test_reference_returns():
    assert (
        reference_returns("minatar", "space-invaders", [0, 1]).tolist()
        == [MINATAR_DQN["space_invaders"].score] * 2
    )
    assert set(MINATAR_DQN) == set(GAMES)
    assert all(ref.source for ref in MINATAR_DQN.values())
    assert np.array_equal(
        reference_returns("minigrid", "fourrooms", [3, 4]), optimal_returns("fourrooms", [3, 4])
    )
    assert reference_returns("gym", "MiniGrid-Empty-5x5-v0", [0]) is None
    # Empty-8x8 with max_steps 64: 11 steps (5 forward, 1 turn, 5 forward) -> 1 - 0.9 * 11 / 64
    assert reference_returns("minigrid", "empty-8x8", [0], max_steps=64) == pytest.approx([1 - 0.9 * 11 / 64])
    assert reference_returns("minigrid", "empty-8x8", [0], max_steps=10) == pytest.approx(
        [0.0]
    )  # out of reach


# ----------------------------------------------------------------------------------------- generic gym
class ToyGrid(gymnasium.Env):
    """A (H, W) bool grid with one lit cell that walks right; terminates at the right edge.

    ``layout="hwc"`` shows the grid as an (H, W, 2) uint8 image instead (plane 1 = the column index).
    """

    def __init__(self, layout: str = "grid", width: int = 5) -> None:
        self.layout, self.W, self.H = layout, width, 3
        if layout == "grid":
            self.observation_space = spaces.Box(0, 1, (self.H, self.W), dtype=bool)
        else:
            self.observation_space = spaces.Box(0, 255, (self.H, self.W, 2), dtype=np.uint8)
        self.action_space = spaces.Discrete(2)

    def _obs(self):
        grid = np.zeros((self.H, self.W), dtype=bool)
        grid[self.row, self.col] = True
        if self.layout == "grid":
            return grid
        return np.stack([grid.astype(np.uint8), np.full((self.H, self.W), self.col, np.uint8)], -1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.row, self.col = int(self.np_random.integers(self.H)), 0
        return self._obs(), {}

    def step(self, action):
        self.col += int(action)
        return self._obs(), 1.0 + self.col, self.col == self.W - 1, False, {}


gymnasium.register("gridrl_test/ToyGrid-v0", entry_point=ToyGrid)


def test_gym_grid_and_image_conversions():
    env = GymEnv("gridrl_test/ToyGrid-v0", n=3, render_mode=None)
    assert env.obs_shape == (1, 3, 5) and env.n_actions == 2
    obs, _ = env.reset(seed=0)
    ref = ToyGrid()
    for i in range(3):
        raw, _ = ref.reset(seed=i)
        assert np.array_equal(obs[i, 0], raw.astype(np.uint8) * 255)
    check_contract(GymEnv("gridrl_test/ToyGrid-v0", n=2, render_mode=None))
    env = GymEnv("gridrl_test/ToyGrid-v0", n=2, env_kwargs={"layout": "hwc"}, render_mode=None)
    assert env.obs_shape == (2, 3, 5)
    obs, _ = env.reset(seed=1)
    raw, _ = ToyGrid("hwc").reset(seed=1)
    assert np.array_equal(obs[0], raw.transpose(2, 0, 1))
    pics = env.render()  # no render mode: drawn from the observations
    assert pics.shape == (2, 3, 5, 3)
    # a dict with an image key: MiniGrid's raw (object, colour, state) indices, channels first
    env = make_env("gym", "MiniGrid-Empty-5x5-v0", 2)
    obs, _ = env.reset(seed=0)
    raw, _ = gymnasium.make("MiniGrid-Empty-5x5-v0").reset(seed=0)
    assert env.obs_shape == (3, 7, 7) and np.array_equal(obs[0], raw["image"].transpose(2, 0, 1))
    assert env.render().shape == (2, 5 * 32, 5 * 32, 3)


def test_gym_termination_truncation_and_returns():
    # walking right (action 1) from column 0 of a 5-wide grid ends at step 4, rewards 2 + 3 + 4 + 5 = 14
    env = GymEnv("gridrl_test/ToyGrid-v0", n=2, render_mode=None)
    env.reset(seed=0)
    for _ in range(4):
        obs, r, te, tr, info = env.step(np.ones(2, dtype=np.int64))
    assert te.all() and not tr.any()
    assert (info["episode_return"] == 14).all() and (info["episode_length"] == 4).all()
    assert (info["final_obs"][:, 0, :, 4] == 255).any(1).all()  # last observation: the right column lit
    assert (obs[:, 0, :, 0] == 255).any(1).all()  # auto-reset: back at column 0
    # a TimeLimit of 3 steps: truncated first
    env = GymEnv("gridrl_test/ToyGrid-v0", n=2, max_steps=3, render_mode=None)
    env.reset(seed=0)
    for _ in range(3):
        _, _, te, tr, info = env.step(np.ones(2, dtype=np.int64))
    assert tr.all() and not te.any() and (info["episode_length"] == 3).all()


def test_gym_errors_are_one_line():
    with pytest.raises(ConfigError, match="CartPole-v1.*observation space Box") as e:
        GymEnv("CartPole-v1", n=1, render_mode=None)
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="'CartPole-v9' is not a registered gymnasium id") as e:
        make_env("gym", "CartPole-v9", 1)
    assert "\n" not in str(e.value) and "CartPole-v1" in str(e.value)  # the closest id is suggested
    with pytest.raises(ConfigError, match="env.id is required"):
        env_config("gym", "")


# ---------------------------------------------------------------------------------------- the factory
def test_factory_names():
    assert parse_env_name("minigrid/doorkey-8x8") == ("minigrid", "doorkey-8x8")
    env = make_env_from_name("minatar/space-invaders", 2, max_steps=50)
    assert isinstance(env, MinAtarEnv) and env.game == "space_invaders" and env.max_steps == 50
    assert resolve_task("keycorridor-s3r1") == "MiniGrid-KeyCorridorS3R1-v0"
    assert resolve_task("lava-gap-s5") == "MiniGrid-LavaGapS5-v0"  # not in TASKS: found in the registry
    env = make_env_from_name("minigrid/lavagap-s7", 1, max_steps=9, actions="nav")
    assert isinstance(env, MiniGridEnv) and env.n_actions == 3
    assert env.envs[0].unwrapped.max_steps == 9
    assert env_config("minatar", "breakout").max_steps == 10_000


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: make_env("minatar", "pong", 1),
            r"env.game='pong' is not allowed; choose one of asterix, breakout",
        ),
        (
            lambda: make_env("atari", "pong", 1),
            r"env.family='atari' is not allowed; choose one of minatar, minigrid, gym",
        ),
        (
            lambda: make_env("minigrid", "doorkey-9x9", 1),
            r"env.task='doorkey-9x9' is not a MiniGrid task; choose one of empty-8x8",
        ),
        (
            lambda: make_env("minatar", "breakout", 1, sticky=0.1),
            r"env.sticky is not a setting of minatar envs; choose among game|sticky_action_prob",
        ),
        (
            lambda: make_env("minatar", "breakout", 1, sticky_action_prob=1.5),
            r"env.sticky_action_prob=1.5 is out of range",
        ),
        (
            lambda: make_env("minigrid", "fourrooms", 1, actions="some"),
            r"env.actions='some' is not allowed; choose one of all, nav, keys",
        ),
        (lambda: make_env_from_name("breakout", 1), r"env='breakout' must read family/name"),
    ],
)
def test_factory_errors(call, pattern):
    with pytest.raises(ConfigError, match=pattern) as e:
        call()
    assert "\n" not in str(e.value)


def test_minigrid_keys_action_set_maps_to_minigrid_actions():
    """env.actions=keys: 5 actions, agent action 3 = pickup, 4 = toggle (MiniGrid's 3 and 5)."""
    env = MiniGridEnv("doorkey-8x8", n=1, actions="keys")
    assert env.n_actions == 5
    ref = gymnasium.make("MiniGrid-DoorKey-8x8-v0")
    env.reset(seed=3)
    ref.reset(seed=3)
    rng = np.random.default_rng(0)
    minigrid_action = (0, 1, 2, 3, 5)
    carried = False
    for a in rng.integers(0, 5, 600):  # the same episode step by step, with pickups and toggles
        obs, r, te, tr, _ = env.step(np.array([a]))
        ref_obs, ref_r, ref_te, ref_tr, _ = ref.step(minigrid_action[a])
        assert (r[0], te[0]) == (np.float32(ref_r), ref_te)
        if te[0] or tr[0]:
            break
        assert np.array_equal(obs[0], onehot(ref_obs["image"][None])[0])
        carried |= ref.unwrapped.carrying is not None
    assert carried  # the walk did pick the key up
