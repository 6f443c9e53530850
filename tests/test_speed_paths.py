"""The fast paths compute what the plain ones do: banded convolutions, bf16, the rollout mechanics."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from gridrl.agent import pqn
from gridrl.agent.networks import BandedBody, build_q_network
from gridrl.config import LayerConfig, ModelConfig, load_env_config
from gridrl.game.grid import GridGame
from gridrl.trainer import make_learner, resolve_conv, resolve_precision

CPU = torch.device("cpu")


def _net(layers: list[dict], shape: tuple[int, int, int], seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    cfg = ModelConfig(layers=[LayerConfig(**layer) for layer in layers])
    return build_q_network(cfg, shape, 9)


EGO = [
    {"type": "conv", "channels": 16, "kernel": 3, "stride": 2},
    {"type": "relu"},
    {"type": "conv", "channels": 32, "kernel": 3, "stride": 2},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear", "features": 256},
    {"type": "relu"},
]
BODIES = {
    "ego_cnn": (EGO, (3, 19, 19)),
    "small_cnn, 10x10": (
        [
            {"type": "conv", "channels": 16, "kernel": 3, "stride": 1},
            {"type": "relu"},
            {"type": "conv", "channels": 32, "kernel": 3, "stride": 2},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "linear", "features": 64},
            {"type": "tanh"},
        ],
        (3, 10, 10),
    ),
    "one conv 4x4 stride 3, elu, 2 channels, 13x11": (
        [
            {"type": "conv", "channels": 8, "kernel": 4, "stride": 3},
            {"type": "elu"},
            {"type": "flatten"},
            {"type": "linear", "features": 32},
        ],
        (2, 13, 11),
    ),
}


def _pass(net: torch.nn.Module, obs: torch.Tensor, bf16: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Q-values and the flat gradient of a TD-like loss."""
    net.zero_grad()
    actions = torch.arange(len(obs)) % 9
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        q = net(obs)
    ((q.gather(1, actions[:, None]).squeeze(1) - 0.1).pow(2).mean()).backward()
    return q.detach(), torch.cat([p.grad.flatten() for p in net.parameters()])


def _obs(shape: tuple[int, int, int], n: int = 96) -> torch.Tensor:
    return (torch.rand(n, *shape, generator=torch.Generator().manual_seed(1)) < 0.15).to(torch.uint8) * 255


@pytest.mark.parametrize("name", list(BODIES))
def test_banded_fp32_matches_conv2d(name: str) -> None:
    layers, shape = BODIES[name]
    plain = _net(layers, shape)
    banded = copy.deepcopy(plain)
    assert banded.use_banded(True)
    obs = _obs(shape)
    q0, g0 = _pass(plain, obs, bf16=False)
    q1, g1 = _pass(banded, obs, bf16=False)
    torch.testing.assert_close(q1, q0, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g1, g0, rtol=1e-4, atol=1e-6)
    assert banded.state_dict().keys() == plain.state_dict().keys()  # same parameters, same checkpoints


def test_banded_bf16_is_as_close_to_fp32_as_autocast() -> None:
    layers, shape = BODIES["ego_cnn"]
    plain = _net(layers, shape)
    banded = copy.deepcopy(plain)
    banded.use_banded(True)
    obs = torch.as_tensor(GridGame(load_env_config("default"), 256, obs_mode="ego").reset(seed=0)[0].copy())
    q32, g32 = _pass(plain, obs, bf16=False)
    for net in (plain, banded):
        q, g = _pass(net, obs, bf16=True)
        assert q.dtype == torch.float32
        assert float((q - q32).abs().max()) <= 0.01 * float(q32.abs().max())
        assert float(torch.nn.functional.cosine_similarity(g, g32, 0)) > 0.999


