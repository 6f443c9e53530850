"""The learners' update rules, unit by unit, against numbers computed by hand in the test: DQN's soft and
hard target updates, prioritized replay's importance weights as beta anneals, and one PQN update on a
hand-made rollout (Q(lambda) targets with a terminal and a truncation, the loss and the Adam step)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from conftest import compose_cfg
from gridrl.agent import dqn as dqn_module
from gridrl.agent.common import lr_at
from gridrl.agent.dqn import DQNLearner
from gridrl.agent.networks import build_q_network
from gridrl.agent.pqn import PQNLearner
from gridrl.config import to_config
from gridrl.game.grid import n_actions, obs_shape

CPU = torch.device("cpu")


# ----------------------------------------------------------------------------------------------- DQN
def _dqn(*overrides: str, total_steps: int = 1000) -> DQNLearner:
    """A tiny DQN whose every update call is exactly one gradient step (replay_ratio * n_envs = 1)."""
    cfg = to_config(
        compose_cfg(
            [
                "agent=dqn",
                "model=mlp",
                "env.height=3",
                "env.width=3",
                "agent.n_envs=4",
                "agent.buffer_size=256",
                "agent.learning_starts=0",
                "agent.batch_size=16",
                "agent.replay_ratio=0.25",
                *overrides,
            ]
        )
    )
    shape = obs_shape(cfg.env)
    torch.manual_seed(0)
    net = build_q_network(cfg.model, shape, n_actions(cfg.env))
    return DQNLearner(cfg.agent, net, shape, total_steps, CPU, 0, cfg.env.max_steps)


def _observe(learner: DQNLearner, rng: np.random.Generator, steps: int) -> None:
    n, shape = learner.cfg.n_envs, learner.replay.obs_shape
    for _ in range(steps):
        learner.observe(
            rng.integers(0, 2, (n, *shape), dtype=np.uint8) * 255,
            rng.integers(0, 9, n),
            rng.normal(size=n).astype(np.float32),
            rng.random(n) < 0.1,
            rng.random(n) < 0.1,
            rng.integers(0, 2, (n, *shape), dtype=np.uint8) * 255,
        )


def _params(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def test_soft_target_update_moves_the_target_tau_of_the_way_each_gradient_step() -> None:
    tau = 0.3
    learner = _dqn(f"agent.tau={tau}", "agent.target_update=1")  # a soft step every gradient step
    rng = np.random.default_rng(0)
    _observe(learner, rng, 6)
    for step in range(3):
        old_target = _params(learner.target)
        updates = learner.updates
        assert learner.update(100 + step) is not None and learner.updates == updates + 1
        online, target = _params(learner.online), _params(learner.target)
        for k, t in target.items():
            # tau * online + (1 - tau) * old target, parameter by parameter
            torch.testing.assert_close(t, tau * online[k] + (1 - tau) * old_target[k], rtol=1e-5, atol=1e-7)
            assert not torch.equal(t, old_target[k]) and not torch.equal(t, online[k]), k
        _observe(learner, rng, 1)


def test_hard_target_update_copies_every_target_update_gradient_steps() -> None:
    learner = _dqn("agent.tau=1.0", "agent.target_update=3")
    rng = np.random.default_rng(1)
    _observe(learner, rng, 6)
    expected = _params(learner.target)  # the initial copy of the online network
    for n in range(1, 7):
        learner.update(100 + n)
        assert learner.updates == n
        if n % 3 == 0:  # a copy of the online network as it is after this step; else unchanged
            assert any(not torch.equal(v, expected[k]) for k, v in _params(learner.online).items())
            expected = _params(learner.online)
        for k, t in _params(learner.target).items():
            assert torch.equal(t, expected[k]), (n, k)


def test_prioritized_replay_anneals_beta_to_one_and_weights_the_loss_with_it(monkeypatch) -> None:
    total, alpha, beta0 = 1000, 0.6, 0.4
    learner = _dqn(
        "agent.prioritized=true", f"agent.per_alpha={alpha}", f"agent.per_beta={beta0}", total_steps=total
    )
    replay = learner.replay
    seen: list[dict] = []
    real_sample, real_loss = replay.sample, dqn_module.td_loss

    def sample(batch_size, generator, beta=0.4):
        snapshot = replay.priorities.clone()
        batch = real_sample(batch_size, generator, beta)
        seen.append({"beta": beta, "priorities": snapshot, "batch": batch, "size": replay.size})
        return batch

    def loss(pred, target, kind, weights=None):
        seen[-1].update(pred=pred.detach(), target=target, weights_used=weights)
        return real_loss(pred, target, kind, weights)

    monkeypatch.setattr(replay, "sample", sample)
    monkeypatch.setattr(dqn_module, "td_loss", loss)
    rng = np.random.default_rng(2)
    _observe(learner, rng, 12)
    for _ in range(4):  # priorities that differ: each step writes |TD error| for its batch
        learner.update(0)
    for env_step, beta in ((0, beta0), (250, 0.55), (500, 0.7), (1000, 1.0), (4000, 1.0)):
        metrics = learner.update(env_step)
        assert metrics is not None
        got = seen[-1]
        assert got["beta"] == pytest.approx(beta, abs=1e-12), env_step
        batch = got["batch"]
        # the weights the loss used are the batch's, and they are (n P(i))^-beta / max by hand
        assert got["weights_used"] is batch["weights"]
        valid = got["size"] - learner.cfg.n_step  # no wrap yet: slots 0 .. size - n_step - 1
        pri = got["priorities"][:valid].double().pow(alpha)
        prob = pri / pri.sum()
        w = (valid * learner.cfg.n_envs * prob[batch["slot"], batch["game"]]).pow(-beta)
        torch.testing.assert_close(batch["weights"], (w / w.max()).float(), rtol=1e-5, atol=0)
        assert batch["weights"].min() < 0.99  # weights that matter: the test can tell beta's effect
        per = torch.nn.functional.smooth_l1_loss(got["pred"], got["target"], reduction="none")
        assert metrics["td_loss"] == pytest.approx(float((per * batch["weights"]).mean()), rel=1e-6)
    assert [round(s["beta"], 6) for s in seen[:4]] == [beta0] * 4


# ----------------------------------------------------------------------------------------------- PQN
def test_pqn_update_on_a_hand_made_rollout() -> None:
    """Two games, four steps. Game 0: step, step, terminated (food), step of a new episode. Game 1:
    step, truncated (timeout: bootstraps from its true final frame), step, step. Q(lambda) targets,
    the loss and the Adam step, all by hand from the network as it was while acting."""
    gamma, lam, scale, total, env_step = 0.9, 0.6, 0.5, 1000, 100
    cfg = to_config(
        compose_cfg(
            [
                "model=mlp",
                "env.height=2",
                "env.width=2",
                "agent.n_envs=2",
                "agent.rollout_steps=4",
                "agent.minibatches=1",
                "agent.epochs=1",
                f"agent.gamma={gamma}",
                f"agent.q_lambda={lam}",
                f"agent.reward.scale={scale}",
                "agent.reward.clip=false",
                "agent.lr=0.01",
            ]
        )
    )
    shape = obs_shape(cfg.env)
    torch.manual_seed(0)
    net = build_q_network(cfg.model, shape, n_actions(cfg.env))
    learner = PQNLearner(cfg.agent, net, shape, total, CPU, 0)
    before = copy.deepcopy(learner.online)

    rng = np.random.default_rng(3)
    frames = rng.integers(0, 2, (5, 2, *shape), dtype=np.uint8) * 255  # s_0 .. s_4 of both games
    final_frame = rng.integers(0, 2, (2, *shape), dtype=np.uint8) * 255  # game 1's frame at its timeout
    rewards = np.array([[-1.0, -1.0], [-1.0, -1.0], [25.0, -1.0], [-1.0, -1.0]], np.float32)
    term = np.array([[0, 0], [0, 0], [1, 0], [0, 0]], bool)
    trunc = np.array([[0, 0], [0, 1], [0, 0], [0, 0]], bool)
    actions, results = [], []
    for t in range(4):
        a = learner.act(frames[t], epsilon=0.5)
        actions.append(a)
        final_obs = np.where(trunc[t][:, None, None, None], final_frame, frames[t + 1])
        learner.observe(frames[t], a, rewards[t], term[t], trunc[t], final_obs, frames[t + 1])
        results.append(learner.update(env_step))
    assert results[:3] == [None] * 3 and results[3] is not None  # one update per full rollout

    def qmax(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return before(torch.as_tensor(x)).max(1).values.double().numpy()

    q = [qmax(frames[t]) for t in range(5)]  # q[t][game]: max_a Q(s_t) before the update
    final_q = qmax(final_frame)[1]
    r = rewards.astype(np.float64) * scale
    g, mix = gamma, (lambda t, game, nxt: (1 - lam) * q[t][game] + lam * nxt)  # noqa: E731
    g0_3 = r[3, 0] + g * q[4][0]  # the rollout's last step bootstraps from s_4
    g0_2 = r[2, 0]  # terminated: no bootstrap
    g0_1 = r[1, 0] + g * mix(2, 0, g0_2)
    g0_0 = r[0, 0] + g * mix(1, 0, g0_1)
    g1_3 = r[3, 1] + g * q[4][1]
    g1_2 = r[2, 1] + g * mix(3, 1, g1_3)
    g1_1 = r[1, 1] + g * final_q  # truncated: the true final frame, not the next episode's s_2
    g1_0 = r[0, 1] + g * mix(1, 1, g1_1)
    targets = torch.tensor([[g0_0, g1_0], [g0_1, g1_1], [g0_2, g1_2], [g0_3, g1_3]], dtype=torch.float32)

    # one gradient step on all 8 transitions (minibatches=1), MSE loss, Adam with the annealed lr
    obs = torch.as_tensor(frames[:4]).reshape(8, *shape)
    act = torch.as_tensor(np.stack(actions)).reshape(8)
    hand = copy.deepcopy(before).train()
    q_sa = hand(obs).gather(1, act[:, None]).squeeze(1)
    loss = 0.5 * (q_sa - targets.reshape(8)).pow(2).mean()
    opt = torch.optim.Adam(hand.parameters(), lr=lr_at(env_step, total, cfg.agent), eps=cfg.agent.adam_eps)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(hand.parameters(), cfg.agent.max_grad_norm)
    opt.step()

    assert learner.updates == 1 and learner.t == 0
    assert results[3]["td_loss"] == pytest.approx(float(loss.detach()), rel=1e-5)
    for k, v in hand.state_dict().items():
        torch.testing.assert_close(learner.online.state_dict()[k], v, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(v, before.state_dict()[k]) for k, v in hand.state_dict().items())
