"""Pictures of the grid game, drawn in memory: RGB frames of states, crisp upscaling, text bands.

This module only draws: it writes no file and opens no window (files: :mod:`gridrl.videos`; the play
window: :mod:`gridrl.window`).

Conventions (one for the whole module):

- A game frame is uint8 RGB, channel-first ``(3, H, W)`` (``(N, 3, H, W)`` for N games): what
  :class:`~gridrl.game.grid.GridGame` renders in ``rgb`` mode and what :func:`state_frames` draws.
- Every picture this module returns or takes otherwise is uint8 **RGB, channel-last** ``(h, w, 3)``.
  Colours passed to :func:`annotate` are RGB too.

The RGB frame of a finished episode's last state is not the game's frame after the step (the game has
auto-reset by then): :class:`ViewedGame` keeps that state for the picture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from gridrl.config import EnvConfig
from gridrl.game.grid import GridGame

GRID_LINE_RGB = (48, 48, 48)  # thin lines between cells (background is black)
BAND_RGB = (24, 24, 24)  # background of the text band
TEXT_RGB = (235, 235, 235)  # text colour
FONT = cv2.FONT_HERSHEY_SIMPLEX


# ------------------------------------------------------------------------------------------- states
def state_frames(cfg: EnvConfig, state: Mapping[str, np.ndarray]) -> np.ndarray:
    """RGB game frames ``(N, 3, H, W)`` of N states (a :meth:`GridGame.get_state` dict, or its rows).

    Pixel for pixel what a ``GridGame`` in ``rgb`` mode shows for that state: black, live food, then
    enemies, then the player on top, in ``cfg``'s colours. Plain array indexing: cheap enough to call
    at every step of a recorded game.
    """
    player = np.asarray(state["player"]).reshape(-1, 2)
    n = len(player)
    food = np.asarray(state["food"]).reshape(n, -1, 2)
    alive = np.broadcast_to(np.asarray(state.get("food_alive", True), dtype=bool), food.shape[:2])
    enemy = np.asarray(state["enemy"]).reshape(n, -1, 2)
    out = np.zeros((n, 3, cfg.height, cfg.width), dtype=np.uint8)
    for pos, color, keep in (
        (food, cfg.food_color, alive),
        (enemy, cfg.enemy_color, None),
        (player[:, None], cfg.player_color, None),
    ):
        games = np.broadcast_to(np.arange(n)[:, None], pos.shape[:2])
        if keep is not None:
            games, pos = games[keep], pos[keep]
        out[games, :, pos[..., 1], pos[..., 0]] = np.asarray(color, dtype=np.uint8)
    return out


class ViewedGame(GridGame):
    """A :class:`GridGame` (``cfg.obs_mode`` observations) that also keeps each finished episode's last state.

    The game auto-resets finished episodes inside ``step``; this subclass copies the state of the games
    it respawns first, into :attr:`final_state` (arrays of N rows, valid for the games that finished at
    the last step). It plays exactly as a ``GridGame`` (same observations, rewards and random draws).
    :meth:`frames` and :meth:`final_frames` draw the current / final states in RGB.
    """

    def __init__(self, cfg: EnvConfig, n: int = 1) -> None:
        super().__init__(cfg, n)
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

    def frames(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """RGB ``(n, 3, H, W)`` of the current states of the games ``rows`` (default all; a new array)."""
        return state_frames(self.cfg, {k: v[rows] for k, v in self.get_state().items()})

    def final_frames(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """RGB ``(n, 3, H, W)`` of :attr:`final_state` (valid for the games finished at the last step)."""
        return state_frames(self.cfg, {k: v[rows] for k, v in self.final_state.items()})


# ----------------------------------------------------------------------------------------- pictures
def upscale(frames_chw_rgb: np.ndarray, size: int, grid: bool = False) -> np.ndarray:
    """Game frame(s) ``(..., 3, H, W)`` -> RGB image(s) ``(..., h, w, 3)``, nearest-neighbour (crisp cells).

    The longer side becomes ``size`` pixels and cells stay square-ish: a square grid gives exactly
    ``(size, size, 3)``. Pixel ``(py, px)`` shows cell ``(py * H // h, px * W // w)`` (the mapping of
    ``cv2.INTER_NEAREST``, computed exactly with integers), so cells are 1 pixel apart in size at most
    and every pixel holds an exact cell colour. ``grid=True`` draws 1-pixel lines on the first row /
    column of every cell but the first (those pixels take ``GRID_LINE_RGB``). Leading axes (a batch of
    frames) are kept: one call upscales a whole episode.
    """
    frame = np.asarray(frames_chw_rgb)
    if frame.ndim < 3 or frame.shape[-3] != 3:
        raise ValueError(f"expected (3, H, W) RGB frame(s), got shape {frame.shape}")
    H, W = frame.shape[-2:]
    if size < max(H, W):
        raise ValueError(f"size={size} is smaller than the grid ({H}x{W})")
    h, w = (size, max(1, round(size * W / H))) if H >= W else (max(1, round(size * H / W)), size)
    rows = np.arange(h) * H // h
    cols = np.arange(w) * W // w
    # columns first (a small (H, w) image), then whole rows: about 10x faster than one 2-D gather
    img = np.moveaxis(frame.astype(np.uint8, copy=False), -3, -1).take(cols, axis=-2).take(rows, axis=-3)
    if grid:
        img[..., np.flatnonzero(np.diff(rows)) + 1, :, :] = GRID_LINE_RGB
        img[..., np.flatnonzero(np.diff(cols)) + 1, :] = GRID_LINE_RGB
    return img


def font_scale(width: int) -> float:
    """Font scale of :func:`annotate`: 0.6 (text about 13 px high) for a 400-pixel-wide image."""
    return max(0.35, 0.6 * width / 400)


def text_band(text_lines: Sequence[str], width: int, color: tuple[int, int, int] = TEXT_RGB) -> np.ndarray:
    """A dark RGB band ``(band_h, width, 3)`` holding ``text_lines``, left-aligned.

    ``band_h`` depends only on ``width`` and the number of lines (and is even), so bands with the same
    number of lines stack into frames of one size (what a video needs).
    """
    scale = font_scale(width)
    thick = max(1, round(scale * 1.6))
    (_, text_h), base = cv2.getTextSize("Ag", FONT, scale, thick)
    line_h = text_h + base + max(4, round(6 * scale))
    pad = max(4, round(8 * scale))
    band_h = len(text_lines) * line_h + pad
    band_h += band_h % 2
    band = np.empty((band_h, width, 3), dtype=np.uint8)
    band[:] = BAND_RGB
    for i, line in enumerate(text_lines):
        y = pad // 2 + i * line_h + text_h + (line_h - text_h - base) // 2
        cv2.putText(band, str(line), (pad, y), FONT, scale, color, thick, cv2.LINE_AA)
    return band


def annotate(
    img: np.ndarray, text_lines: Sequence[str], where: str = "top", color: tuple[int, int, int] = TEXT_RGB
) -> np.ndarray:
    """A new image: ``img`` (RGB HWC) with a :func:`text_band` above (``top``) or below (``bottom``)."""
    if where not in ("top", "bottom"):
        raise ValueError(f"where={where!r}: choose top or bottom")
    band = text_band(text_lines, img.shape[1], color)
    parts = (band, img) if where == "top" else (img, band)
    return np.ascontiguousarray(np.concatenate(parts, axis=0))
