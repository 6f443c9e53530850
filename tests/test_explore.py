"""agent.explore_bonus: the count-based bonus, its place in the Trainer and its part of a checkpoint."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import TINY_GAME, compose_cfg
from gridrl import tblog
from gridrl.agent.explore import CountBonus
from gridrl.config import ConfigError, to_config
from gridrl.trainer import Trainer


def frames(*values: int) -> np.ndarray:
    """One (2, 3, 3) uint8 observation per value, filled with it."""
    return np.stack([np.full((2, 3, 3), v, dtype=np.uint8) for v in values])


def test_bonus_is_beta_over_the_root_of_the_visits_so_far() -> None:
    bonus = CountBonus(0.5, (2, 3, 3), 4)
    np.testing.assert_allclose(bonus(frames(0, 7)), [0.5, 0.5])
    # repeats within one batch count in row order; a new observation starts at 1
    np.testing.assert_allclose(
        bonus(frames(7, 7, 9, 0)), [0.5 / np.sqrt(2), 0.5 / np.sqrt(3), 0.5, 0.5 / np.sqrt(2)]
    )
    assert bonus(frames(7)).dtype == np.float32
    assert sorted(bonus.counts.values()) == [1, 2, 4]


def test_observations_differing_in_one_byte_get_different_keys() -> None:
    rng = np.random.default_rng(0)
    obs = (rng.random((200, 6, 11, 11)) < 0.1).astype(np.uint8) * 255
    flipped = obs.copy()
    flipped[np.arange(200), rng.integers(0, 6, 200), rng.integers(0, 11, 200), rng.integers(0, 11, 200)] ^= (
        255
    )
    bonus = CountBonus(1.0, (6, 11, 11), 200)
    keys = np.concatenate([bonus.keys(obs), bonus.keys(flipped)])
    assert len(set(keys.tolist())) == 400
    np.testing.assert_array_equal(bonus.keys(obs.copy()), bonus.keys(obs))  # a function of the bytes only


def test_counts_survive_a_state_dict_round_trip() -> None:
    a = CountBonus(1.0, (2, 3, 3), 4)
    a(frames(1, 2, 2, 3))
    b = CountBonus(1.0, (2, 3, 3), 4)
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    np.testing.assert_array_equal(a(frames(2, 4)), b(frames(2, 4)))
    assert all(t.dtype == torch.int64 for t in a.state_dict().values())


def test_episodic_bonus_pays_a_first_visit_per_episode_only() -> None:
    """agent.explore_episodic: a revisit within a game's episode earns nothing, the lifetime counts still
    grow; a game whose episode ended (``done``) starts a fresh memory, the others keep theirs."""
    bonus = CountBonus(1.0, (2, 3, 3), 2, episodic=True)
    np.testing.assert_allclose(bonus(frames(5, 5)), [1.0, 1 / np.sqrt(2)])  # two games: both first visits
    np.testing.assert_allclose(bonus(frames(5, 6), np.array([True, False])), [0.0, 1.0])  # game 0 revisits
    assert bonus.counts[int(bonus.keys(frames(5))[0])] == 3
    # game 0's episode ended: 5 is new to it again; game 1 met 5 in this episode already
    np.testing.assert_allclose(bonus(frames(5, 5)), [1 / np.sqrt(4), 0.0])
    restored = CountBonus(1.0, (2, 3, 3), 2, episodic=True)
    restored.load_state_dict(copy.deepcopy(bonus.state_dict()))
    assert restored.seen == bonus.seen and restored.counts == bonus.counts
    plain = CountBonus(1.0, (2, 3, 3), 2)
    plain(frames(5, 5))
    assert plain(frames(5, 6)).tolist()[0] == pytest.approx(1 / np.sqrt(3))  # without: revisits still pay


def test_a_negative_bonus_is_refused() -> None:
    with pytest.raises(ConfigError, match="agent.explore_bonus"):
        to_config(compose_cfg(["agent.explore_bonus=-1"]))
    with pytest.raises(ConfigError, match="agent.explore_episodic=true needs agent.explore_bonus > 0"):
        to_config(compose_cfg(["agent.explore_episodic=true"]))


def trainer(tmp_path: Path, *overrides: str) -> Trainer:
    node = compose_cfg(
        [*TINY_GAME, "agent.n_envs=16", "trainer.eval_every=0", "trainer.log_every=256", *overrides]
    )
    return Trainer(to_config(node), tmp_path, OmegaConf.to_yaml(node))


def test_the_bonus_reaches_the_learner_and_not_the_scores(tmp_path: Path) -> None:
    """The learner's rollout rewards are the game's plus the bonus (then scaled); episode returns are the
    game's; the bonus is logged."""
    plain = trainer(tmp_path / "a", "trainer.total_steps=256", "agent.reward.clip=false")
    bonus = trainer(
        tmp_path / "b", "trainer.total_steps=256", "agent.reward.clip=false", "agent.explore_bonus=2"
    )
    plain.run()
    bonus.run()
    scale = plain.cfg.agent.reward.scale
    # the same seed: the same first rollout's actions and game rewards (epsilon 1 early on)
    diff = (bonus.learner.rewards - plain.learner.rewards) / scale
    assert torch.all(diff > 0) and torch.all(diff <= 2.0 + 1e-5)
    assert bool((diff == 2.0).any())  # first visits
    assert plain.recent_returns == bonus.recent_returns  # episode returns: the game's own
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "b" / "tb"))
    acc.Reload()
    assert tblog.EXPLORE_BONUS in acc.Tags()["scalars"]
    assert tblog.EXPLORE_BONUS not in EventAccumulator(str(tmp_path / "a" / "tb")).Reload().Tags()["scalars"]


