"""Pictures of the grid game: crisp upscaling, text bands, mp4/gif files, recorded episodes.

Conventions (one for the whole module):

- A game frame is what :class:`~gridrl.game.grid.GridGame` renders: uint8 RGB, channel-first ``(3, H, W)``.
- Every picture this module returns or takes otherwise is uint8 **RGB, channel-last** ``(h, w, 3)``.
  OpenCV wants BGR: the conversion happens only at the OpenCV boundary (``VideoWriter.write``,
  ``imshow``), inside this module. Colours passed to :func:`annotate` are RGB too.
- Files are written atomically: to a temporary name in the target's directory, then ``os.replace``.

The RGB frame of a finished episode's last state is not ``render_obs("rgb")`` after the step (the game
has auto-reset by then): :class:`ViewedGame` keeps that state for the picture.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gridrl.config import EnvConfig
from gridrl.game.grid import OUTCOME_NAMES, GridGame

GRID_LINE_RGB = (48, 48, 48)  # thin lines between cells (background is black)
BAND_RGB = (24, 24, 24)  # background of the text band
TEXT_RGB = (235, 235, 235)  # text colour
FONT = cv2.FONT_HERSHEY_SIMPLEX


# ------------------------------------------------------------------------------------------- frames
def upscale(frame_chw_rgb: np.ndarray, size: int, grid: bool = False) -> np.ndarray:
    """A game frame ``(3, H, W)`` -> an RGB ``(h, w, 3)`` image, nearest-neighbour (crisp cells).

    The longer side becomes ``size`` pixels and cells stay square-ish: a square grid gives exactly
    ``(size, size, 3)``. Pixel ``(py, px)`` shows cell ``(py * H // h, px * W // w)`` (the mapping of
    ``cv2.INTER_NEAREST``, computed exactly with integers), so cells are 1 pixel apart in size at most
    and every pixel holds an exact cell colour. ``grid=True`` draws 1-pixel lines on the first row /
    column of every cell but the first (those pixels take ``GRID_LINE_RGB``).
    """
    frame = np.asarray(frame_chw_rgb)
    if frame.ndim != 3 or frame.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) RGB frame, got shape {frame.shape}")
    _, H, W = frame.shape
    if size < max(H, W):
        raise ValueError(f"size={size} is smaller than the grid ({H}x{W})")
    h, w = (size, max(1, round(size * W / H))) if H >= W else (max(1, round(size * H / W)), size)
    rows = np.arange(h) * H // h
    cols = np.arange(w) * W // w
    img = np.ascontiguousarray(frame.transpose(1, 2, 0)[rows[:, None], cols[None, :]], dtype=np.uint8)
    if grid:
        img[np.flatnonzero(np.diff(rows)) + 1, :] = GRID_LINE_RGB
        img[:, np.flatnonzero(np.diff(cols)) + 1] = GRID_LINE_RGB
    return img


def font_scale(width: int) -> float:
    """Font scale of :func:`annotate`: 0.6 (text about 13 px high) for a 400-pixel-wide image."""
    return max(0.35, 0.6 * width / 400)


def annotate(
    img: np.ndarray, text_lines: Sequence[str], where: str = "top", color: tuple[int, int, int] = TEXT_RGB
) -> np.ndarray:
    """A new image: ``img`` (RGB HWC) with a dark band of text lines above (``top``) or below (``bottom``).

    The band's height depends only on the image width and the number of lines, so frames annotated
    with the same number of lines have one size (what a video needs). The height is kept even.
    """
    if where not in ("top", "bottom"):
        raise ValueError(f"where={where!r}: choose top or bottom")
    h, w = img.shape[:2]
    scale = font_scale(w)
    thick = max(1, round(scale * 1.6))
    (_, text_h), base = cv2.getTextSize("Ag", FONT, scale, thick)
    line_h = text_h + base + max(4, round(6 * scale))
    pad = max(4, round(8 * scale))
    band_h = len(text_lines) * line_h + pad
    band_h += band_h % 2
    band = np.empty((band_h, w, 3), dtype=np.uint8)
    band[:] = BAND_RGB
    for i, line in enumerate(text_lines):
        y = pad // 2 + i * line_h + text_h + (line_h - text_h - base) // 2
        cv2.putText(band, str(line), (pad, y), FONT, scale, color, thick, cv2.LINE_AA)
    parts = (band, img) if where == "top" else (img, band)
    return np.ascontiguousarray(np.concatenate(parts, axis=0))


# -------------------------------------------------------------------------------------------- files
def _temp_path(path: Path) -> Path:
    """A fresh temporary name next to ``path`` with the same suffix (OpenCV picks the container by it)."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


