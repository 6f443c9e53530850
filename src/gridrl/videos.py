"""Media files of a policy playing: an H.264 ``.mp4`` (browsers) and a ``.gif`` (READMEs) of one set of frames.

The frames are those of an evaluation: ``Evaluator.run(policy, record=K)`` plays the first K layouts in
its one batched game and returns them as a :class:`~gridrl.evaluation.Recording`; :class:`EpisodeFrames`
lays them out episode after episode (crisp cells, episode / step / return / outcome drawn on each
frame) and :func:`write_media` writes both files. Every file is written atomically: under a temporary
name beside the target, then ``os.replace``; a failure leaves the target as it was and no temporary.

``gridrl eval video=true`` writes ``<out>/eval.mp4`` / ``.gif``; the Trainer, at each evaluation with
``trainer.video=true``, writes ``<run_dir>/videos/step_<env step, 12 digits>.mp4`` / ``.gif``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gridrl.evaluation import Recording
from gridrl.game.render import text_band, upscale

Policy = Callable[[np.ndarray], np.ndarray]
Frames = Sequence[np.ndarray] | np.ndarray  # RGB HWC uint8 frames of one size, or an (n, h, w, 3) array

VIDEO_SIZE = 320  # pixels of the grid's longer side in a video frame
VIDEO_FPS = 8.0  # frames (game steps) per second
HOLD_S = 0.5  # seconds each episode's last frame stays on screen
MP4_QUALITY = 8  # imageio-ffmpeg's 1-10 scale (libx264 -crf 10): crisp cells and text, small files


# ------------------------------------------------------------------------------------------- frames
def episode_text(
    episode: int, episodes: int, step: int, max_steps: int, ret: float, outcome: str = "-"
) -> list[str]:
    """The two annotation lines of a video frame."""
    return [
        f"episode {episode}/{episodes}   step {step}/{max_steps}",
        f"return {ret:+g}   outcome: {outcome}",
    ]


def outcome_text(recording: Recording, k: int) -> str:
    """How the evaluator booked game ``k``: ``food``, ``enemy``, ``timeout`` or ``timeout (loop)``."""
    name = recording.outcome_names[int(recording.outcomes[k])]
    return f"{name} (loop)" if recording.loop_stopped[k] else name


class EpisodeFrames(Sequence[np.ndarray]):
    """The recorded games as video frames, episode after episode: a lazy sequence of RGB HWC uint8 images.

    An episode of L steps shows its start and each step but the last (L frames), then its last state
    held ``hold_s`` seconds at ``fps`` (``round(hold_s * fps)`` frames, at least one) with the outcome
    and return the evaluator booked: a loop-stopped game ends at the step the loop stop fired, as
    ``timeout (loop)`` with the booked timeout return. Each frame is the grid upscaled to ``size``
    pixels on its longer side (grid lines with ``grid``) under a two-line text band; all have
    :attr:`shape`. Frames are drawn when indexed (a video of 10,000 frames takes no memory until
    written; ``np.asarray(frames)`` makes an array); the held frames of an episode are one array.
    """

    def __init__(
        self,
        recording: Recording,
        size: int = VIDEO_SIZE,
        fps: float = VIDEO_FPS,
        hold_s: float = HOLD_S,
        grid: bool = True,
    ) -> None:
        self.recording, self.size, self.grid = recording, size, grid
        self.hold = max(1, round(hold_s * fps))
        self.ends = np.cumsum(recording.lengths + self.hold)  # one past each episode's last frame
        h, w = upscale(recording.frames[0, 0], size).shape[:2]
        self.band_h = text_band(["", ""], w).shape[0]
        self.shape = (self.band_h + h, w, 3)
        self._last: tuple[int, int, np.ndarray] | None = None  # (episode, row, frame) drawn last

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def __getitem__(self, i: int) -> np.ndarray:  # type: ignore[override]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"frame {i} of {n}")
        i %= n
        k = int(np.searchsorted(self.ends, i, side="right"))
        length = int(self.recording.lengths[k])
        row = min(i - (int(self.ends[k]) - length - self.hold), length)  # the last state is held
        if self._last is None or self._last[:2] != (k, row):
            self._last = (k, row, self._draw(k, row))
        return self._last[2]

    def _draw(self, k: int, row: int) -> np.ndarray:
        rec = self.recording
        K, last = rec.frames.shape[1], row == rec.lengths[k]
        ret = float(rec.booked_returns[k] if last else rec.returns[row, k])
        outcome = outcome_text(rec, k) if last else "-"
        img = np.empty(self.shape, dtype=np.uint8)
        img[: self.band_h] = text_band(
            episode_text(k + 1, K, row, rec.max_steps, ret, outcome), self.shape[1]
        )
        img[self.band_h :] = upscale(rec.frames[row, k], self.size, self.grid and rec.cells)
        return img


# -------------------------------------------------------------------------------------------- files
@contextmanager
def atomic_target(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix) to write; it replaces ``path`` on success.

    An exception inside the block (or no / an empty temporary file after it) leaves ``path`` untouched
    and removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise RuntimeError(f"{path}: the writer produced no file")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _mp4_sink(path: Path, h: int, w: int, fps: float) -> Iterator[Callable[[np.ndarray], None]]:
    """Yield a function that appends an ``(h, w, 3)`` frame to the H.264 file ``path`` (ffmpeg streams)."""
    import imageio_ffmpeg  # loaded when a video is written: training without videos never needs it

    ph, pw = h % 2, w % 2  # yuv420p needs an even size: one black row / column where odd
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (w + pw, h + ph),
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        quality=MP4_QUALITY,
        macro_block_size=2,
        ffmpeg_log_level="error",
        output_params=["-preset", "veryfast", "-movflags", "+faststart"],  # veryfast: 0.7x medium's CPU
    )
    writer.send(None)  # starts ffmpeg
    try:
        yield lambda f: writer.send(np.pad(f, ((0, ph), (0, pw), (0, 0))) if ph or pw else f)
    finally:
        writer.close()  # waits for ffmpeg to finish the file


def _checked(frames: Frames, i: int, hw: tuple[int, int]) -> np.ndarray:
    """``frames[i]``; raises ValueError unless it is uint8 RGB HWC of size ``hw``."""
    f = frames[i]
    if f.shape != (*hw, 3) or f.dtype != np.uint8:
        raise ValueError(f"frame {i}: expected uint8 ({hw[0]}, {hw[1]}, 3) RGB, got {f.dtype} {f.shape}")
    return f


def _gif_quantizer(frames: Frames, hw: tuple[int, int]) -> Callable[[np.ndarray], Image.Image]:
    """A function from a frame to a palette image, with one palette for all ``frames``.

    The palette holds the colours of a sample of up to 16 frames: exactly when they are 256 or fewer
    (the game draws few colours), else their median cut (no dithering). A shared palette is about 30x
    faster than one per frame. A frame passed twice in a row (the same array object: a held frame) is
    quantized once.
    """
    step = max(1, len(frames) // 16)
    sample = Image.fromarray(
        np.concatenate([_checked(frames, i, hw) for i in range(0, len(frames), step)][:16])
    )
    colors = sample.getcolors(256)
    if colors is None:
        palette = sample.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    else:
        palette = Image.new("P", (1, 1))
        palette.putpalette([c for _, rgb in colors for c in rgb])  # type: ignore[union-attr]  # RGB: tuples
    last: list[Any] = [None, None]  # [frame, image]

    def quantize(frame: np.ndarray) -> Image.Image:
        if frame is not last[0]:
            last[:] = frame, Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE)
        return last[1]

    return quantize


def _write(frames: Frames, mp4: Path | None, gif: Path | None, fps: float) -> None:
    """One pass over ``frames``: each is streamed to ffmpeg (``mp4``) and quantized for the GIF (``gif``).

    ffmpeg encodes in its own process meanwhile. Raises ValueError unless the frames are uint8 RGB HWC
    of one size, at least one. Files appear only once both are complete (ffmpeg is done before either
    is moved into place); a failure leaves no partial file and no temporary file.
    """
    if len(frames) == 0:
        raise ValueError("no frames to write")
    h, w = frames[0].shape[:2]
    with ExitStack() as stack:
        gif_tmp = stack.enter_context(atomic_target(gif)) if gif else None
        add_mp4 = (
            stack.enter_context(_mp4_sink(stack.enter_context(atomic_target(mp4)), h, w, fps))
            if mp4
            else None
        )
        quantize = _gif_quantizer(frames, (h, w)) if gif_tmp else None
        images = []
        for i in range(len(frames)):
            f = _checked(frames, i, (h, w))
            if add_mp4 is not None:
                add_mp4(f)
            if quantize is not None:
                images.append(quantize(f))
        if gif_tmp is not None:
            images[0].save(
                gif_tmp,
                format="GIF",
                save_all=True,
                append_images=images[1:],
                duration=max(20, round(1000 / fps)),
                loop=0,
                optimize=False,
            )


def write_mp4(frames: Frames, path: str | os.PathLike[str], fps: float = VIDEO_FPS) -> Path:
    """Write frames to an H.264 ``.mp4`` (yuv420p, faststart: plays in browsers), atomically.

    Uses the ffmpeg binary bundled with ``imageio-ffmpeg``. An odd width / height gets one black
    column / row at the right / bottom (H.264 in yuv420p needs even sizes). Returns ``path``.
    """
    _write(frames, Path(path), None, fps)
    return Path(path)


def write_gif(frames: Frames, path: str | os.PathLike[str], fps: float = VIDEO_FPS) -> Path:
    """Write frames to a looping GIF with Pillow (plays in browsers and READMEs), atomically.

    One palette serves every frame; Pillow merges identical consecutive frames into one longer frame
    (the timing is kept). Returns ``path``.
    """
    _write(frames, None, Path(path), fps)
    return Path(path)


def write_media(frames: Frames, base: str | os.PathLike[str], fps: float = VIDEO_FPS) -> tuple[Path, Path]:
    """Write ``<base>.mp4`` (as :func:`write_mp4`) and ``<base>.gif`` (as :func:`write_gif`) in one pass.

    Returns both paths; a failure leaves no partial file (ffmpeg finishes before either file is moved
    into place).
    """
    base = Path(base)
    mp4, gif = base.with_name(base.name + ".mp4"), base.with_name(base.name + ".gif")
    _write(frames, mp4, gif, fps)
    return mp4, gif


# ------------------------------------------------------------------------------------ evaluations
def write_recording(
    recording: Recording, base: str | os.PathLike[str], size: int = VIDEO_SIZE, fps: float = VIDEO_FPS
) -> dict[str, Any]:
    """:class:`EpisodeFrames` of ``recording`` written by :func:`write_media` to ``<base>.mp4`` / ``.gif``.

    Returns what ``eval.json`` keeps of the video: ``mp4``, ``gif`` (paths as str), ``episodes``,
    ``frames``, ``height``, ``width``, ``fps``.
    """
    frames = EpisodeFrames(recording, size=size, fps=fps)
    mp4, gif = write_media(frames, base, fps)
    (h, w, _), episodes = frames.shape, int(recording.frames.shape[1])
    return dict(mp4=str(mp4), gif=str(gif), episodes=episodes, frames=len(frames), height=h, width=w, fps=fps)
