"""The on-screen window of ``gridrl play`` and ``GridEnv(render_mode="human")``: OpenCV, RGB in, keys out.

Everything that needs a display lives here (the game package only draws pictures in memory):
:func:`has_display` says whether a window can open, :class:`Window` shows RGB HWC images and reads keys,
and :class:`NoDisplayError` is the one-line error raised where no window can open. OpenCV wants BGR:
the conversion happens inside :meth:`Window.show` only.
"""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from gridrl.config import ConfigError

NO_DISPLAY_MESSAGE = (
    "gridrl play needs a display (no DISPLAY / OpenCV built without GUI): "
    "use `gridrl eval video=true` to record a video instead"
)


class NoDisplayError(ConfigError):
    """An on-screen window was asked for where none can open (one line, printed by the CLI)."""


def gui_backend() -> str:
    """OpenCV's GUI framework (``GTK3``, ``QT5``, ``WIN32``, ``COCOA`` ...); ``""`` if built without one."""
    if hasattr(cv2, "currentUIFramework"):
        try:
            return str(cv2.currentUIFramework())
        except cv2.error:
            return ""
    for line in cv2.getBuildInformation().splitlines():  # OpenCV < 4.6
        key, _, value = line.strip().partition(":")
        if key.strip() == "GUI":
            value = value.strip()
            return "" if value.upper() in ("", "NONE", "NO") else value
    return ""


def has_display() -> bool:
    """True when an OpenCV window can open: a GUI backend in the build and, on Linux, a display server.

    ``opencv-python-headless`` has no GUI backend (``cv2.imshow`` would raise ``cv2.error``); this check
    opens nothing and never raises.
    """
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    return gui_backend() != ""


# key codes of cv2.waitKeyEx for the arrows: GTK/Qt on Linux, then Windows, then macOS (Cocoa)
ARROW_KEYS: dict[int, str] = {
    65361: "left",
    65362: "up",
    65363: "right",
    65364: "down",
    2424832: "left",
    2490368: "up",
    2555904: "right",
    2621440: "down",
    63234: "left",
    63232: "up",
    63235: "right",
    63233: "down",
}


class Window:
    """An OpenCV window that shows RGB HWC images and reads keys.

    Raises :class:`NoDisplayError` (with ``message``) at construction when :func:`has_display` is False.
    """

    def __init__(self, title: str = "gridrl", message: str = NO_DISPLAY_MESSAGE) -> None:
        if not has_display():
            raise NoDisplayError(message)
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
        except cv2.error as exc:
            raise NoDisplayError(message) from exc
        self.closed = False

    def show(self, img_rgb: np.ndarray) -> None:
        cv2.imshow(self.title, cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR))

    def key(self, delay_ms: int = 1) -> str | None:
        """Wait up to ``delay_ms`` (0 = forever) for a key: a character, ``esc``, an arrow name, or None.

        A window closed with the mouse reads as ``esc``.
        """
        code = cv2.waitKeyEx(delay_ms)
        if self.is_closed():
            return "esc"
        if code < 0:
            return None
        if code in ARROW_KEYS:
            return ARROW_KEYS[code]
        code &= 0xFF
        if code == 27:
            return "esc"
        return chr(code).lower() if 32 <= code < 127 else None

    def is_closed(self) -> bool:
        if self.closed:
            return True
        try:
            self.closed = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            self.closed = True
        return self.closed

    def close(self) -> None:
        if not self.closed:
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
            self.closed = True
