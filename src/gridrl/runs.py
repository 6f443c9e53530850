"""Reading runs: a *run* is a directory holding ``tb/`` (what ``gridrl train`` writes); a sweep dir holds
runs below it. Each run's config (``final/config.yaml``, else ``.hydra/config.yaml``) and TensorBoard
scalars are read, and runs are grouped by their config minus the keys that do not change what is learned
(:data:`IGNORED_KEYS`: the seed, paths, logging knobs), so the seeds of one setting form one group;
``group_by`` picks the keys explicitly instead. Used by ``gridrl plot`` (curves) and :mod:`gridrl.compare`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gridrl.config import ConfigError, canonical_layer
from gridrl.rundir import RunDir, find_runs

# config keys that do not change what a run learns: runs differing only there are one group
IGNORED_KEYS = (
    "seed", "name", "resume", "device",
    "trainer.progress", "trainer.threads", "trainer.auto_resume", "trainer.save_replay",
    "trainer.keep_checkpoints", "trainer.checkpoint_every", "trainer.log_every", "trainer.image_every",
    "trainer.video", "trainer.video_episodes",
)  # fmt: skip


@dataclass
class Run:
    """One training run: where it is, its flattened config and its scalars."""

    path: Path
    config: dict[str, Any]  # dotted key -> value (lists as JSON text); {} when no config file was found
    scalars: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # tag -> (steps, values)


# ------------------------------------------------------------------------------------------- reading
def read_config(run_dir: Path) -> dict[str, Any]:
    """The run's config, flattened (``final/config.yaml``, else ``.hydra/config.yaml``; {} if neither)."""
    import yaml

    path = RunDir(run_dir).saved_config()
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    layers = data.get("model", {}).get("layers") if isinstance(data.get("model"), dict) else None
    if isinstance(layers, list):
        data["model"]["layers"] = [canonical_layer(layer) for layer in layers]
    return flatten(data)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"a.b": value}``; lists become JSON text (hashable, comparable)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, sort_keys=True)
        else:
            out[name] = value
    return out


def read_scalars(tb_dir: Path, tags: Sequence[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Scalars of the event files in ``tb_dir``: tag -> (steps int64, values float64), sorted by step.

    A step logged twice (a run resumed after a crash rewrites the steps after its checkpoint) keeps
    the value written last.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logging.getLogger("tensorboard").setLevel(logging.ERROR)  # its reader's "No path found after ..." chatter

    acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
    acc.Reload()
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for tag in acc.Tags().get("scalars", []):
        if tags is not None and tag not in tags:
            continue
        by_step = {int(e.step): float(e.value) for e in acc.Scalars(tag)}
        steps = np.array(sorted(by_step), dtype=np.int64)
        out[tag] = (steps, np.array([by_step[s] for s in steps], dtype=np.float64))
    return out


def load_runs(dirs: Iterable[str | os.PathLike[str]], tags: Sequence[str] | None = None) -> list[Run]:
    """:func:`find_runs` + each run's config and scalars (``tags``: only those; None: all)."""
    try:
        paths = find_runs(dirs)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    return [Run(p, read_config(p), read_scalars(RunDir(p).tb, tags)) for p in paths]


# ------------------------------------------------------------------------------------------ grouping
def group_runs(runs: Sequence[Run], group_by: Sequence[str] | None = None) -> dict[str, list[Run]]:
    """Label -> runs. Default: runs with equal configs minus :data:`IGNORED_KEYS` form a group, labelled
    by the keys that differ between groups (or a short description when there is one group). Runs
    without a config are groups of their own, labelled by their path. With ``group_by``, the values of
    those keys alone define the groups."""
    if group_by:
        known = set().union(*(r.config for r in runs)) if runs else set()
        for key in group_by:
            if key not in known:
                raise ConfigError(
                    f"group_by={key} is in no run's config; keys look like agent.lr, model.name"
                )
        buckets: dict[tuple[Any, ...], list[Run]] = {}
        for r in runs:
            buckets.setdefault(tuple(_hashable(r.config.get(k)) for k in group_by), []).append(r)
        return {
            ", ".join(f"{k}={_short(v)}" for k, v in zip(group_by, key, strict=True)): members
            for key, members in buckets.items()
        }
    keyed: dict[tuple[tuple[str, Any], ...], list[Run]] = {}
    loose: list[Run] = []
    for r in runs:
        if not r.config:
            loose.append(r)
            continue
        items = tuple(sorted((k, _hashable(v)) for k, v in r.config.items() if k not in IGNORED_KEYS))
        keyed.setdefault(items, []).append(r)
    groups: dict[str, list[Run]] = {}
    configs = [dict(items) for items in keyed]
    all_keys = set().union(*configs) if configs else set()
    differ = sorted(k for k in all_keys if len({str(c.get(k)) for c in configs}) > 1)
    if "model.name" in differ:  # the layer list is implied by the model's name
        differ = [k for k in differ if not k.startswith("model.layers")]
    names = {items: _run_name(members) for items, members in keyed.items()}
    implied = _implied_by_name(differ, names)
    for items, members in keyed.items():
        config = dict(items)
        parts = [str(names[items])] if implied else []
        parts += [f"{k}={_short(config.get(k))}" for k in differ if k not in implied]
        groups[_unique(", ".join(parts) if parts else describe(config), groups)] = members
    for r in loose:
        groups[_unique(r.path.name, groups)] = [r]
    return groups


def _run_name(members: Sequence[Run]) -> str | None:
    """The ``name`` the runs of a group share (by default ``<env preset>-<agent preset>``), else None."""
    found = {r.config.get("name") for r in members}
    name = found.pop() if len(found) == 1 else None
    return name if isinstance(name, str) and "${" not in name else None


def _implied_by_name(differ: Sequence[str], names: dict[Any, str | None]) -> set[str]:
    """The differing keys whose value the group's run name determines (e.g. the dozen ``agent.*`` keys
    that ``agent=pqn,dqn`` changes: the label then says ``default-dqn``). Empty unless every group has
    a name and the names differ."""
    distinct = set(names.values())
    if None in distinct or len(distinct) < 2:
        return set()
    values: dict[tuple[str, str | None], set[str]] = {}
    for items, name in names.items():
        config = dict(items)
        for k in differ:
            values.setdefault((k, name), set()).add(str(config.get(k)))
    return {k for k in differ if all(len(values[(k, n)]) == 1 for n in distinct)}


def describe(config: dict[str, Any]) -> str:
    """A short name of a config: learner, model and game (e.g. ``pqn, ego_cnn, 10x10 ego``)."""
    parts = [config.get("agent.name"), config.get("model.name")]
    if "env.height" in config:
        parts.append(
            f"{config['env.height']}x{config.get('env.width')} {config.get('env.obs_mode', '')}".strip()
        )
    return ", ".join(str(p) for p in parts if p) or "runs"


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _short(value: Any, width: int = 40) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _unique(label: str, taken: dict[str, Any]) -> str:
    out, i = label, 2
    while out in taken:
        out, i = f"{label} ({i})", i + 1
    return out


# -------------------------------------------------------------------------------------------- curves