def test_bodies_the_banded_path_does_not_take() -> None:
    pool = [
        {"type": "conv", "channels": 8, "kernel": 3},
        {"type": "relu"},
        {"type": "maxpool", "kernel": 2},
        {"type": "flatten"},
        {"type": "linear", "features": 16},
    ]
    padded = [{"type": "conv", "channels": 8, "kernel": 3, "padding": 1}, {"type": "relu"}, *EGO[4:]]
    mlp = EGO[4:]
    for layers in (pool, padded, mlp):
        net = _net(layers, (3, 10, 10))
        assert not net.use_banded(True) and net.banded is None


def test_acting_weights_follow_optimizer_steps_and_loads() -> None:
    """Passes without gradient reuse the prepared band matrices until the weights change: fused Adam does
    not bump version counters, so the learner's optimizer hook must drop them."""
    layers, shape = BODIES["ego_cnn"]
    plain = _net(layers, shape)
    banded = copy.deepcopy(plain)
    banded.use_banded(True)
    opt = torch.optim.Adam(banded.parameters(), lr=1e-2, fused=True)
    opt.register_step_post_hook(lambda *_: banded.weights_changed())
    obs = _obs(shape, 32)
    for _ in range(3):
        with torch.no_grad():
            before = banded(obs)
        _pass(banded, obs, bf16=False)
        opt.step()
        plain.load_state_dict(banded.state_dict())
        with torch.no_grad():
            after, expected = banded(obs), plain(obs)
        assert not torch.equal(before, after)
        torch.testing.assert_close(after, expected, rtol=1e-5, atol=1e-6)
    other = _net(layers, shape, seed=5)
    banded.load_state_dict(other.state_dict())  # copy_ bumps the versions: no hook needed
    with torch.no_grad():
        torch.testing.assert_close(banded(obs), other(obs), rtol=1e-5, atol=1e-6)


def test_precision_and_conv_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    import gridrl.trainer as tr

    for kind, want, conv in (
        ("amx", "bf16", "banded"),
        ("avx512_bf16", "bf16", "torch"),
        (None, "fp32", "torch"),
    ):
        monkeypatch.setattr(tr, "native_bf16", lambda kind=kind: kind)
        assert resolve_precision("auto", CPU) == want
        assert resolve_precision("fp32", CPU) == "fp32" and resolve_precision("bf16", CPU) == "bf16"
        assert resolve_conv("auto", want, CPU) == conv
        assert resolve_conv("auto", "fp32", CPU) == "torch"
        assert resolve_conv("banded", "fp32", CPU) == "banded" and resolve_conv("torch", want, CPU) == "torch"
    assert resolve_precision("auto", torch.device("cuda")) == "fp32"  # GPUs: not measured
    assert resolve_conv("auto", "bf16", torch.device("cuda")) == "torch"


