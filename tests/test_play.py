"""Keyboard play: display detection, the no-display error and the scripted (window-less) key path."""

from __future__ import annotations

import time

import numpy as np
import pytest

from gridrl import window
from gridrl.config import ConfigError, EnvConfig
from gridrl.game.grid import ACTION_TABLES, GridGame
from gridrl.play import KEY_MOVES, PlaySession, key_actions, play, run_headless_script

NO_DISPLAY = (
    "gridrl play needs a display (no DISPLAY / OpenCV built without GUI): "
    "use `gridrl eval video=true` to record a video instead"
)


def test_play_without_display_raises_one_line_config_error(monkeypatch):
    monkeypatch.setattr("gridrl.window.sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(ConfigError) as err:
        play(EnvConfig())
    assert str(err.value) == NO_DISPLAY
    with pytest.raises(ConfigError):
        play(EnvConfig(), policy=lambda obs: np.zeros(1, dtype=np.int64))


def test_play_without_gui_backend_raises(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr("gridrl.window.gui_backend", lambda: "")
    with pytest.raises(ConfigError, match="needs a display"):
        play(EnvConfig())


def test_has_display_false_without_display_server(monkeypatch):
    monkeypatch.setattr(window.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert window.has_display() is False


def test_has_display_false_without_gui_backend(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(window, "gui_backend", lambda: "")
    assert window.has_display() is False
    with pytest.raises(ConfigError, match="needs a display"):
        window.Window()


def test_gui_backend_never_raises():
    assert isinstance(window.gui_backend(), str)


@pytest.mark.parametrize("actions", ["seed8", "sentdex9"])
def test_key_actions_match_the_action_tables(actions):
    table = ACTION_TABLES[actions]
    mapping = key_actions(actions)
    for key, action in mapping.items():
        assert tuple(table[action]) == KEY_MOVES[key]
    assert ("s" in mapping) == (actions == "sentdex9")  # no stay among spraphul's 8 moves
    assert {mapping[k] for k in "qweadzxc"} == set(range(8))


def test_scripted_keys_move_the_player():
    cfg = EnvConfig(height=12, width=12, n_enemies=0, obs_mode="rgb")
    keys = ["d", "d", "x", "c", "s", "z", "a", "q", "w", "e", "up", "left", "down", "right", "5", "9"]
    result = run_headless_script(cfg, keys, seed=5, size=120)
    game = GridGame(cfg, 1)
    game.reset(5)
    pos = (int(game.player[0, 0]), int(game.player[0, 1]))
    assert len(result.steps) == len(keys)
    for key, rec in zip(keys, result.steps, strict=True):
        dx, dy = KEY_MOVES[key]
        pos = (min(max(pos[0] + dx, 0), 11), min(max(pos[1] + dy, 0), 11))
        assert (rec.key, rec.player) == (key, pos)
        assert rec.reward in (cfg.move_reward, cfg.food_reward)
        if rec.terminated:
            break  # stepped onto the food: the next episode starts elsewhere
    assert len(result.frames) == 1 + len(result.steps)
    assert all(f.shape == result.frames[0].shape for f in result.frames)
    assert result.frames[0].shape[1:] == (120, 3)


def test_session_food_restart_and_quit():
    cfg = EnvConfig(actions="seed8", obs_mode="ego")
    session = PlaySession(cfg, seed=0, size=100, record_frames=True)
    session.game.set_state(
        {"player": np.array([[0, 0]]), "food": np.array([[[2, 2]]]), "enemy": np.array([[[9, 0]]])}
    )
    assert session.press("s") == "ignored"  # seed8 has no stay
    assert session.press("?") == "ignored"
    assert session.press("c") == "step" and session.player == (1, 1)
    assert session.press("3") == "step" and session.player == (2, 2)  # the numpad's 3 is down-right too
    rec = session.result.steps[-1]
    assert (rec.terminated, rec.outcome, rec.reward) == (True, "food", cfg.food_reward)
    assert session.over and session.result.returns == [cfg.move_reward + cfg.food_reward]
    assert session.press("d") == "restart" and session.episode == 2 and not session.over
    assert session.press("R") == "restart" and session.episode == 3
    assert session.press("esc") == "quit" and session.quit
    assert len(session.result.frames) == 1 + 2 + 2  # start, two steps, two new games


def test_script_stops_at_escape():
    result = run_headless_script(EnvConfig(), ["w", "esc", "w", "w"], seed=1, record_frames=False)
    assert len(result.steps) == 1 and result.frames == []


def test_session_watching_a_policy():
    cfg = EnvConfig(max_steps=3)
    seen = []

    def stay(obs):
        seen.append(obs.shape)
        return np.array([8])

    session = PlaySession(cfg, seed=0, policy=stay)
    assert [session.advance() for _ in range(4)] == ["step", "step", "step", "restart"]
    assert seen == [(1, 6, 11, 11)] * 3  # the default fovea view
    assert session.result.outcomes == ["timeout"] and session.result.returns == [-3.0]
    assert session.press("w") == "ignored" and session.press(" ") == "pause"


class FakeWindow:
    """Stands in for the OpenCV window: hands out scripted keys, keeps what was shown."""

    keys: list[str | None] = []

    def __init__(self, title: str = "gridrl") -> None:
        self.shown: list[np.ndarray] = []
        self.closed = False
        FakeWindow.last = self

    def show(self, img: np.ndarray) -> None:
        self.shown.append(img)

    def key(self, delay_ms: int = 1) -> str | None:
        time.sleep(delay_ms / 1000)  # as cv2.waitKey does when no key comes
        return FakeWindow.keys.pop(0) if FakeWindow.keys else "esc"

    def close(self) -> None:
        self.closed = True


def test_play_loop_with_a_fake_window(monkeypatch):
    monkeypatch.setattr("gridrl.play.has_display", lambda: True)
    monkeypatch.setattr("gridrl.play.Window", FakeWindow)
    FakeWindow.keys = ["d", None, "?", "x", "r", "esc"]
    result = play(EnvConfig(n_enemies=0), seed=2, size=80)
    assert [(s.key, s.player) for s in result.steps] == [("d", (8, 9)), ("x", (8, 9))]  # at the right edge
    assert FakeWindow.last.closed and len(FakeWindow.last.shown) == 1 + len(result.steps) + 1

    FakeWindow.keys = [None] * 6 + ["esc"]
    result = play(EnvConfig(max_steps=2), policy=lambda obs: np.array([8]), fps=1000, end_hold_s=0.0)
    assert len(result.steps) >= 2 and result.outcomes[:1] == ["timeout"]
    assert FakeWindow.last.closed
