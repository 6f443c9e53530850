"""What ``experiment=crowded`` means, as its preset files and the README describe it: the crowded game
(15x15, 3 food that respawn when eaten, 3 random-walking enemies, 200 steps, fovea view) with the default
learner, rewards scaled but not clipped, and a 20M env step budget; nothing else changes. Then the game
itself is played to check that it behaves that way."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from conftest import compose_cfg
from gridrl.agent.common import lr_at, transform_reward
from gridrl.config import Config, to_config
from gridrl.game.grid import OUTCOME_ENEMY, OUTCOME_FOOD, OUTCOME_TIMEOUT, GridGame

# what conf/env/crowded.yaml and conf/experiment/crowded.yaml document, key by key
CROWDED = {
    "env.height": 15,
    "env.width": 15,
    "env.n_food": 3,
    "env.on_food": "respawn",
    "env.n_enemies": 3,
    "env.enemy_motion": "random",
    "agent.reward.clip": "false",  # auto: a long game with moving enemies (the default game clips)
    "trainer.total_steps": 20_000_000,
    "trainer.eval_every": 1_000_000,
    "trainer.checkpoint_every": 2_000_000,
    "name": "crowded-pqn",
}


def flat(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            out[prefix] = value

    walk("", dataclasses.asdict(cfg))
    return out


def test_crowded_experiment_is_the_crowded_game_unclipped_with_a_20m_budget() -> None:
    default, crowded = to_config(compose_cfg([])), to_config(compose_cfg(["experiment=crowded"]))
    a, b = flat(default), flat(crowded)
    assert a.keys() == b.keys()
    changed = {k: b[k] for k in b if a[k] != b[k]}
    assert changed == CROWDED  # exactly the documented keys, nothing else (the learner is the default)
    game = crowded.env
    assert (game.max_steps, game.obs_mode, game.food_motion, game.actions) == (
        200,
        "fovea",
        "static",
        "sentdex9",
    )
    # rewards scaled but not clipped: an enemy costs 12 food, not 1 as with clipping
    reward = crowded.agent.reward
    assert reward.scale == default.agent.reward.scale == 0.04 and default.agent.reward.clip == "true"
    learned = transform_reward(np.array([game.enemy_reward, game.food_reward]), reward)
    assert learned[0] / learned[1] == game.enemy_reward / game.food_reward == -12
    clipped = transform_reward(np.array([game.enemy_reward, game.food_reward]), default.agent.reward)
    assert clipped[0] / clipped[1] == -1
    # the learning rate anneals over the 20M steps
    agent = crowded.agent
    assert agent.lr_anneal and lr_at(10_000_000, crowded.trainer.total_steps, agent) == agent.lr / 2


def test_the_crowded_game_keeps_three_food_and_moves_three_enemies() -> None:
    env = to_config(compose_cfg(["experiment=crowded"])).env
    n = 64
    game = GridGame(env, n)
    obs, _ = game.reset(seed=0)
    assert obs.shape == (n, 6, 11, 11)  # fovea view: the same on every grid
    rng = np.random.default_rng(0)
    moved = np.zeros((n, env.n_enemies), bool)
    outcomes, lengths, food_steps = [], [], 0
    for _ in range(3 * env.max_steps):
        enemies = game.enemy.copy()
        _, reward, term, trunc, info = game.step(rng.integers(0, game.n_actions, n))
        alive = ~(term | trunc)
        moved[alive] |= (game.enemy[alive] != enemies[alive]).any(-1)
        assert (game.food_alive.sum(1) == env.n_food).all()  # eaten food respawns at once
        ate = reward == env.food_reward
        food_steps += int(ate.sum())
        assert not term[ate].any()  # eating does not end the episode
        done = term | trunc
        outcomes += info["outcome"][done].tolist()
        lengths += info["episode_length"][done].tolist()
    assert food_steps > 0 and moved.all()  # every enemy of every game walked
    outcomes, lengths = np.array(outcomes), np.array(lengths)
    assert set(outcomes.tolist()) <= {OUTCOME_ENEMY, OUTCOME_TIMEOUT} and OUTCOME_FOOD not in outcomes
    assert (lengths[outcomes == OUTCOME_TIMEOUT] == env.max_steps).all() and (lengths <= env.max_steps).all()
    assert (outcomes == OUTCOME_ENEMY).any() and (outcomes == OUTCOME_TIMEOUT).any()
