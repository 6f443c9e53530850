"""Networks, replay buffer, DQN and Q(lambda) targets, reward transforms and schedules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from conftest import compose_cfg, presets
from gridrl.agent.common import epsilon_at, epsilon_greedy, transform_reward
from gridrl.agent.dqn import dqn_targets
from gridrl.agent.networks import build_q_network
from gridrl.agent.pqn import q_lambda_targets
from gridrl.agent.replay import ReplayBuffer
from gridrl.config import ConfigError, EpsilonConfig, LayerConfig, ModelConfig, RewardConfig, to_config
from gridrl.game.grid import n_actions, obs_shape

# ------------------------------------------------------------------------------------------ networks


@pytest.mark.parametrize("model", presets("model"))
@pytest.mark.parametrize("env", ["default", "sentdex", "seed", "crowded"])
def test_every_model_preset_builds_for_every_game(model: str, env: str) -> None:
    cfg = to_config(compose_cfg([f"model={model}", f"env={env}"]))
    shape, na = obs_shape(cfg.env), n_actions(cfg.env)
    net = build_q_network(cfg.model, shape, na).eval()
    obs = torch.randint(0, 256, (5, *shape), dtype=torch.uint8)
    assert net(obs).shape == (5, na)


def test_seed_cnn_is_the_posts_network_layer_by_layer() -> None:
    cfg = to_config(compose_cfg(["model=seed_cnn", "env=seed"]))
    net = build_q_network(cfg.model, (3, 15, 15), 8)
    layers = list(net.body)
    kinds = [type(m).__name__ for m in layers]
    assert kinds == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Dropout",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Dropout",
        "Flatten",
        "Linear",
    ]
    c1, c2, d1 = layers[0], layers[4], layers[9]
    assert (c1.in_channels, c1.out_channels, c1.kernel_size, c1.padding) == (3, 100, (3, 3), (0, 0))
    assert (c2.in_channels, c2.out_channels, c2.kernel_size) == (100, 50, (2, 2))
    assert layers[3].p == 0.2 and layers[2].kernel_size == 2
    # 15 -> conv3 13 -> pool 6 -> conv2 5 -> pool 2: 50 * 2 * 2 features -> Dense 128 (no activation)
    assert (d1.in_features, d1.out_features) == (200, 128)
    assert isinstance(net.head, nn.Linear) and (net.head.in_features, net.head.out_features) == (128, 8)


def test_sentdex_cnn_shapes() -> None:
    cfg = to_config(compose_cfg(["model=sentdex_cnn", "env=sentdex"]))
    net = build_q_network(cfg.model, (3, 10, 10), 9)
    convs = [m for m in net.body if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [256, 256]
    linear = [m for m in net.body if isinstance(m, nn.Linear)]
    assert (linear[0].in_features, linear[0].out_features) == (256, 64)
    assert net.head.out_features == 9


def test_dueling_head_is_value_plus_centred_advantage() -> None:
    cfg = ModelConfig(
        layers=[LayerConfig(type="flatten"), LayerConfig(type="linear", features=8)], dueling=True
    )
    net = build_q_network(cfg, (3, 4, 4), 5).eval()
    obs = torch.randint(0, 256, (7, 3, 4, 4), dtype=torch.uint8)
    feats = net.body(obs.float() / 255)
    v, a = net.head.value(feats), net.head.advantage(feats)
    torch.testing.assert_close(net(obs), v + a - a.mean(1, keepdim=True))


def test_a_layer_that_shrinks_the_image_below_one_pixel_is_refused() -> None:
    cfg = ModelConfig(
        layers=[LayerConfig(type="conv", channels=4, kernel=5), LayerConfig(type="maxpool", kernel=2)]
    )
    with pytest.raises(ConfigError, match=r"model.layers\[1\] \(maxpool\).*below 1x1"):
        build_q_network(cfg, (3, 5, 5), 4)


# ------------------------------------------------------------------------------------------- replay
def _frame(v: int, shape=(1, 2, 2)) -> np.ndarray:
    return np.full(shape, v, dtype=np.uint8)


def _fill(buf: ReplayBuffer, steps: list[tuple[float, bool, bool]]) -> None:
    """One game; step t's obs is frame t, the final frame of a truncated step t is frame 100 + t."""
    for t, (r, term, trunc) in enumerate(steps):
        buf.add(
            _frame(t)[None],
            np.array([t % 3]),
            np.array([r], np.float32),
            np.array([term]),
            np.array([trunc]),
            _frame(100 + t)[None],
        )


