"""Media files: H.264 mp4 and GIF written atomically; evaluation recordings laid out as videos."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from gridrl import videos
from gridrl.config import EnvConfig
from gridrl.evaluation import Evaluator
from gridrl.game.render import upscale
from gridrl.videos import (
    EpisodeFrames,
    outcome_text,
    write_gif,
    write_media,
    write_mp4,
    write_recording,
)


def distinct_frames(n: int, h: int = 60, w: int = 80) -> list[np.ndarray]:
    """n frames that differ a lot (a bright block moving across a dark image)."""
    frames = []
    for i in range(n):
        f = np.zeros((h, w, 3), dtype=np.uint8)
        f[10:30, (i * 7) % (w - 20) : (i * 7) % (w - 20) + 20] = (255, 200, 0)
        f[40:50, :] = (0, 10 * i % 256, 255)
        frames.append(f)
    return frames


def read_mp4(path) -> tuple[dict, list[np.ndarray]]:
    """(ffmpeg's metadata, RGB frames) of a video, decoded by the bundled ffmpeg."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return meta, [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader]


def only(directory) -> list[str]:
    """Names in ``directory`` (temporary files start with a dot and hold .tmp)."""
    return sorted(p.name for p in directory.iterdir())


# ------------------------------------------------------------------------------------------ writers
def test_mp4_is_h264_with_every_frame(tmp_path):
    frames = distinct_frames(12, 366, 320)
    assert write_mp4(frames, tmp_path / "ep.mp4", fps=10) == tmp_path / "ep.mp4"
    meta, decoded = read_mp4(tmp_path / "ep.mp4")
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p") and meta["fps"] == 10
    assert meta["size"] == (320, 366) and len(decoded) == 12
    assert np.abs(decoded[5].astype(int) - frames[5]).mean() < 3  # near-lossless (crf 10)
    assert only(tmp_path) == ["ep.mp4"]


def test_mp4_colours_are_rgb_and_odd_size_padded(tmp_path):
    frame = np.zeros((31, 41, 3), dtype=np.uint8)
    frame[:] = (255, 0, 0)  # red in RGB
    write_mp4(np.stack([frame] * 3), tmp_path / "red.mp4", fps=5)  # an (n, h, w, 3) array works too
    meta, decoded = read_mp4(tmp_path / "red.mp4")
    assert meta["size"] == (42, 32) and len(decoded) == 3
    r, g, b = decoded[0][5:25, 5:35].reshape(-1, 3).mean(0)
    assert r > 200 and g < 60 and b < 60


def test_gif_reads_back(tmp_path):
    frames = distinct_frames(9)
    write_gif(frames, tmp_path / "ep.gif", fps=10)
    with Image.open(tmp_path / "ep.gif") as im:
        assert im.n_frames == 9 and im.size == (80, 60) and im.info["duration"] == 100
        im.seek(3)
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), frames[3])
    assert only(tmp_path) == ["ep.gif"]


def test_write_media_writes_both_from_one_list(tmp_path):
    frames = distinct_frames(6, 40, 40)
    frames += [frames[-1]] * 4  # a held frame: one array object repeated
    mp4, gif = write_media(frames, tmp_path / "sub" / "eval", fps=4)
    assert (mp4.name, gif.name) == ("eval.mp4", "eval.gif") and only(tmp_path / "sub") == [
        "eval.gif",
        "eval.mp4",
    ]
    assert len(read_mp4(mp4)[1]) == 10
    with Image.open(gif) as im:
        assert im.n_frames == 6  # Pillow merges the identical frames into one longer frame
        im.seek(5)
        assert im.info["duration"] == 5 * 250


def test_failed_writes_leave_nothing(tmp_path):
    bad = distinct_frames(3) + [np.zeros((10, 10, 3), dtype=np.uint8)]  # the last one has another size
    for write in (write_mp4, write_gif):
        with pytest.raises(ValueError, match="frame 3"):
            write(bad, tmp_path / f"bad.{write.__name__[-3:]}")
    with pytest.raises(ValueError, match="frame 0"):
        write_media([np.zeros((6, 6, 3), np.float32)], tmp_path / "bad")
    with pytest.raises(ValueError, match="no frames"):
        write_mp4([], tmp_path / "empty.mp4")
    assert only(tmp_path) == []


