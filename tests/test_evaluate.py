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