def test_nstep_returns_stop_at_episode_ends_and_truncation_bootstraps_from_the_final_frame() -> None:
    g = 0.5
    buf = ReplayBuffer(capacity=64, n_envs=1, obs_shape=(1, 2, 2), n_step=3, gamma=g, max_episode_steps=4)
    #        t: 0          1           2 (terminal)  3          4          5 (timeout)   6          7 ...
    steps = [
        (1, 0, 0),
        (2, 0, 0),
        (4, 1, 0),
        (1, 0, 0),
        (1, 0, 0),
        (2, 0, 1),
        (1, 0, 0),
        (1, 0, 0),
        (1, 0, 0),
        (1, 0, 0),
    ]
    _fill(buf, steps)
    out = buf._gather(np.array([0, 1, 2, 3, 4, 6]), np.zeros(6, dtype=np.int64), np.ones(6, np.float32))
    np.testing.assert_allclose(
        out["returns"], [1 + g * 2 + g * g * 4, 2 + g * 4, 4, 1 + g * 1 + g * g * 2, 1 + g * 2, 1 + g + g * g]
    )
    np.testing.assert_allclose(out["discount"], [0, 0, 0, g**3, g**2, g**3])
    # bootstrap frames: terminated ones are unused; truncated step 5 -> its final frame 105; else obs[t+3]
    assert out["next_obs"][3, 0, 0, 0] == 105 and out["next_obs"][4, 0, 0, 0] == 105
    assert out["next_obs"][5, 0, 0, 0] == 9
    assert out["obs"][:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4, 6]


def test_frames_are_stored_once() -> None:
    shape = (3, 19, 19)
    frame = int(np.prod(shape))
    buf = ReplayBuffer(
        capacity=100_000, n_envs=16, obs_shape=shape, n_step=3, gamma=0.99, max_episode_steps=200
    )
    assert buf.obs.nbytes + buf.final_obs.nbytes <= 1.01 * 100_000 * frame
    assert buf.nbytes <= 1.05 * 100_000 * frame


def test_uniform_sampling_only_returns_transitions_with_stored_successors() -> None:
    buf = ReplayBuffer(capacity=40, n_envs=2, obs_shape=(1, 2, 2), n_step=2, gamma=0.9, max_episode_steps=50)
    rng = np.random.default_rng(0)
    for t in range(35):  # wraps the 20-slot ring
        buf.add(
            np.stack([_frame(t), _frame(t)]),
            np.array([0, 1]),
            np.array([1.0, 1.0], np.float32),
            np.array([False, False]),
            np.array([False, False]),
            np.zeros((2, 1, 2, 2), np.uint8),
        )
    batch = buf.sample(4096, rng)
    first = batch["obs"][:, 0, 0, 0].astype(int)
    assert first.min() == 35 - 20 and first.max() == 34 - 2  # oldest slot .. newest with 2 successors
    np.testing.assert_array_equal(batch["next_obs"][:, 0, 0, 0], first + 2)
    assert set(np.unique(batch["game"])) == {0, 1}


def test_prioritized_sampling_prefers_high_priority() -> None:
    buf = ReplayBuffer(
        capacity=40,
        n_envs=1,
        obs_shape=(1, 2, 2),
        n_step=1,
        gamma=0.9,
        max_episode_steps=50,
        prioritized=True,
        alpha=1.0,
    )
    for t in range(20):
        buf.add(
            _frame(t)[None],
            np.array([0]),
            np.array([0.0], np.float32),
            np.array([False]),
            np.array([False]),
            np.zeros((1, 1, 2, 2), np.uint8),
        )
    slots = np.arange(19)
    buf.update_priorities(slots, np.zeros(19, dtype=np.int64), np.where(slots == 5, 10.0, 1.0), eps=1e-9)
    batch = buf.sample(4000, np.random.default_rng(0), beta=1.0)
    hot = batch["slot"] == 5
    assert set(np.unique(batch["slot"])) == set(range(19))  # every stored transition is reachable
    assert hot.mean() == pytest.approx(10 / 28, abs=0.03)  # proportional to priority
    # importance weights undo the bias: (N * P)^-beta, normalised by the largest
    assert batch["weights"][~hot].max() == pytest.approx(1.0)
    assert batch["weights"][hot].max() == pytest.approx(0.1, rel=1e-4)


