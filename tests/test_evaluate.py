"""The evaluator: fixed layouts, oracle ratio, and the loop-stop rule."""

from __future__ import annotations

import numpy as np
import pytest

from gridrl.config import EnvConfig
from gridrl.evaluation import Evaluator
from gridrl.game.grid import ACTION_TABLES, OUTCOME_TIMEOUT, GridGame
from gridrl.game.oracle import oracle_returns


def obs_hash_policy(n_actions: int):
    """A deterministic function of the observation alone (as a greedy Q-network is)."""

    def act(obs: np.ndarray) -> np.ndarray:
        flat = obs.reshape(len(obs), -1).astype(np.int64)
        weights = np.arange(1, flat.shape[1] + 1, dtype=np.int64)
        return (flat @ weights // 255 * 7919) % n_actions

    return act


@pytest.mark.parametrize("obs_mode", ["ego", "rgb", "planes"])
@pytest.mark.parametrize("on_food", ["end", "remove"])
def test_loop_stop_books_exactly_what_full_play_would_give(obs_mode: str, on_food: str) -> None:
    cfg = EnvConfig(
        obs_mode=obs_mode, on_food=on_food, n_food=2 if on_food == "remove" else 1, height=6, width=6
    )
    ev = Evaluator(cfg, episodes=300, seed=3)
    policy = obs_hash_policy(9)
    stopped = ev.run(policy, loop_stop=True)
    full = ev.run(policy, loop_stop=False)
    assert stopped.loop_stopped.sum() > 50  # the rule fired often...
    np.testing.assert_array_equal(stopped.returns, full.returns)  # ...and changed nothing
    np.testing.assert_array_equal(stopped.outcomes, full.outcomes)
    assert not full.loop_stopped.any()


def test_standing_still_is_stopped_at_once_and_booked_as_a_timeout() -> None:
    cfg = EnvConfig(obs_mode="ego")
    ev = Evaluator(cfg, episodes=50, seed=0)
    res = ev.run(lambda obs: np.full(len(obs), 8))  # action 8 = stay
    assert res.loop_stopped.all()
    np.testing.assert_array_equal(res.returns, np.full(50, -200.0))
    assert (res.outcomes == OUTCOME_TIMEOUT).all() and (res.lengths == 200).all()


def test_no_loop_stop_when_the_game_is_not_deterministic() -> None:
    for cfg, eps in ((EnvConfig(enemy_motion="random"), 0.0), (EnvConfig(slip=0.1), 0.0), (EnvConfig(), 0.1)):
        res = Evaluator(cfg, episodes=20, seed=0).run(lambda obs: np.full(len(obs), 8), epsilon=eps)
        assert not res.loop_stopped.any()


def ego_greedy_policy(cfg: EnvConfig):
    """Step toward the nearest food, never onto an enemy, read from the ego view alone."""
    moves = ACTION_TABLES[cfg.actions]
    cy, cx = cfg.height - 1, cfg.width - 1

    def act(obs: np.ndarray) -> np.ndarray:
        n = len(obs)
        food, enemy, inside = obs[:, 0] > 0, obs[:, 1] > 0, obs[:, 2] > 0
        cost = np.zeros((n, len(moves)))
        for a, (dx, dy) in enumerate(moves):
            ny, nx = cy + dy, cx + dx
            stay = ~inside[:, ny, nx]  # a move off the grid is clamped: the player stays
            ny_, nx_ = np.where(stay, cy, ny), np.where(stay, cx, nx)
            ys, xs = np.nonzero(food.any(0))
            d = np.full(n, 1e9)
            for y, x in zip(ys, xs, strict=True):
                here = food[:, y, x]
                d = np.where(here, np.minimum(d, np.maximum(abs(y - ny_), abs(x - nx_))), d)
            cost[:, a] = d + 1e6 * enemy[np.arange(n), ny_, nx_]
        return cost.argmin(1)

    return act


def test_the_scripted_greedy_policy_scores_about_the_oracle() -> None:
    cfg = EnvConfig(obs_mode="ego")
    ev = Evaluator(cfg, episodes=500, seed=12345)
    game = GridGame(cfg, 500)
    game.reset(12345)
    np.testing.assert_array_equal(
        game.get_state()["player"], ev.layouts["player"]
    )  # layouts from the eval seed
    summary = ev.run(ego_greedy_policy(cfg)).summary()
    assert summary["oracle_ratio"] > 0.98 and summary["enemy_rate"] == 0.0
    assert summary["oracle_mean_return"] == pytest.approx(21.3, abs=0.5)
    assert set(summary) >= {
        "mean_return",
        "std_return",
        "min_return",
        "max_return",
        "food_rate",
        "enemy_rate",
        "timeout_rate",
        "oracle_ratio",
        "mean_length",
    }
    np.testing.assert_allclose(ev.oracle, oracle_returns(cfg, ev.layouts))


# ---------------------------------------------------------------------------------------- recording
def first_revisit(cfg: EnvConfig, layout: dict[str, np.ndarray], policy) -> tuple[int, bool]:
    """Play one layout alone: (steps, looped) where the loop rule stops it, else where it ends."""
    game = GridGame(cfg, 1)
    game.reset(0)
    obs = game.set_state(layout)
    seen = {(tuple(game.player[0]), int(game.food_alive.sum()))}
    for t in range(1, cfg.max_steps + 1):
        obs, _, term, trunc, _ = game.step(policy(obs))
        if term[0] or trunc[0]:
            return t, False
        key = (tuple(game.player[0]), int(game.food_alive.sum()))
        if key in seen:
            return t, True
        seen.add(key)
    raise AssertionError("unreachable: the game truncates at max_steps")


STATIC = EnvConfig(obs_mode="planes", on_food="remove", n_food=2, height=6, width=6, max_steps=40)


def test_recording_changes_no_score() -> None:
    cases = ((STATIC, 0.0), (EnvConfig(enemy_motion="random", max_steps=30), 0.0), (STATIC, 0.2))
    for cfg, eps in cases:
        ev = Evaluator(cfg, episodes=120, seed=4)
        policy = obs_hash_policy(9)
        plain = ev.run(policy, epsilon=eps)
        recorded = ev.run(policy, epsilon=eps, record=7)
        assert plain.recording is None and recorded.recording is not None
        for field in ("returns", "lengths", "outcomes", "loop_stopped"):
            np.testing.assert_array_equal(getattr(recorded, field), getattr(plain, field))
    with pytest.raises(ValueError, match="record=121"):
        ev.run(policy, record=121)


def test_recording_stops_a_looping_game_where_the_evaluator_does() -> None:
    ev = Evaluator(STATIC, episodes=60, seed=3)
    policy = obs_hash_policy(9)
    res = ev.run(policy, record=60)
    rec = res.recording
    assert rec is not None and rec.frames.shape[1:] == (60, 3, 6, 6) and rec.max_steps == 40
    assert 10 < rec.loop_stopped.sum() < 60  # both kinds of ending are recorded
    np.testing.assert_array_equal(rec.loop_stopped, res.loop_stopped)
    np.testing.assert_array_equal(rec.outcomes, res.outcomes)
    np.testing.assert_array_equal(rec.booked_returns, res.returns)
    for k in range(60):
        steps, looped = first_revisit(STATIC, {key: v[k : k + 1] for key, v in ev.layouts.items()}, policy)
        assert (rec.lengths[k], bool(rec.loop_stopped[k])) == (steps, looped)
        if not looped:
            assert rec.lengths[k] == res.lengths[k] and rec.returns[steps, k] == res.returns[k]
    assert rec.frames.shape[0] == rec.lengths.max() + 1 < STATIC.max_steps


def test_standing_still_is_recorded_for_one_step() -> None:
    res = Evaluator(EnvConfig(), episodes=5, seed=0).run(lambda obs: np.full(len(obs), 8), record=5)
    rec = res.recording
    assert rec is not None and (rec.lengths == 1).all() and rec.loop_stopped.all()
    np.testing.assert_array_equal(rec.frames[0], rec.frames[1])  # nothing moved
    np.testing.assert_array_equal(rec.returns[1], np.full(5, -1.0))
    np.testing.assert_array_equal(rec.booked_returns, np.full(5, -200.0))


def test_batch_recording_is_recording_one_by_one() -> None:
    """K games recorded in one batched evaluation = each game recorded alone (static game)."""
    cfg = EnvConfig(n_enemies=2, max_steps=30, obs_mode="ego")  # enemies end some games
    ev = Evaluator(cfg, episodes=12, seed=8)
    calls = []

    def policy(obs: np.ndarray) -> np.ndarray:
        calls.append(len(obs))
        return obs_hash_policy(9)(obs)

    batch = ev.run(policy, record=12).recording
    assert batch is not None and len(calls) == batch.frames.shape[0] - 1  # one policy call per step
    assert set(batch.outcomes.tolist()) >= {2, 3}  # enemy and timeout endings both recorded
    for k in range(12):
        alone = Evaluator(cfg, episodes=1, seed=8)
        alone.layouts = {key: v[k : k + 1] for key, v in ev.layouts.items()}
        one = alone.run(policy, record=1).recording
        assert one is not None
        L = int(batch.lengths[k])
        assert one.lengths[0] == L and one.frames.shape[0] == L + 1
        np.testing.assert_array_equal(one.frames[:, 0], batch.frames[: L + 1, k])
        np.testing.assert_array_equal(one.returns[:, 0], batch.returns[: L + 1, k])
        assert (one.outcomes[0], one.booked_returns[0]) == (batch.outcomes[k], batch.booked_returns[k])


def test_recorded_frames_show_each_step_and_the_final_state() -> None:
    cfg = EnvConfig(n_enemies=0, obs_mode="rgb", max_steps=30)
    ev = Evaluator(cfg, episodes=4, seed=2)
    rec = ev.run(ego_free_policy(cfg), record=4).recording
    assert rec is not None and (rec.outcomes == 1).all()  # all reach the food
    game = GridGame(cfg, 4)
    game.reset(0)
    obs = game.set_state(ev.layouts)
    np.testing.assert_array_equal(rec.frames[0], obs)
    for t in range(1, rec.frames.shape[0]):
        obs, _, term, _, info = game.step(ego_free_policy(cfg)(obs))
        live = t < rec.lengths
        np.testing.assert_array_equal(rec.frames[t][live], obs[live])
        ended = rec.lengths == t
        np.testing.assert_array_equal(rec.frames[t][ended], info["final_obs"][ended])


def ego_free_policy(cfg: EnvConfig):
    """rgb observations, no enemy: step toward the food (its colour)."""
    moves = ACTION_TABLES[cfg.actions]

    def act(obs: np.ndarray) -> np.ndarray:
        out = np.zeros(len(obs), dtype=np.int64)
        for i, o in enumerate(obs):
            (py,), (px,) = np.nonzero((o.transpose(1, 2, 0) == cfg.player_color).all(-1))
            fy, fx = np.nonzero((o.transpose(1, 2, 0) == cfg.food_color).all(-1))
            d = (int(np.sign(fx[0] - px)), int(np.sign(fy[0] - py)))
            out[i] = next(a for a, m in enumerate(moves) if tuple(m) == d)
        return out

    return act


def test_scores_carry_their_interval_over_the_layouts() -> None:
    """oracle_ratio and normalized_score are the ratios of means they claim to be, each inside its 95 %
    interval over the layouts; 4x the layouts halves the interval (the standard error's 1/sqrt(n))."""
    cfg = EnvConfig(obs_mode="ego", n_enemies=3)
    widths = []
    for episodes in (400, 1600):  # the oracle's moves with 10 % random ones: 1.5-2 % of games meet an enemy
        ev = Evaluator(cfg, episodes=episodes, seed=7)
        res = ev.run(ego_greedy_policy(cfg), epsilon=0.1, rng=np.random.default_rng(0))
        s = res.summary()
        ratio = res.returns.mean() / res.oracle.mean()
        norm = (res.returns.mean() - res.random.mean()) / (res.oracle.mean() - res.random.mean())
        assert s["oracle_ratio"] == pytest.approx(ratio) and s["normalized_score"] == pytest.approx(norm)
        for key in ("oracle_ratio", "normalized_score"):
            assert s[f"{key}_low"] < s[key] < s[f"{key}_high"]
        widths.append(s["oracle_ratio_high"] - s["oracle_ratio_low"])
    assert widths[1] == pytest.approx(widths[0] / 2, rel=0.2)
