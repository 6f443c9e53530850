"""The fovea view (``env.obs_mode=fovea``): a fixed window around the player beside the whole ego view
max-pooled, on hand-made layouts (corners, edges, several entities), against a reference written from
the definition, and one set of weights for every grid size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as tf

from conftest import refused
from gridrl.agent.networks import build_q_network
from gridrl.config import ConfigError, EnvConfig, LayerConfig, ModelConfig, load_env_config
from gridrl.game.grid import GridGame

FOOD, ENEMY, INSIDE = 0, 1, 2  # planes of the ego view; the fovea's pooled copies are these + 3


def _pooling(view: int, k: int) -> int:
    """The definition's pooling factor: the smallest odd p with k * p >= the view's side."""
    p = -(-view // k)
    return p + 1 - p % 2


def reference(ego: torch.Tensor, k: int) -> torch.Tensor:
    """The definition on the ego view: its k x k centre (zero-padded), then the view zero-padded around
    its centre to k * p (p the smallest odd factor covering it) and max-pooled by p."""

    def centre(x: torch.Tensor, size: int) -> torch.Tensor:
        ph, pw = max(size - x.shape[-2], 0), max(size - x.shape[-1], 0)
        x = tf.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        return x[..., top : top + size, left : left + size]

    p = _pooling(max(ego.shape[-2:]), k)
    return torch.cat((centre(ego, k), tf.max_pool2d(centre(ego, k * p).float(), p).to(torch.uint8)), dim=-3)


def _cfg(size: int, n_food: int = 1, n_enemies: int = 1, **kw: object) -> EnvConfig:
    cfg = load_env_config("default")
    cfg.height = cfg.width = size
    cfg.n_food, cfg.n_enemies = n_food, n_enemies
    for key, value in kw.items():
        setattr(cfg, key, value)
    cfg.__post_init__()
    return cfg


def _fovea(
    size: int,
    player: tuple[int, int],
    food: list[tuple[int, int]],
    enemies: list[tuple[int, int]],
    k: int = 11,
) -> torch.Tensor:
    game = GridGame(_cfg(size, len(food), len(enemies), fovea=k), 1, obs_mode="fovea")
    game.reset(seed=0)
    state = {
        "player": np.array([player]),
        "food": np.array([food]),
        "enemy": np.array([enemies]).reshape(1, -1, 2),
    }
    return torch.as_tensor(game.set_state(state).copy())


def _set(plane: torch.Tensor) -> set[tuple[int, int]]:
    return {(int(r), int(c)) for r, c in torch.nonzero(plane)}


def _coarse(size: int, k: int, dx: int, dy: int) -> tuple[int, int]:
    """Where an entity at (dx, dy) from the player lands in the pooled planes, from the definition: the
    (2 size - 1) view padded around its centre to k * p (p the smallest odd factor covering it)."""
    p = _pooling(2 * size - 1, k)
    centre = (k * p) // 2
    return (centre + dy) // p, (centre + dx) // p


def test_corner_player_far_food_and_a_neighbouring_enemy() -> None:
    obs = _fovea(10, player=(0, 0), food=[(9, 9)], enemies=[(1, 0)])
    out = obs[0]
    assert out.shape == (6, 11, 11) and out.dtype == torch.uint8
    assert _set(out[FOOD]) == set()  # 9 cells away: outside the 11x11 window
    assert _set(out[ENEMY]) == {(5, 6)}  # one column right of the centre
    assert _set(out[3 + FOOD]) == {_coarse(10, 11, 9, 9)} == {(8, 8)}
    assert _set(out[3 + ENEMY]) == {_coarse(10, 11, 1, 0)} == {(5, 5)}
    # inside the grid: right of and below the player only (it sits in the top-left corner)
    assert _set(out[INSIDE]) == {(r, c) for r in range(5, 11) for c in range(5, 11)}
    assert _set(out[3 + INSIDE]) == {_coarse(10, 11, dx, dy) for dx in range(10) for dy in range(10)}
    assert _set(out[3 + INSIDE]) == {(r, c) for r in range(5, 9) for c in range(5, 9)}


def test_edge_player_and_several_enemies_on_a_large_grid() -> None:
    size, k = 25, 11
    player = (12, 24)  # the middle of the bottom edge
    enemies = [(12, 23), (0, 24), (24, 0), (17, 19), (6, 24)]
    obs = _fovea(size, player=player, food=[(12, 0)], enemies=enemies)
    out = obs[0]
    near = {
        (5 + ey - player[1], 5 + ex - player[0]) for ex, ey in enemies if max(abs(ex - 12), abs(ey - 24)) <= 5
    }
    assert _set(out[ENEMY]) == near == {(4, 5), (0, 10)}
    assert _set(out[3 + ENEMY]) == {_coarse(size, k, ex - player[0], ey - player[1]) for ex, ey in enemies}
    assert _set(out[3 + FOOD]) == {_coarse(size, k, 0, -24)}
    assert _set(out[INSIDE]) == {(r, c) for r in range(0, 6) for c in range(11)}  # nothing below the edge
    assert out[3 + INSIDE, 5, 5] == 255 and not out[3 + INSIDE, 10].any()


def test_a_view_smaller_than_the_fovea_is_centred_in_zeros() -> None:
    cfg = _cfg(5)
    state = {"player": np.array([[2, 2]]), "food": np.array([[[0, 0]]]), "enemy": np.array([[[4, 3]]])}
    ego = GridGame(cfg, 1, obs_mode="ego").set_state(state)[0]  # 9x9
    out = GridGame(cfg, 1, obs_mode="fovea").set_state(state)[0]
    padded = np.zeros((3, 11, 11), dtype=np.uint8)
    padded[:, 1:10, 1:10] = ego
    assert np.array_equal(out[:3], padded) and np.array_equal(out[3:], padded)  # p = 1: no pooling


GAMES = {
    "5x5": {"size": 5},
    "10x10, 3 food removed when eaten, random food": {"size": 10, "n_food": 3, "on_food": "remove", "food_motion": "random"},
    "15x15, 5 chasing enemies, fovea 7": {"size": 15, "n_enemies": 5, "enemy_motion": "chase", "fovea": 7},
    "25x25, 3 respawning food, 3 random enemies": {
        "size": 25, "n_food": 3, "n_enemies": 3, "on_food": "respawn", "enemy_motion": "random", "max_steps": 30,
    },
    "12x7, no enemy, slip": {"size": 12, "width": 7, "n_enemies": 0, "slip": 0.3, "max_steps": 20},
}  # fmt: skip


@pytest.mark.parametrize("name", list(GAMES))
def test_every_step_matches_the_definition_on_the_ego_view(name: str) -> None:
    """Steps with auto-resets, eaten food, moving entities and partial redraws: the fovea game's frames
    and final frames are the definition applied to the ego game's (the same seeds, the same actions)."""
    spec = dict(GAMES[name])
    cfg = _cfg(spec.pop("size"), obs_mode="fovea", **spec)
    ego, fovea = GridGame(cfg, 64, obs_mode="ego"), GridGame(cfg, 64, obs_mode="fovea")
    e, f = ego.reset(seed=3)[0], fovea.reset(seed=3)[0]
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(60):
        assert np.array_equal(f, reference(torch.as_tensor(e), cfg.fovea).numpy())
        actions = rng.integers(0, ego.n_actions, 64)
        e, _, term, trunc, info_e = ego.step(actions)
        f, _, _, _, info_f = fovea.step(actions)
        done = np.flatnonzero(term | trunc)
        finished += len(done)
        want = reference(torch.as_tensor(info_e["final_obs"][done]), cfg.fovea).numpy()
        assert np.array_equal(info_f["final_obs"][done], want)
    assert finished > 10


def test_one_set_of_weights_plays_every_grid_size() -> None:
    """The fovea view has one shape whatever the grid: a network trained on 10x10 plays 25x25."""
    torch.manual_seed(0)
    cfg = ModelConfig(
        layers=[LayerConfig(type="conv", channels=8, kernel=3, stride=2), LayerConfig(type="flatten")]
    )
    net = build_q_network(cfg, GridGame(_cfg(10), 1, obs_mode="fovea").obs_shape, 9)
    big = _fovea(25, player=(3, 4), food=[(20, 20)], enemies=[(5, 5)])
    assert big.shape[1:] == (6, 11, 11) and net(big).shape == (1, 9)


@pytest.mark.parametrize("size", [-1, 1, 2, 10])
def test_bad_fovea_sizes_are_refused(size: int) -> None:
    with pytest.raises(ConfigError, match="env.fovea"):
        _cfg(10, obs_mode="fovea", fovea=size).__post_init__()


def test_the_cli_names_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, "train", "env.obs_mode=fovea", "env.fovea=8")
    assert "env.fovea=8" in line and "odd size" in line
    line = refused(capsys, "train", "env.obs_mode=ego", "env.fovea=7")
    assert "env.fovea=7" in line and "env.obs_mode=fovea" in line
