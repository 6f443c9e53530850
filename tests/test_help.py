"""``gridrl --help`` and each command's ``--help``, each in a fresh process as a user runs it: exit 0,
every key of the command's schema with its value, the presets of its config groups (read from the
preset files), model layers printed with only the fields their type uses, and nothing heavy imported
(the README: help answers at once; torch alone takes seconds to import)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from omegaconf import MISSING

import gridrl
from gridrl.cli import COMMANDS
from gridrl.cli.eval import EvalCommandConfig
from gridrl.cli.play import PlayCommandConfig
from gridrl.cli.plot import PlotCommandConfig
from gridrl.config import (
    CONF_DIR,
    LAYER_FIELDS,
    Config,
    DQNConfig,
    EnvConfig,
    EpsilonConfig,
    ModelConfig,
    PQNConfig,
    RewardConfig,
    TrainerConfig,
    compose,
    to_config,
)

SRC = str(Path(gridrl.__file__).resolve().parents[1])
CHILD = (
    "import sys; from gridrl.cli import main; code = main(sys.argv[1:]); "
    "print('imported torch:', 'torch' in sys.modules, file=sys.stderr); sys.exit(code)"
)
GROUPS_HEAD, CONFIG_HEAD = "== Config groups (group=preset) ==", "== Config (override any key: key=value) =="


def gridrl_help(*args: str) -> tuple[str, str]:
    """(stdout, stderr) of ``gridrl <args>`` in a fresh process; it must exit 0 without importing torch."""
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "imported torch: False" in proc.stderr
    return proc.stdout, proc.stderr


def sections(out: str) -> tuple[str, dict[str, list[str]], dict[str, Any]]:
    """(header, {group: presets}, the printed config) of a command's help."""
    if GROUPS_HEAD in out:
        header, rest = out.split(GROUPS_HEAD)
        groups_text, rest = rest.split(CONFIG_HEAD)
    else:  # a command without config groups (plot) prints no groups heading
        (header, rest), groups_text = out.split(CONFIG_HEAD), ""
    config_text = rest.split("\nPowered by Hydra")[0]
    groups = {}
    for line in groups_text.strip().splitlines():
        name, listed = line.split(": ")
        groups[name] = listed.split(", ")
    return header, groups, yaml.safe_load(config_text)


def preset_files(group: str) -> list[str]:
    """The preset files of a group, those in subfolders by their path (env=minatar/breakout)."""
    root = CONF_DIR / group
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.yaml"))


def field_names(schema: type) -> set[str]:
    return {f.name for f in dataclasses.fields(schema)}


def plain(value: Any) -> Any:
    """A dataclass value as YAML prints it (MISSING as Hydra's ???)."""
    return "???" if value is MISSING else value


def test_gridrl_help_lists_every_command() -> None:
    out, _ = gridrl_help("--help")
    assert out.startswith("usage: gridrl <command>")
    listed = [line.split()[0] for line in out.split("commands:")[1].strip().split("\n\n")[0].splitlines()]
    assert listed == list(COMMANDS) == ["train", "eval", "play", "plot"]
    for command in COMMANDS:
        assert (Path(SRC) / "gridrl" / "cli" / f"{command}.py").is_file()
        assert f"gridrl {command}" in out


@pytest.mark.parametrize(
    "overrides", [[], ["agent=dqn", "model=mlp", "env=seed"]], ids=["default", "dqn-mlp-seed"]
)
def test_train_help_lists_every_key_its_value_and_the_presets(overrides: list[str]) -> None:
    out, _ = gridrl_help("train", *overrides, "--help")
    header, groups, printed = sections(out)
    assert header.startswith("gridrl train:")
    assert list(groups) == ["env", "model", "agent", "trainer", "experiment", "hparams_search"]
    for group, names in groups.items():
        assert names == preset_files(group), group
    # every key of the schema, with the value the command line composes (overrides applied)
    node = compose(overrides)
    cfg = to_config(node)
    agent_schema = DQNConfig if "agent=dqn" in overrides else PQNConfig
    assert set(printed) == field_names(Config)
    # help shows what was composed: the values decided with the game (auto, 0) as written
    assert printed["agent"]["reward"]["clip"] == node.agent.reward.clip == "auto"
    assert printed["trainer"]["total_steps"] == node.trainer.total_steps == 0
    want = {g: dataclasses.asdict(getattr(cfg, g)) for g in ("env", "agent", "trainer")}
    want["agent"]["reward"]["clip"], want["trainer"]["total_steps"] = "auto", 0
    for group, schema in (("env", EnvConfig), ("agent", agent_schema), ("trainer", TrainerConfig)):
        assert set(printed[group]) == field_names(schema), group
        assert printed[group] == want[group], group
    assert set(printed["agent"]["reward"]) == field_names(RewardConfig)
    assert set(printed["agent"]["epsilon"]) == field_names(EpsilonConfig)
    assert {k: printed[k] for k in ("seed", "device", "resume")} == {
        "seed": 0,
        "device": "auto",
        "resume": None,
    }
    # the model: every key; each layer with only the fields its type uses, stride 0 spelled out
    assert set(printed["model"]) == field_names(ModelConfig) and printed["model"]["name"] == cfg.model.name
    assert len(printed["model"]["layers"]) == len(cfg.model.layers)
    for shown, layer in zip(printed["model"]["layers"], cfg.model.layers, strict=True):
        used = LAYER_FIELDS.get(layer.type, ())
        assert set(shown) == {"type", *used}, shown
        for key in used:
            value = getattr(layer, key)
            if key == "stride" and value == 0:
                value = 1 if layer.type == "conv" else layer.kernel
            assert shown[key] == value, (shown, key)


@pytest.mark.parametrize(
    ("command", "schema", "groups"),
    [
        ("eval", EvalCommandConfig, ["env"]),
        ("play", PlayCommandConfig, ["env"]),
        ("plot", PlotCommandConfig, []),
    ],
)
def test_command_help_lists_every_key_with_its_default(command: str, schema: type, groups: list[str]) -> None:
    out, _ = gridrl_help(command, "--help")
    header, listed, printed = sections(out)
    assert header.startswith(f"gridrl {command}:") and f"usage: gridrl {command}" in header
    assert list(listed) == groups
    for group in groups:
        assert listed[group] == preset_files(group)
    assert set(printed) == field_names(schema)
    for f in dataclasses.fields(schema):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else plain(f.default)
        assert printed[f.name] == default, f.name
