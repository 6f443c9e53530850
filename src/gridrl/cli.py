"""Command line: ``gridrl train|eval|play|plot``.

``gridrl train`` is a Hydra app (``--help``, ``--cfg job``, ``-m`` sweeps, ``key=value`` overrides).
A user mistake (bad value, bad checkpoint, incompatible resume) prints one line and exits with 2.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from gridrl.checkpoint import CheckpointError
from gridrl.config import CONF_DIR, ConfigError

USAGE = """usage: gridrl <command> [key=value ...]

commands:
  train   train an agent (Hydra app: gridrl train --help, gridrl train -m key=a,b for sweeps)
  eval    evaluate a trained network: gridrl eval checkpoint=<run dir or .pt> [episodes=N video=true]
  play    play the game with the keyboard, or watch an agent: gridrl play [checkpoint=...] [env=seed]
  plot    learning curves of runs or sweeps: gridrl plot <run or sweep dir>... [out=curves.png]
"""
log = logging.getLogger("gridrl")


def _fail(message: str, code: int = 2) -> None:
    print(f"gridrl: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> Any:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "train":
            return _train(rest)
        if command == "eval":
            from gridrl.commands import eval_command

            return eval_command(rest)
        if command == "play":
            from gridrl.commands import play_command

            return play_command(rest)
        if command == "plot":
            from gridrl.commands import plot_command

            return plot_command(rest)
    except (ConfigError, CheckpointError) as exc:
        _fail(str(exc))
    _fail(f"unknown command {command!r}; choose one of train, eval, play, plot")
    return 2


def _train(args: list[str]) -> Any:
    import hydra

    from gridrl.config import register_configs
    from gridrl.runner import resume_overrides, train_task

    register_configs()
    extra = resume_overrides(args)
    if not any(a.startswith("resume=") for a in args):
        precheck(args)
    sys.argv = ["gridrl train", *args, *extra]
    app = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(train_task)
    return app()


def _unknown_key_message(text: str) -> str | None:
    """Hydra's "Could not override 'agent.lrr'. To append ... use +agent.lrr=...: Key 'lrr' not in
    'PQNConfig'" as :func:`gridrl.config.unknown_key`'s one line (``+`` cannot add to a schema)."""
    import re

    from gridrl import config as schemas

    m = re.search(r"Could not override '([^']+)'.*Key '[^']+' not in '(\w+)'", text)
    schema = getattr(schemas, m.group(2), None) if m else None
    return str(schemas.unknown_key(m.group(1), schema)) if m and isinstance(schema, type) else None


def precheck(args: list[str]) -> None:
    """Compose and validate the config of a single run before Hydra creates its run dir, so that a
    bad value fails with one line and writes nothing. For a sweep (``-m``), compose what Hydra composes
    first, the config without the swept values, and say how to get past Hydra's check when a key only
    some swept presets have is the cause."""
    flags = {a for a in args if a.startswith("-")}
    multirun = bool(flags) and flags <= {"-m", "--multirun"}
    if flags and not multirun:  # --help, --cfg ...: Hydra's own business
        return
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    from gridrl.config import to_config

    task = [a for a in args if not a.startswith(("-", "hydra.", "hydra/", "+hydra", "resume="))]
    swept: set[str] = set()
    if multirun:
        try:
            parsed = OverridesParser.create().parse_overrides(task)
        except HydraException:
            return  # a grammar error: Hydra reports it
        swept = {o.key_or_group for o in parsed if o.is_sweep_override()}
        task = [o.input_line for o in parsed if not o.is_sweep_override()]
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=task, return_hydra_config=True)
            HydraConfig.instance().set_config(cfg)
            OmegaConf.set_struct(cfg, False)
            del cfg["hydra"]
            if multirun:  # each job's values are checked when it starts (a failing job is a summary row)
                return
            config = to_config(cfg)
    except HydraException as exc:
        text = str(exc).split("Config search path")[0]
        if exc.__cause__ is not None:
            text += ": " + str(exc.__cause__).strip().splitlines()[0]
        text = " ".join(line.strip() for line in text.splitlines() if line.strip())
        for override in task:
            key = override.lstrip("+~").split("=", 1)[0]
            if f"'{key}'" in text and key.split(".", 1)[0] in swept:
                group = key.split(".", 1)[0]
                text = (
                    f"{key} is not a key of the default {group} preset, and Hydra checks the overrides that "
                    f"are not swept against it before the sweep picks the {group} of each job: write "
                    f"++{override.lstrip('+~')} (jobs whose {group} has no such key then fail alone)"
                )
                break
        else:
            text = _unknown_key_message(text) or text
        raise ConfigError(text) from None
    # the network must fit the game's image (a layer may not shrink it below 1x1)
    from gridrl.agent.networks import build_q_network
    from gridrl.game.grid import n_actions, obs_shape

    build_q_network(config.model, obs_shape(config.env), n_actions(config.env))