def test_learner_takes_the_chosen_path(make_config, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import gridrl.trainer as tr

    monkeypatch.setattr(tr, "native_bf16", lambda: "amx")
    learner = make_learner(make_config("agent.n_envs=8"), CPU)
    assert learner.precision == "bf16" and learner.online.banded is not None
    learner = make_learner(make_config("agent.n_envs=8", "trainer.precision=fp32"), CPU)
    assert learner.precision == "fp32" and learner.online.banded is None
    learner = make_learner(make_config("agent.n_envs=8", "trainer.conv=torch"), CPU)
    assert learner.precision == "bf16" and learner.online.banded is None
    monkeypatch.setattr(tr, "native_bf16", lambda: None)
    learner = make_learner(make_config("agent.n_envs=8"), CPU)
    assert learner.precision == "fp32" and learner.online.banded is None


def _q_lambda_loop(r, term, trunc, next_q, final_q, gamma, lam):  # type: ignore[no-untyped-def]
    """The textbook backward recursion, one game at a time (the reference)."""
    T, N = r.shape
    out = np.zeros((T, N))
    for n in range(N):
        g = next_q[T - 1, n]
        for t in range(T - 1, -1, -1):
            if term[t, n]:
                g = r[t, n]
            elif trunc[t, n]:
                g = r[t, n] + gamma * final_q[t, n]
            else:
                boot = next_q[t, n] if t == T - 1 else (1 - lam) * next_q[t, n] + lam * g
                g = r[t, n] + gamma * boot
            out[t, n] = g
    return out


def test_q_lambda_targets_match_the_recursion() -> None:
    rng = np.random.default_rng(0)
    T, N = 16, 64
    r = rng.normal(size=(T, N)).astype(np.float32)
    term, trunc = rng.random((T, N)) < 0.1, rng.random((T, N)) < 0.05
    trunc &= ~term
    nq, fq = rng.normal(size=(T, N)).astype(np.float32), rng.normal(size=(T, N)).astype(np.float32)
    for lam in (0.0, 0.65, 1.0):
        out = pqn.q_lambda_targets(*map(torch.as_tensor, (r, term, trunc, nq, fq)), 0.95, lam)
        np.testing.assert_allclose(
            out.numpy(), _q_lambda_loop(r, term, trunc, nq, fq, 0.95, lam), rtol=1e-5, atol=1e-5
        )


def test_banded_bf16_training_is_deterministic(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from gridrl.config import compose, to_config
    from gridrl.trainer import Trainer

    overrides = [
        "agent.n_envs=16",
        "trainer=debug",
        "trainer.total_steps=2048",
        "trainer.eval_episodes=20",
        "trainer.precision=bf16",
        "trainer.conv=banded",
        "trainer.threads=1",
    ]
    weights = []
    for name in ("a", "b"):
        node = compose(overrides)
        trainer = Trainer(to_config(node), tmp_path / name, OmegaConf.to_yaml(node))
        trainer.run()
        assert trainer.learner.online.banded is not None
        weights.append(torch.cat([p.detach().flatten() for p in trainer.learner.online.parameters()]))
    assert torch.equal(*weights)
    assert isinstance(BandedBody.match(trainer.learner.online.body), BandedBody)


def _play(learner, game, obs, steps: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        actions = learner.act(obs, 0.5)
        actions = np.where(rng.random(len(actions)) < 0.3, 8, actions)  # stand still: timeouts come
        nxt, r, term, trunc, info = game.step(actions)
        learner.observe(obs, actions, r, term, trunc, info["final_obs"], nxt)
        obs = nxt.copy()
    return obs


def test_timeouts_bootstrap_from_their_final_frames_and_resume_mid_rollout(make_config) -> None:  # type: ignore[no-untyped-def]
    """Final frames of truncated games are evaluated with the bootstrap frames at the rollout's end; a
    checkpoint taken before that carries them."""
    cfg = make_config("agent.n_envs=16", "agent.rollout_steps=8", "env.max_steps=3", "trainer.precision=fp32")
    a = make_learner(cfg, CPU)
    game = GridGame(cfg.env, 16)
    obs = _play(a, game, game.reset(seed=0)[0].copy(), 5, seed=1)
    assert a._pending.any()
    pending = a._pending.copy()
    finals = torch.as_tensor(a._final_obs[pending])
    state = copy.deepcopy(a.state_dict())
    b = make_learner(cfg, CPU)
    b.load_state_dict(state)
    game_b = GridGame(cfg.env, 16)
    game_b.set_state(game.get_state())
    game_b.rng.bit_generator.state = game.rng.bit_generator.state
    obs_a = _play(a, game, obs, 3, seed=2)
    obs_b = _play(b, game_b, obs, 3, seed=2)
    np.testing.assert_array_equal(obs_a, obs_b)
    expected = a.q_values(finals).max(1).values  # weights unchanged until the update
    out_a, out_b = a.update(4096), b.update(4096)
    assert out_a == out_b and not a._pending.any()
    torch.testing.assert_close(a.final_q[torch.from_numpy(pending)], expected)
    torch.testing.assert_close(a.final_q, b.final_q)
    for pa, pb in zip(a.online.parameters(), b.online.parameters(), strict=True):
        assert torch.equal(pa, pb)
