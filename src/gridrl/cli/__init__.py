"""Command line: ``gridrl train|eval|play|plot``, one module per command, each a Hydra app.

Every command takes Hydra overrides (``key=value``, ``--help``, ``--cfg job``, ``-m`` sweeps); ``eval``,
``play`` and ``plot`` also take a run dir (``plot``: several) as a positional argument. A user mistake
prints one line and exits with 2 (:mod:`gridrl.cli.app`). Nothing heavy is imported here, so that
``gridrl --help`` answers at once.
"""

from __future__ import annotations

import sys
from typing import Any

USAGE = """usage: gridrl <command> [key=value ...]

commands:
  train   train an agent:        gridrl train [env=seed agent=dqn_fast ...]   (-m key=a,b for sweeps)
  eval    evaluate a trained network:  gridrl eval <run dir | .pt> [episodes=N video=true env.<key>=...]
  play    play with the keyboard, or watch an agent:  gridrl play [checkpoint=<run dir>] [env=seed]
  plot    learning curves and statistics of runs:  gridrl plot <run or sweep dir>... [out=curves.png]

Each command is a Hydra app: gridrl <command> --help lists its keys and presets, --cfg job prints
the composed config, -m runs a sweep (e.g. gridrl eval -m checkpoint=<run a>,<run b>).
"""
COMMANDS = ("train", "eval", "play", "plot")


def main(argv: list[str] | None = None) -> Any:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        from gridrl.cli.app import fail

        fail(f"unknown command {command!r}; choose one of {', '.join(COMMANDS)}")
    from importlib import import_module

    module = import_module(f"gridrl.cli.{command}")
    return module.main(rest)
