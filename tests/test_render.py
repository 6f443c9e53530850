"""Drawing: frames of states, crisp upscaling, text bands; game/ draws only (no files, no windows)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import cv2
import numpy as np
import pytest

import gridrl.game
from gridrl.config import EnvConfig
from gridrl.game import render
from gridrl.game.grid import GridGame
from gridrl.game.render import GRID_LINE_RGB, ViewedGame, annotate, state_frames, upscale


def random_frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (3, h, w), dtype=np.uint8)


# ------------------------------------------------------------------------------------------ upscale
def test_upscale_square_cells_exact_colours():
    frame = random_frame(4, 4)
    img = upscale(frame, 400)
    assert img.shape == (400, 400, 3) and img.dtype == np.uint8
    for y in range(4):
        for x in range(4):
            block = img[y * 100 : (y + 1) * 100, x * 100 : (x + 1) * 100]
            assert (block == frame[:, y, x]).all()


@pytest.mark.parametrize(("h", "w"), [(15, 15), (10, 10), (19, 19), (7, 13)])
def test_upscale_is_nearest_neighbour(h, w):
    frame = random_frame(h, w, seed=h * w)
    img = upscale(frame, 400)
    assert max(img.shape[:2]) == 400
    rows = np.arange(img.shape[0]) * h // img.shape[0]
    cols = np.arange(img.shape[1]) * w // img.shape[1]
    np.testing.assert_array_equal(img, frame.transpose(1, 2, 0)[rows[:, None], cols[None, :]])
    hwc = np.ascontiguousarray(frame.transpose(1, 2, 0))
    ref = cv2.resize(hwc, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(img, ref)
    assert {tuple(c) for c in img.reshape(-1, 3)} == {tuple(c) for c in hwc.reshape(-1, 3)}


def test_upscale_grid_lines_only_on_cell_edges():
    frame = np.zeros((3, 10, 10), dtype=np.uint8)
    frame[:, 3, 4] = (0, 255, 0)
    plain, lined = upscale(frame, 400), upscale(frame, 400, grid=True)
    edges = np.zeros((400, 400), dtype=bool)
    edges[np.arange(40, 400, 40), :] = True
    edges[:, np.arange(40, 400, 40)] = True
    assert (lined[edges] == GRID_LINE_RGB).all()
    np.testing.assert_array_equal(lined[~edges], plain[~edges])
    assert (lined[121:160, 161:200] == (0, 255, 0)).all()


def test_upscale_rejects_bad_input():
    with pytest.raises(ValueError):
        upscale(np.zeros((10, 10, 3), dtype=np.uint8), 400)  # HWC, not CHW
    with pytest.raises(ValueError):
        upscale(np.zeros((3, 10, 10), dtype=np.uint8), 5)


# ----------------------------------------------------------------------------------------- annotate
def test_annotate_band_size_and_text():
    img = upscale(random_frame(10, 10), 400)
    top = annotate(img, ["episode 1/2   step 3/200", "return -3   outcome: -"])
    bottom = annotate(img, ["a", "b"], where="bottom")
    band = top.shape[0] - 400
    assert top.shape[1:] == (400, 3) and band > 0 and band % 2 == 0
    assert bottom.shape == top.shape  # band height depends on width and line count only
    np.testing.assert_array_equal(top[band:], img)
    np.testing.assert_array_equal(bottom[:400], img)
    assert (top[:band] > 200).all(-1).sum() > 200  # light text drawn on the dark band
    assert annotate(img, ["one line"]).shape[0] < top.shape[0]


# ------------------------------------------------------------------------------------------ episodes
def test_viewed_game_keeps_the_final_state():
    cfg = EnvConfig(obs_mode="ego", n_enemies=1)
    game = ViewedGame(cfg, 2)
    game.reset(0)
    layout = {
        "player": np.array([[0, 0], [5, 5]]),
        "food": np.array([[[1, 1]], [[9, 9]]]),
        "enemy": np.array([[[7, 7]], [[0, 9]]]),
    }
    game.set_state(layout)
    _, reward, term, trunc, info = game.step(np.array([0, 8]))  # (+1, +1) onto the food | stay
    assert term.tolist() == [True, False] and reward[0] == cfg.food_reward
    assert game.final_state["player"][0].tolist() == [1, 1]
    final = game.final_frames()[0]
    assert (final[:, 1, 1] == cfg.player_color).all()  # the player stands on the food
    assert (final[:, 7, 7] == cfg.enemy_color).all()
    now = game.frames()
    assert now.shape == (2, 3, 10, 10)
    assert (now[1, :, 5, 5] == cfg.player_color).all()  # the running game is untouched


@pytest.mark.parametrize("obs_mode", ["ego", "planes", "rgb"])
def test_state_frames_are_the_games_rgb_frames(obs_mode):
    cfg = EnvConfig(obs_mode=obs_mode, n_food=3, n_enemies=2, on_food="remove", height=7, width=9)
    game = GridGame(cfg, 64)
    game.reset(1)
    rgb = GridGame(cfg, 64, obs_mode="rgb")
    rng = np.random.default_rng(0)
    for _ in range(30):  # food eaten (dead items undrawn), overlaps, the player on top
        game.step(rng.integers(0, game.n_actions, 64))
        state = game.get_state()
        np.testing.assert_array_equal(state_frames(cfg, state), rgb.set_state(state))
    assert not game.food_alive.all()
    np.testing.assert_array_equal(state_frames(cfg, {k: v[5] for k, v in state.items()}), rgb._obs[5:6])


def test_upscale_keeps_leading_axes():
    frames = np.stack([random_frame(7, 13, seed=i) for i in range(5)])
    batch = upscale(frames, 130, grid=True)
    assert batch.shape == (5, 70, 130, 3)
    for i in range(5):
        np.testing.assert_array_equal(batch[i], upscale(frames[i], 130, grid=True))


# ------------------------------------------------------------------------------------------- design
GAME_MODULES = [f"gridrl.game.{m.name}" for m in pkgutil.iter_modules(gridrl.game.__path__)]
FILE_OR_WINDOW_CALLS = {"imwrite", "VideoWriter", "namedWindow", "imshow", "waitKey", "open", "save"}


@pytest.mark.parametrize("name", GAME_MODULES)
def test_game_package_draws_only(name):
    """game/ draws pictures in memory: no module of it writes a file or opens a window itself."""
    module = importlib.import_module(name)
    tree = ast.parse(inspect.getsource(module))
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not calls & FILE_OR_WINDOW_CALLS
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert "gridrl.videos" not in imported


def test_render_has_no_files_or_window():
    assert "gridrl.game.render" in GAME_MODULES
    for name in ("VideoRecorder", "write_video", "write_gif", "Window", "has_display", "NoDisplayError"):
        assert not hasattr(render, name)
