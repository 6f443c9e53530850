"""No silent knobs: every key of each learner's schema changes what that learner does.

For each learner the keys are enumerated from its schema (``dataclasses.fields``, recursively), so a key
added later is tested too. Each key is given another valid value and a short deterministic run on a
tiny game must end with other network weights than the same run without the change; a value that no
run can use (``agent.name`` of the other learner) must be refused by validation instead.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from conftest import TINY_GAME, compose_cfg
from gridrl.config import ConfigError, to_config
from gridrl.trainer import Trainer

TINY = [
    *TINY_GAME,
    "trainer.total_steps=1024",
    "trainer.eval_every=0",
    "trainer.eval_episodes=1",
    "trainer.checkpoint_every=0",
    "trainer.log_every=1000000",
    "agent.n_envs=8",
    "agent.epsilon.decay_steps=512",  # reached within the run, so epsilon.end matters
]
LEARNERS = {
    "pqn": ["agent=pqn"],
    "dqn": [
        "agent=dqn",
        "agent.buffer_size=1024",
        "agent.learning_starts=128",
        "agent.batch_size=32",
        "agent.target_update=16",
    ],
}
# values the generic rule (halve a number, double a 1, flip a bool, the other choice) would not make
# bite in a 1024-step run; and the switches a key is read under, set in both runs compared
VALUES = {"max_grad_norm": 0.01, "per_eps": 0.1}
CHOICES = {
    "clip": ("false", "true"),
    "loss": ("mse", "huber"),
    "schedule": ("linear", "exponential"),
    "name": ("dqn", "pqn"),
}
CONTEXT = {
    "loss": ["agent.reward.clip=false"],  # huber = mse for TD errors below 1: let the -300 enemy through
    "per_alpha": ["agent.prioritized=true"],
    "per_beta": ["agent.prioritized=true"],
    "per_eps": ["agent.prioritized=true"],
    "explore_episodic": ["agent.explore_bonus=1"],
}
REFUSED = {"name"}  # the learner is chosen by its preset (agent=dqn), never by agent.name


def keys(obj: Any, prefix: str = "agent") -> list[tuple[str, Any]]:
    """(dotted key, value) of every leaf of a schema instance."""
    out = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out += keys(value, f"{prefix}.{f.name}")
        else:
            out.append((f"{prefix}.{f.name}", value))
    return out


def other_value(key: str, value: Any) -> Any:
    last = key.rsplit(".", 1)[-1]
    if last in VALUES:
        return VALUES[last]
    if last in CHOICES:
        return next(c for c in CHOICES[last] if c != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return 2 if value == 1 else value // 2
    if isinstance(value, float):
        return value / 2 if value != 0 else 0.5
    raise AssertionError(f"{key}: no rule for a {type(value).__name__}; add one to VALUES")


@functools.cache
def trained_weights(overrides: tuple[str, ...]) -> dict[str, torch.Tensor]:
    node = compose_cfg([*TINY, *overrides])
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(to_config(node), run_dir, OmegaConf.to_yaml(node))
        trainer.run()
    assert trainer.learner.updates > 0
    return {k: v.clone() for k, v in trainer.learner.online.state_dict().items()}


def cases() -> list[tuple[str, str, Any]]:
    out = []
    for learner, overrides in LEARNERS.items():
        agent = to_config(compose_cfg([*TINY, *overrides])).agent
        out += [(learner, key, value) for key, value in keys(agent)]
    return out


def test_the_learners_keys_are_split_by_who_reads_them() -> None:
    pqn, dqn = (to_config(compose_cfg([*TINY, *LEARNERS[n]])).agent for n in ("pqn", "dqn"))
    pqn_keys, dqn_keys = {k for k, _ in keys(pqn)}, {k for k, _ in keys(dqn)}
    assert (
        "agent.batch_size" in dqn_keys - pqn_keys
    )  # the pqn minibatch is n_envs * rollout_steps / minibatches
    assert {"agent.q_lambda", "agent.minibatches"} <= pqn_keys - dqn_keys
    assert not any(k.startswith("agent.epsilon.eval") for k in pqn_keys | dqn_keys)  # trainer.eval_epsilon
    with pytest.raises(ConfigError, match="agent.batch_size is not a key of PQNConfig; only the dqn learner"):
        to_config(compose_cfg(["agent.batch_size=7"]))


@pytest.mark.parametrize(("learner", "key", "value"), cases(), ids=[f"{c[0]}-{c[1]}" for c in cases()])
def test_every_key_changes_what_the_learner_does(learner: str, key: str, value: Any) -> None:
    base = (*LEARNERS[learner], *CONTEXT.get(key.rsplit(".", 1)[-1], []))
    new = other_value(key, value)
    changed = (*base, f"{key}={new}")
    if key.rsplit(".", 1)[-1] in REFUSED:
        with pytest.raises(ConfigError, match=key):
            to_config(compose_cfg([*TINY, *changed]))
        return
    cfg = to_config(compose_cfg([*TINY, *changed]))
    assert OmegaConf.select(OmegaConf.structured(cfg), key) == new  # the run is given the value
    before, after = trained_weights(base), trained_weights(changed)
    assert any(not torch.equal(before[k], after[k]) for k in before), f"{key}={new} changed nothing"
