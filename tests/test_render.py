"""Rendering: crisp upscaling, text bands, atomic mp4/gif files, recorded episodes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from gridrl.config import EnvConfig
from gridrl.game.render import (
    GRID_LINE_RGB,
    VideoRecorder,
    ViewedGame,
    annotate,
    record_episodes,
    upscale,
    write_gif,
    write_video,
)


def random_frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (3, h, w), dtype=np.uint8)


def distinct_frames(n: int, h: int = 60, w: int = 80) -> list[np.ndarray]:
    """n frames that differ a lot (a bright block moving across a dark image)."""
    frames = []
    for i in range(n):
        f = np.zeros((h, w, 3), dtype=np.uint8)
        f[10:30, (i * 7) % (w - 20) : (i * 7) % (w - 20) + 20] = (255, 200, 0)
        f[40:50, :] = (0, 10 * i % 256, 255)
        frames.append(f)
    return frames


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


# -------------------------------------------------------------------------------------------- files
def no_temp_files(directory) -> bool:
    return not [p for p in directory.iterdir() if p.name.startswith(".") or ".tmp" in p.name]


def test_mp4_reads_back(tmp_path):
    frames = distinct_frames(12, 454, 400)
    path = write_video(frames, tmp_path / "ep.mp4", fps=10)
    cap = cv2.VideoCapture(str(path))
    n, shape = 0, None
    while True:
        ok, f = cap.read()
        if not ok:
            break
        n, shape = n + 1, f.shape
    cap.release()
    assert n == 12 and shape == (454, 400, 3)
    assert no_temp_files(tmp_path) and [p.name for p in tmp_path.iterdir()] == ["ep.mp4"]


def test_mp4_colours_are_rgb_and_odd_size_padded(tmp_path):
    frame = np.zeros((31, 41, 3), dtype=np.uint8)
    frame[:] = (255, 0, 0)  # red in RGB
    write_video([frame] * 3, tmp_path / "red.mp4", fps=5)
    ok, bgr = cv2.VideoCapture(str(tmp_path / "red.mp4")).read()
    assert ok and bgr.shape == (32, 42, 3)
    b, g, r = bgr[5:25, 5:35].reshape(-1, 3).mean(0)
    assert r > 200 and g < 60 and b < 60


def test_gif_reads_back(tmp_path):
    frames = distinct_frames(9)
    path = write_gif(frames, tmp_path / "ep.gif", fps=10)
    with Image.open(path) as im:
        assert im.n_frames == 9 and im.size == (80, 60)
        im.seek(3)
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), frames[3])
    assert no_temp_files(tmp_path) and [p.name for p in tmp_path.iterdir()] == ["ep.gif"]


def test_failed_writes_leave_nothing(tmp_path):
    with pytest.raises(ValueError), VideoRecorder(tmp_path / "bad.mp4", fps=10) as rec:
        rec.add(distinct_frames(1)[0])
        rec.add(np.zeros((10, 10, 3), dtype=np.uint8))  # wrong size: the recording is dropped
    with pytest.raises(ValueError):
        write_gif([np.zeros((6, 6, 3), np.uint8), np.zeros((5, 6, 3), np.uint8)], tmp_path / "bad.gif")
    with pytest.raises(ValueError):
        write_video([], tmp_path / "empty.mp4")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_is_atomic_replace(tmp_path):
    path = tmp_path / "ep.gif"
    write_gif(distinct_frames(3), path)
    write_gif(distinct_frames(5), path)
    with Image.open(path) as im:
        assert im.n_frames == 5
    assert no_temp_files(tmp_path)


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


def test_record_episodes_frames():
    cfg = EnvConfig(max_steps=5, obs_mode="planes")  # sentdex9: action 8 = stay, never ends early
    seen = []

    def stay(obs):
        seen.append(obs.shape)
        return np.full(len(obs), 8)

    frames = record_episodes(cfg, stay, episodes=2, seed=3, size=200, fps=10)
    per_episode = 1 + 4 + 5  # start, steps 1-4, the last state held 0.5 s at 10 fps
    assert len(frames) == 2 * per_episode
    assert all(f.shape == frames[0].shape and f.dtype == np.uint8 for f in frames)
    assert frames[0].shape[1] == 200 and frames[0].shape[2] == 3
    assert seen == [(2, 3, 10, 10)] * 5
    assert all(f is frames[5] for f in frames[5:10])
    band = frames[0].shape[0] - 200
    assert not np.array_equal(frames[0][band:], frames[per_episode][band:])  # two different layouts


def test_record_episodes_matches_the_game_layouts():
    cfg = EnvConfig(max_steps=3, obs_mode="rgb", height=8, width=8)
    frames = record_episodes(cfg, lambda o: np.full(len(o), 8), episodes=3, seed=11, size=160, fps=2)
    from gridrl.game.grid import GridGame

    obs, _ = GridGame(cfg, 3).reset(11)
    band = frames[0].shape[0] - 160
    per_episode = 1 + 2 + 1
    for i in range(3):
        np.testing.assert_array_equal(frames[i * per_episode][band:], upscale(obs[i], 160, grid=True))