# ------------------------------------------------------------------------------------------ targets
def test_dqn_targets_double_terminal_truncated() -> None:
    returns = torch.tensor([1.0, 2.0, 3.0])
    discount = torch.tensor([0.9, 0.0, 0.81])  # mid-episode, terminated, truncated after 2 steps
    online = torch.tensor([[1.0, 5.0], [9.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]])
    # double: online argmax picks actions 1, 0, 1 evaluated by the target net
    torch.testing.assert_close(
        dqn_targets(returns, discount, online, target), torch.tensor([1 + 0.9 * 20, 2.0, 3 + 0.81 * 60])
    )
    # plain DQN: max of the target net
    torch.testing.assert_close(
        dqn_targets(returns, discount, None, torch.tensor([[10.0, 20.0], [30.0, 40.0], [70.0, 60.0]])),
        torch.tensor([1 + 0.9 * 20, 2.0, 3 + 0.81 * 70]),
    )


def _rollout():
    r = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]], dtype=np.float32)
    term = np.array([[0], [1], [0], [0], [0]], dtype=bool)
    trunc = np.array([[0], [0], [0], [1], [0]], dtype=bool)
    next_q = np.array([[10.0], [20.0], [30.0], [40.0], [50.0]], dtype=np.float32)
    final_q = np.array([[0.0], [0.0], [0.0], [7.0], [0.0]], dtype=np.float32)
    return r, term, trunc, next_q, final_q


def test_q_lambda_by_hand() -> None:
    g, lam = 0.9, 0.5
    r, term, trunc, nq, fq = _rollout()
    out = q_lambda_targets(r, term, trunc, nq, fq, g, lam)[:, 0]
    g4 = 5 + g * 50
    g3 = 4 + g * 7  # truncated: bootstraps from the true final state
    g2 = 3 + g * ((1 - lam) * 30 + lam * g3)
    g1 = 2.0  # terminated: no bootstrap
    g0 = 1 + g * ((1 - lam) * 10 + lam * g1)
    np.testing.assert_allclose(out, [g0, g1, g2, g3, g4], rtol=1e-6)


def test_q_lambda_zero_is_one_step_and_one_is_monte_carlo() -> None:
    g = 0.9
    r, term, trunc, nq, fq = _rollout()
    one_step = q_lambda_targets(r, term, trunc, nq, fq, g, 0.0)[:, 0]
    np.testing.assert_allclose(one_step, [1 + g * 10, 2, 3 + g * 30, 4 + g * 7, 5 + g * 50], rtol=1e-6)
    mc = q_lambda_targets(r, term, trunc, nq, fq, g, 1.0)[:, 0]
    np.testing.assert_allclose(mc, [1 + g * 2, 2, 3 + g * (4 + g * 7), 4 + g * 7, 5 + g * 50], rtol=1e-6)


# ------------------------------------------------------------------------------ transforms, schedules
def test_reward_transforms() -> None:
    r = np.array([-300.0, -1.0, 0.0, 25.0])
    np.testing.assert_allclose(transform_reward(r, RewardConfig(scale=0.04)), [-12, -0.04, 0, 1], rtol=1e-6)
    np.testing.assert_allclose(
        transform_reward(r, RewardConfig(scale=0.04, clip=True)), [-1, -0.04, 0, 1], rtol=1e-6
    )
    np.testing.assert_allclose(
        transform_reward(r, RewardConfig(symlog=True)), np.sign(r) * np.log1p(np.abs(r)), rtol=1e-6
    )
    assert transform_reward(r, RewardConfig()).dtype == np.float32


def test_epsilon_schedules() -> None:
    lin = EpsilonConfig(schedule="linear", start=1.0, end=0.1, decay_steps=100)
    assert [epsilon_at(s, lin) for s in (0, 50, 100, 1000)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    exp = EpsilonConfig(schedule="exponential", start=1.0, end=0.0, decay_steps=100)
    assert epsilon_at(100, exp) == pytest.approx(np.exp(-1)) and epsilon_at(0, exp) == 1.0


def test_epsilon_greedy_explores_at_the_given_rate() -> None:
    q = torch.tensor([[0.0, 1.0, 0.0]]).repeat(10_000, 1)
    acts = epsilon_greedy(q, 0.3, np.random.default_rng(0))
    assert (acts != 1).mean() == pytest.approx(0.3 * 2 / 3, abs=0.02)
    assert (epsilon_greedy(q, 0.0, np.random.default_rng(0)) == 1).all()
