"""Networks, replay buffer, DQN and Q(lambda) targets, reward transforms and schedules."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from conftest import compose_cfg, presets
from gridrl.agent.common import epsilon_at, epsilon_greedy, transform_reward
from gridrl.agent.dqn import DQNLearner, dqn_targets
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


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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
    out = buf._gather(torch.tensor([0, 1, 2, 3, 4, 6]), torch.ones(6))  # one game: row = slot
    torch.testing.assert_close(
        out["returns"],
        torch.tensor([1 + g * 2 + g * g * 4, 2 + g * 4, 4, 1 + g * 1 + g * g * 2, 1 + g * 2, 1 + g + g * g]),
    )
    torch.testing.assert_close(out["discount"], torch.tensor([0, 0, 0, g**3, g**2, g**3]))
    # bootstrap frames: terminated ones are unused; truncated step 5 -> its final frame 105; else obs[t+3]
    assert out["next_obs"][3, 0, 0, 0] == 105 and out["next_obs"][4, 0, 0, 0] == 105
    assert out["next_obs"][5, 0, 0, 0] == 9
    assert out["obs"][:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4, 6]
    assert out["actions"].tolist() == [0, 1, 2, 0, 1, 0]
    assert out["slot"].tolist() == [0, 1, 2, 3, 4, 6] and out["game"].tolist() == [0] * 6


def test_timeouts_bootstrap_from_their_own_final_frame_after_both_rings_wrap() -> None:
    """Many games, a ring that wraps several times, timeouts at every game's own pace: every sampled
    truncated transition must see exactly its own final frame (the side ring keeps what is referenced)."""
    n_envs, T, n_step = 3, 5, 2
    buf = ReplayBuffer(
        capacity=n_envs * 23,
        n_envs=n_envs,
        obs_shape=(1, 1, 2),
        n_step=n_step,
        gamma=0.9,
        max_episode_steps=T,
    )
    rng = np.random.default_rng(0)
    t_in_ep = np.zeros(n_envs, dtype=int)
    for t in range(200):  # obs value encodes (t, game); final frame 255 - (t % 100) marks the step
        term = (rng.random(n_envs) < 0.1) & (t_in_ep < T - 1)
        trunc = t_in_ep == T - 1
        obs = np.stack([np.full((1, 1, 2), [t % 250, g], np.uint8) for g in range(n_envs)])
        final = np.stack([np.full((1, 1, 2), [255 - t % 100, g], np.uint8) for g in range(n_envs)])
        buf.add(obs, np.zeros(n_envs), np.zeros(n_envs, np.float32), term, trunc, final)
        t_in_ep = np.where(term | trunc, 0, t_in_ep + 1)
    batch = buf.sample(4096, _gen())
    slot, game = batch["slot"], batch["game"]
    ended = torch.zeros_like(slot, dtype=torch.bool)
    checked = 0
    for k in range(n_step):
        s = (slot + k) % buf.slots
        hit = buf.truncated[s, game] & ~ended
        t_of_step = buf.obs[s, game, 0, 0, 0].long()
        want = 255 - (t_of_step % 100)
        assert torch.equal(batch["next_obs"][hit, 0, 0, 0].long(), want[hit])
        assert torch.equal(batch["next_obs"][hit, 0, 0, 1], game[hit].to(torch.uint8))
        checked += int(hit.sum())
        ended |= buf.terminated[s, game] | buf.truncated[s, game]
    assert checked > 100


def test_frames_are_stored_once() -> None:
    shape = (3, 19, 19)
    frame = int(np.prod(shape))
    buf = ReplayBuffer(
        capacity=100_000, n_envs=16, obs_shape=shape, n_step=3, gamma=0.99, max_episode_steps=200
    )
    assert buf.obs.nbytes + buf.final_obs.nbytes <= 1.01 * 100_000 * frame
    assert buf.nbytes <= 1.05 * 100_000 * frame


def _fill_two_games(buf: ReplayBuffer, steps: int) -> None:
    for t in range(steps):
        buf.add(
            np.stack([_frame(t), _frame(t)]),
            np.array([0, 1]),
            np.array([1.0, 1.0], np.float32),
            np.array([False, False]),
            np.array([False, False]),
            np.zeros((2, 1, 2, 2), np.uint8),
        )


def test_uniform_sampling_only_returns_transitions_with_stored_successors() -> None:
    buf = ReplayBuffer(capacity=40, n_envs=2, obs_shape=(1, 2, 2), n_step=2, gamma=0.9, max_episode_steps=50)
    _fill_two_games(buf, 35)  # wraps the 20-slot ring
    batch = buf.sample(4096, _gen())
    first = batch["obs"][:, 0, 0, 0].long()
    assert first.min() == 35 - 20 and first.max() == 34 - 2  # oldest slot .. newest with 2 successors
    assert torch.equal(batch["next_obs"][:, 0, 0, 0].long(), first + 2)
    assert set(batch["game"].tolist()) == {0, 1}
    assert torch.equal(batch["actions"], batch["game"])  # game g always played action g
    assert torch.equal(batch["obs"][:, 0, 0, 0], buf.obs[batch["slot"], batch["game"], 0, 0, 0])
    assert batch["obs"].dtype == torch.uint8 and batch["weights"].dtype == torch.float32


def test_sampling_with_a_seeded_generator_is_reproducible() -> None:
    for prioritized in (False, True):
        buf = ReplayBuffer(40, 2, (1, 2, 2), 2, 0.9, 50, prioritized=prioritized)
        _fill_two_games(buf, 35)
        a, b = buf.sample(256, _gen(7), 0.5), buf.sample(256, _gen(7), 0.5)
        for k in a:
            assert torch.equal(a[k], b[k]), k
        assert not torch.equal(a["slot"], buf.sample(256, _gen(8), 0.5)["slot"])


def _random_step(
    rng: np.random.Generator, n: int, frame: tuple[int, ...], p_term: float, p_trunc: float
) -> tuple[np.ndarray, ...]:
    """Random arguments of ``ReplayBuffer.add`` for ``n`` games."""
    return (
        rng.integers(0, 256, (n, *frame), dtype=np.uint8),
        rng.integers(0, 5, n),
        rng.normal(size=n).astype(np.float32),
        rng.random(n) < p_term,
        rng.random(n) < p_trunc,
        rng.integers(0, 256, (n, *frame), dtype=np.uint8),
    )


def test_numpy_and_torch_inputs_give_identical_buffers() -> None:
    rng = np.random.default_rng(0)
    bufs = [ReplayBuffer(48, 3, (2, 3, 3), 3, 0.9, 4, prioritized=True) for _ in range(2)]
    for _ in range(30):
        step = _random_step(rng, 3, (2, 3, 3), 0.2, 0.3)
        bufs[0].add(*step)
        bufs[1].add(*(torch.from_numpy(x) for x in step))
    a, b = (buf.state_dict() for buf in bufs)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(torch.as_tensor(a[k]), torch.as_tensor(b[k])), k


def test_state_dict_round_trip_gives_identical_samples() -> None:
    rng = np.random.default_rng(1)
    src = ReplayBuffer(60, 3, (1, 2, 2), 3, 0.9, 5, prioritized=True)
    for _ in range(47):  # wraps the 20-slot ring
        src.add(*_random_step(rng, 3, (1, 2, 2), 0.1, 0.2))
    b = src.sample(32, _gen(3))
    src.update_priorities(b["slot"], b["game"], torch.linspace(0.0, 5.0, 32), eps=1e-3)
    state = src.state_dict()
    assert state["obs"].data_ptr() == src.obs.data_ptr()  # on the CPU the state shares the memory
    assert all(isinstance(v, (torch.Tensor, int)) for v in state.values())
    dst = ReplayBuffer(60, 3, (1, 2, 2), 3, 0.9, 5, prioritized=True)
    dst.load_state_dict(state)
    gen_a, gen_b = _gen(11), _gen(11)
    for _ in range(3):
        a, b = src.sample(64, gen_a, 0.7), dst.sample(64, gen_b, 0.7)
        for k in a:
            assert torch.equal(a[k], b[k]), k
    assert float(dst.max_priority) == pytest.approx(5.0 + 1e-3)
    # the next add continues identically too (ring pointers, side ring, max priority)
    for buf in (src, dst):
        frames = np.ones((3, 1, 2, 2), np.uint8)
        buf.add(frames, np.ones(3), np.ones(3, np.float32), [0, 0, 1], [1, 1, 0], 9 * frames)
    for k, v in src.state_dict().items():
        assert torch.equal(torch.as_tensor(v), torch.as_tensor(dst.state_dict()[k])), k


def test_load_state_dict_refuses_another_shape() -> None:
    state = ReplayBuffer(40, 2, (1, 2, 2), 2, 0.9, 50).state_dict()
    with pytest.raises(ValueError, match="replay obs"):
        ReplayBuffer(40, 2, (1, 3, 3), 2, 0.9, 50).load_state_dict(state)


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
    slots = torch.arange(19)
    td = torch.where(slots == 5, 10.0, 1.0)
    buf.update_priorities(slots, torch.zeros(19, dtype=torch.int64), td, eps=1e-9)
    assert float(buf.max_priority) == pytest.approx(10.0)
    batch = buf.sample(4000, _gen(), beta=1.0)
    hot = batch["slot"] == 5
    assert set(batch["slot"].tolist()) == set(range(19))  # every stored transition is reachable
    assert hot.float().mean().item() == pytest.approx(10 / 28, abs=0.03)  # proportional to priority
    # importance weights undo the bias: (N * P)^-beta, normalised by the largest
    assert batch["weights"][~hot].max().item() == pytest.approx(1.0)
    assert batch["weights"][hot].max().item() == pytest.approx(0.1, rel=1e-4)


def test_prioritized_sampling_over_a_wrapped_ring_skips_the_newest_slots() -> None:
    buf = ReplayBuffer(40, 2, (1, 2, 2), 2, 0.9, 50, prioritized=True, alpha=0.0)  # alpha 0: uniform
    _fill_two_games(buf, 35)  # pos 15: valid slots 15..19 then 0..12
    batch = buf.sample(4096, _gen(), beta=1.0)
    first = batch["obs"][:, 0, 0, 0].long()
    assert first.min() == 15 and first.max() == 32 and len(set(first.tolist())) == 18
    assert torch.equal(batch["next_obs"][:, 0, 0, 0].long(), first + 2)
    torch.testing.assert_close(batch["weights"], torch.ones(4096))


def test_duplicate_priority_updates_keep_the_largest() -> None:
    buf = ReplayBuffer(40, 1, (1, 2, 2), 1, 0.9, 50, prioritized=True)
    _fill(buf, [(0.0, False, False)] * 5)
    buf.update_priorities(
        torch.tensor([2, 2, 3]), torch.zeros(3, dtype=torch.int64), torch.tensor([3.0, -7.0, 1.0]), 0.0
    )
    assert buf.priorities[:5, 0].tolist() == [1.0, 1.0, 7.0, 1.0, 1.0]
    buf.add(
        _frame(0)[None],
        np.zeros(1),
        np.zeros(1, np.float32),
        np.zeros(1, bool),
        np.zeros(1, bool),
        _frame(0)[None],
    )
    assert buf.priorities[5, 0].item() == 7.0  # new transitions get the largest priority seen


# --------------------------------------------------------------------------------------- DQN learner
def _dqn_learner(seed: int = 0, learning_starts: int = 0) -> DQNLearner:
    cfg = to_config(
        compose_cfg(
            [
                "agent=dqn",
                "model=mlp",
                "env.height=5",
                "env.width=5",
                "agent.n_envs=4",
                "agent.buffer_size=256",
                f"agent.learning_starts={learning_starts}",
                "agent.batch_size=8",
                "agent.replay_ratio=0.5",
                "agent.prioritized=true",
            ]
        )
    )
    shape = obs_shape(cfg.env)
    torch.manual_seed(seed)
    net = build_q_network(cfg.model, shape, n_actions(cfg.env))
    return DQNLearner(cfg.agent, net, shape, 1000, torch.device("cpu"), seed, cfg.env.max_steps)


def _feed(learner: DQNLearner, steps: int, as_tensors: bool = False) -> list[float]:
    rng = np.random.default_rng(5)
    n, shape = learner.cfg.n_envs, learner.replay.obs_shape
    losses = []
    for t in range(steps):
        step = [
            rng.integers(0, 2, (n, *shape), dtype=np.uint8),
            rng.integers(0, 4, n),
            rng.normal(size=n).astype(np.float32),
            rng.random(n) < 0.1,
            rng.random(n) < 0.1,
            rng.integers(0, 2, (n, *shape), dtype=np.uint8),
        ]
        if as_tensors:  # what a learner that keeps the observations on its device hands over
            step = [torch.from_numpy(x) if i != 2 else x for i, x in enumerate(step)]
        learner.observe(*step)
        out = learner.update(t * n)
        if out is not None:
            losses.append(out["td_loss"])
    return losses


def test_dqn_learns_the_same_from_numpy_and_tensor_observations() -> None:
    a, b = _dqn_learner(), _dqn_learner()
    la, lb = _feed(a, 20), _feed(b, 20, as_tensors=True)
    assert la == lb and len(la) > 5
    for k, v in a.online.state_dict().items():
        assert torch.equal(v, b.online.state_dict()[k]), k


def test_dqn_state_dict_round_trip_continues_identically() -> None:
    src = _dqn_learner()
    _feed(src, 15)
    state = src.state_dict()
    assert state["replay_generator"].dtype == torch.uint8 and state["replay_generator_device"] == "cpu"
    buf = io.BytesIO()
    torch.save(state, buf)  # as a checkpoint (loaded as data only): nothing aliases the source either
    buf.seek(0)
    dst = _dqn_learner(seed=1)  # another seed: everything that matters must come from the state
    dst.load_state_dict(torch.load(buf, weights_only=True))
    assert torch.equal(src.generator.get_state(), dst.generator.get_state())
    assert _feed(src, 10) == _feed(dst, 10)
    for k, v in src.online.state_dict().items():
        assert torch.equal(v, dst.online.state_dict()[k]), k


def test_dqn_resumed_without_its_replay_collects_learning_starts_again(caplog) -> None:
    src = _dqn_learner(learning_starts=40)
    assert _feed(src, 20)  # 80 env steps: updating
    dst = _dqn_learner(learning_starts=40)
    with caplog.at_level("WARNING"):
        dst.load_state_dict(src.state_dict(with_replay=False))
    assert "without its replay" in caplog.text
    rng = np.random.default_rng(5)
    n, shape = dst.cfg.n_envs, dst.replay.obs_shape
    held_when_updated = []
    for t in range(20):  # env steps go on from 80, the replay starts empty
        frames = rng.integers(0, 2, (n, *shape), dtype=np.uint8)
        dst.observe(
            frames,
            rng.integers(0, 4, n),
            np.zeros(n, np.float32),
            np.zeros(n, bool),
            np.zeros(n, bool),
            frames,
        )
        if dst.update(80 + t * n) is not None:
            held_when_updated.append(len(dst.replay))
    assert held_when_updated and min(held_when_updated) == 40


def test_dqn_state_from_another_device_kind_keeps_the_seeded_generator(caplog) -> None:
    src, dst = _dqn_learner(), _dqn_learner(seed=1)
    state = src.state_dict()
    state["replay_generator"] = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's state
    state["replay_generator_device"] = "cuda"
    before = dst.generator.get_state()
    dst.load_state_dict(state)
    assert torch.equal(dst.generator.get_state(), before)
    assert "replay sampling generator not restored" in caplog.text


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


def _rollout() -> tuple[torch.Tensor, ...]:
    r = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0]])
    term = torch.tensor([[0], [1], [0], [0], [0]], dtype=torch.bool)
    trunc = torch.tensor([[0], [0], [0], [1], [0]], dtype=torch.bool)
    next_q = torch.tensor([[10.0], [20.0], [30.0], [40.0], [50.0]])
    final_q = torch.tensor([[0.0], [0.0], [0.0], [7.0], [0.0]])
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


def test_a_new_budget_continues_the_annealed_values_and_the_same_one_changes_nothing() -> None:
    from gridrl.agent.common import Segment, lr_at

    cfg = to_config(compose_cfg(["agent=dqn", "agent.lr_anneal=true", "agent.prioritized=true"])).agent
    first = Segment(0, 1000, cfg.lr, cfg.per_beta)
    assert [first.lr_at(s, cfg) for s in (0, 250, 1000, 1200)] == [
        lr_at(s, 1000, cfg) for s in (0, 250, 1000, 1200)
    ]
    assert first.rebased(400, 1000, cfg) is first  # the same budget: the same segment, the same numbers
    longer = first.rebased(400, 2000, cfg)
    assert (longer.lr_at(400, cfg), longer.per_beta_at(400)) == (
        first.lr_at(400, cfg),
        first.per_beta_at(400),
    )
    steps = range(400, 2001, 100)
    lrs, betas = [longer.lr_at(s, cfg) for s in steps], [longer.per_beta_at(s) for s in steps]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] == 0.0  # down from there to 0 at the new end
    assert betas == sorted(betas) and betas[-1] == 1.0
    assert longer.lr_at(1200, cfg) == pytest.approx(first.lr_at(400, cfg) * 0.5)  # halfway: half of it
    constant = to_config(compose_cfg(["agent=dqn"])).agent
    assert Segment(0, 1000, constant.lr).rebased(400, 2000, constant).lr_at(1500, constant) == constant.lr