def test_a_failing_writer_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    write_media(distinct_frames(3), tmp_path / "ep")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken)  # the GIF fails after the mp4 was encoded
    with pytest.raises(OSError, match="disk full"):
        write_media(distinct_frames(5), tmp_path / "ep")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_atomic_target_refuses_an_empty_result(tmp_path):
    with pytest.raises(RuntimeError, match="no file"), videos.atomic_target(tmp_path / "x.mp4") as tmp:
        tmp.write_bytes(b"")
    assert only(tmp_path) == []


# -------------------------------------------------------------------------------------- recordings
LOOPING = EnvConfig(obs_mode="planes", n_enemies=0, height=6, width=6, max_steps=40)


def wander(obs: np.ndarray) -> np.ndarray:
    """A deterministic function of the observation that often loops (as an untrained Q-network does)."""
    flat = obs.reshape(len(obs), -1).astype(np.int64)
    return (flat @ np.arange(1, flat.shape[1] + 1) // 255 * 7919) % 9


def test_episode_frames_layout_and_loop_stop(tmp_path):
    rec = Evaluator(LOOPING, episodes=30, seed=0).run(wander, record=6).recording
    assert rec is not None and rec.loop_stopped.any() and not rec.loop_stopped.all()
    frames = EpisodeFrames(rec, size=120, fps=8, hold_s=0.5)  # held 4 frames
    assert len(frames) == int(rec.lengths.sum()) + 6 * 4
    band = frames.band_h
    assert frames.shape == (band + 120, 120, 3) and frames[0].shape == frames.shape
    start = 0
    for k in range(6):
        L = int(rec.lengths[k])
        for j in range(L + 4):
            np.testing.assert_array_equal(
                frames[start + j][band:], upscale(rec.frames[min(j, L), k], 120, grid=True)
            )
        assert all(frames[start + L + j] is frames[start + L] for j in range(4))  # one held array
        assert not np.array_equal(frames[start + L - 1][:band], frames[start + L][:band])  # the outcome
        start += L + 4
    k = int(np.flatnonzero(rec.loop_stopped)[0])
    assert rec.lengths[k] < LOOPING.max_steps and outcome_text(rec, k) == "timeout (loop)"
    assert (
        videos.episode_text(k + 1, 6, int(rec.lengths[k]), 40, rec.booked_returns[k], outcome_text(rec, k))[1]
        == f"return {rec.booked_returns[k]:+g}   outcome: timeout (loop)"
    )
    assert frames[-1] is frames[len(frames) - 1] and np.asarray(frames).shape == (len(frames), *frames.shape)
    with pytest.raises(IndexError):
        frames[len(frames)]


def test_write_recording(tmp_path):
    rec = Evaluator(LOOPING, episodes=10, seed=1).run(wander, record=2).recording
    assert rec is not None
    video = write_recording(rec, tmp_path / "eval", size=64, fps=4)
    assert video["mp4"] == str(tmp_path / "eval.mp4") and video["gif"] == str(tmp_path / "eval.gif")
    n = int(rec.lengths.sum()) + 2 * 2
    assert (video["episodes"], video["frames"], video["width"], video["fps"]) == (2, n, 64, 4)
    meta, decoded = read_mp4(video["mp4"])
    assert meta["codec"] == "h264" and len(decoded) == n and decoded[0].shape == (video["height"], 64, 3)
    assert only(tmp_path) == ["eval.gif", "eval.mp4"]


def test_trainer_video_of_an_evaluation(tmp_path):
    """The Trainer's video: the recording of the evaluation it just ran, at RunDir.video(step)."""
    from gridrl.rundir import RunDir

    rec = Evaluator(LOOPING, 2, 12345).run(wander, record=2).recording
    assert rec is not None
    video = write_recording(rec, RunDir(tmp_path).video(4096), size=60)
    mp4 = Path(video["mp4"])
    assert mp4 == tmp_path / "videos" / "step_000000004096.mp4" and Path(video["gif"]) == mp4.with_suffix(
        ".gif"
    )
    assert len(read_mp4(mp4)[1]) == int(rec.lengths.sum()) + 2 * 4