def _check_frames(frames: Sequence[np.ndarray]) -> tuple[int, int]:
    if len(frames) == 0:
        raise ValueError("no frames to write")
    h, w = frames[0].shape[:2]
    for i, f in enumerate(frames):
        if f.shape != (h, w, 3) or f.dtype != np.uint8:
            raise ValueError(f"frame {i}: expected uint8 ({h}, {w}, 3) RGB, got {f.dtype} {f.shape}")
    return h, w


class VideoRecorder:
    """Streams RGB HWC uint8 frames into an ``.mp4`` (fourcc mp4v) written atomically.

    ``with VideoRecorder(path, fps) as rec: rec.add(frame)``; the file appears under ``path`` only when
    the block ends without an exception (then the temporary file is removed). All frames must have the
    size of the first; odd sizes are padded with one black row / column (MPEG-4 wants even sizes).
    """

    def __init__(self, path: str | os.PathLike[str], fps: float = 10.0) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise ValueError(f"{self.path}: VideoRecorder writes .mp4 files (use write_gif for a GIF)")
        self.fps = float(fps)
        self.n_frames = 0
        self._size: tuple[int, int] | None = None
        self._writer: cv2.VideoWriter | None = None
        self._tmp: Path | None = None

    def add(self, frame: np.ndarray) -> None:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected a uint8 (h, w, 3) RGB frame, got {frame.dtype} {frame.shape}")
        h, w = frame.shape[:2]
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._size = (h, w)
            self._tmp = _temp_path(self.path)
            self._writer = cv2.VideoWriter(
                str(self._tmp), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, (w + w % 2, h + h % 2)
            )
            if not self._writer.isOpened():
                self.abort()
                raise RuntimeError(f"OpenCV could not open an mp4v VideoWriter for {self.path}")
        elif (h, w) != self._size:
            raise ValueError(
                f"frame {self.n_frames} is {h}x{w}; the video is {self._size[0]}x{self._size[1]}"
            )
        if h % 2 or w % 2:
            frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.n_frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        if self._writer is None or self._tmp is None:
            raise ValueError(f"{self.path}: no frames were added")
        self._writer.release()
        self._writer = None
        os.replace(self._tmp, self.path)
        self._tmp = None
        return self.path

    def abort(self) -> None:
        """Drop the partial file (nothing is written under ``path``)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def __enter__(self) -> VideoRecorder:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(frames: Sequence[np.ndarray], path: str | os.PathLike[str], fps: float = 10.0) -> Path:
    """Write RGB HWC uint8 frames (one size) to an ``.mp4`` (mp4v; plays in VLC / OpenCV, not browsers)."""
    _check_frames(frames)
    with VideoRecorder(path, fps) as rec:
        for f in frames:
            rec.add(f)
    return Path(path)


def write_gif(frames: Sequence[np.ndarray], path: str | os.PathLike[str], fps: float = 10.0) -> Path:
    """Write RGB HWC uint8 frames to a looping GIF with Pillow (plays in browsers and READMEs), atomically.

    One adaptive palette (from a sample of up to 16 frames, no dithering) serves every frame: the game
    draws few colours, and a shared palette is about 30x faster than one per frame.
    Pillow merges identical consecutive frames into one longer frame (the timing is kept).
    """
    from PIL import Image

    _check_frames(frames)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sample = frames[:: max(1, len(frames) // 16)][:16]
    palette = Image.fromarray(np.concatenate(sample, axis=0)).quantize(
        256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    tmp = _temp_path(path)
    try:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=max(20, round(1000 / fps)),
            loop=0,
            optimize=False,
        )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# ------------------------------------------------------------------------------------------ episodes
class ViewedGame(GridGame):
    """A :class:`GridGame` (``cfg.obs_mode`` observations) that also keeps each finished episode's last state.

    The game auto-resets finished episodes inside ``step``; this subclass copies the state of the games
    it respawns first, into :attr:`final_state` (arrays of N rows, valid for the games that finished at
    the last step). :meth:`frames` and :meth:`final_frames` draw the current / final states in RGB.
    """

    def __init__(self, cfg: EnvConfig, n: int = 1) -> None:
        super().__init__(cfg, n)
        self._rgb = GridGame(replace(cfg, obs_mode="rgb"), n)
        self.final_state = self.get_state()
        self._respawned = np.zeros(n, dtype=bool)

    def _spawn(self, idx: np.ndarray) -> None:
        for key, arr in self.get_state().items():
            self.final_state[key][idx] = arr[idx]
        self._respawned[idx] = True
        super()._spawn(idx)

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        self._respawned[:] = False
        out = super().step(actions)
        if not np.array_equal(self._respawned, out[2] | out[3]):
            raise RuntimeError("ViewedGame missed a finished game's last state (GridGame._spawn changed?)")
        return out

    def frames(self) -> np.ndarray:
        """RGB ``(N, 3, H, W)`` of the current states (a new array)."""
        return self._rgb.set_state(self.get_state()).copy()

    def final_frames(self) -> np.ndarray:
        """RGB ``(N, 3, H, W)`` of :attr:`final_state` (valid for the games finished at the last step)."""
        return self._rgb.set_state(self.final_state).copy()


def episode_text(
    episode: int, episodes: int, step: int, max_steps: int, ret: float, outcome: str = "-"
) -> list[str]:
    """The two annotation lines of a recorded frame."""
    return [
        f"episode {episode}/{episodes}   step {step}/{max_steps}",
        f"return {ret:+g}   outcome: {outcome}",
    ]


def record_episodes(
    game_cfg: EnvConfig,
    policy: Callable[[np.ndarray], np.ndarray],
    episodes: int,
    seed: int,
    size: int = 400,
    fps: float = 10.0,
    grid: bool = True,
    hold_s: float = 0.5,
) -> list[np.ndarray]:
    """Play ``episodes`` games and return their annotated RGB HWC frames, episode after episode.

    The ``episodes`` games run in parallel as ``GridGame(game_cfg, episodes).reset(seed)`` (the layouts
    an evaluation with that seed sees); each contributes its first episode only. ``policy`` gets the
    ``game_cfg.obs_mode`` observations of all games ``(N, C, H, W)`` uint8 and returns N actions (those of
    finished games are ignored). Each episode gives its start frame, one frame per step and, at the end,
    the last state with its outcome, held for ``hold_s`` seconds at ``fps``.
    """
    if episodes < 1:
        raise ValueError(f"episodes={episodes} must be >= 1")
    game = ViewedGame(game_cfg, episodes)
    obs, _ = game.reset(seed)
    max_steps = game_cfg.max_steps
    per_game: list[list[np.ndarray]] = [[] for _ in range(episodes)]
    hold = max(1, round(hold_s * fps))

    def picture(frame: np.ndarray, i: int, step: int, ret: float, outcome: str = "-") -> np.ndarray:
        return annotate(
            upscale(frame, size, grid), episode_text(i + 1, episodes, step, max_steps, ret, outcome)
        )

    frames = game.frames()
    for i in range(episodes):
        per_game[i].append(picture(frames[i], i, 0, 0.0))
    live = np.ones(episodes, dtype=bool)
    while live.any():
        actions = np.asarray(policy(obs)).reshape(episodes).astype(np.int64)
        obs, _, term, trunc, info = game.step(actions)
        done = term | trunc
        frames = game.frames()
        finals = game.final_frames() if (done & live).any() else frames
        for i in np.flatnonzero(live):
            step, ret = int(info["episode_length"][i]), float(info["episode_return"][i])
            if done[i]:
                outcome = OUTCOME_NAMES[int(info["outcome"][i])]
                per_game[i].extend([picture(finals[i], i, step, ret, outcome)] * hold)
            else:
                per_game[i].append(picture(frames[i], i, step, ret))
        live &= ~done
    return [f for frames in per_game for f in frames]