@pytest.mark.parametrize("episodic", ["false", "true"])
def test_a_resumed_run_counts_on(tmp_path: Path, episodic: str) -> None:
    """A checkpoint carries the counts (and the episodes' memories): stop after the first step, resume,
    and the weights at 1024 equal an uninterrupted run's."""
    ov = ("agent.explore_bonus=1", "trainer.precision=fp32", f"agent.explore_episodic={episodic}")
    whole = trainer(tmp_path / "whole", "trainer.total_steps=1024", *ov)
    whole.run()
    first = trainer(tmp_path / "first", "trainer.total_steps=1024", "trainer.time_limit_s=1e-9", *ov)
    first.run()  # stops after its first loop iteration
    state = first.state_dict()
    assert len(state["explore"]["keys"]) > 0
    second = trainer(tmp_path / "second", "trainer.total_steps=1024", *ov)
    second.load_state_dict(copy.deepcopy(state))
    second.run()
    assert second.bonus is not None and whole.bonus is not None
    assert second.bonus.counts == whole.bonus.counts and second.bonus.seen == whole.bonus.seen
    for (k, a), b in zip(
        whole.learner.online.state_dict().items(), second.learner.online.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k


def test_an_external_env_resumes_with_fresh_episode_memories(tmp_path: Path) -> None:
    """A resumed external env restarts its games, so agent.explore_episodic's memories of the episodes in
    flight are dropped (the lifetime counts are kept); the built-in game keeps both (the test above)."""
    overrides = [
        "env=minigrid/empty-8x8",
        "env.actions=nav",
        "model=minigrid_cnn",
        "agent.n_envs=4",
        "agent.rollout_steps=8",
        "agent.minibatches=2",
        "trainer.total_steps=64",
        "trainer.eval_every=0",
        "trainer.eval_episodes=2",
        "trainer.threads=1",
        "agent.explore_bonus=1",
        "agent.explore_episodic=true",
    ]
    node = compose_cfg(overrides)
    first = Trainer(to_config(node), tmp_path / "a", OmegaConf.to_yaml(node))
    first.run()
    assert first.bonus is not None and any(first.bonus.seen)
    again = Trainer(to_config(node), tmp_path / "b", OmegaConf.to_yaml(node))
    again.load_state_dict(copy.deepcopy(first.state_dict()))
    assert again.bonus is not None and again.bonus.counts == first.bonus.counts
    assert not any(again.bonus.seen)
