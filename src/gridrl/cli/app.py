"""What every command shares: running as a Hydra app over the packaged presets, the check of a
command line before Hydra writes anything, and the one error funnel (one line, exit status 2).
"""

from __future__ import annotations

import functools
import logging
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from gridrl.checkpoint import CheckpointError
from gridrl.config import ConfigError

log = logging.getLogger("gridrl")
USER_ERRORS = (ConfigError, CheckpointError)


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"gridrl: error: {message}", file=sys.stderr)
    raise SystemExit(code)


@contextmanager
def funnel() -> Iterator[None]:
    """A user mistake raised inside: one line on stderr, exit status 2."""
    try:
        yield
    except USER_ERRORS as exc:
        fail(str(exc))


def is_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def task(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A Hydra task behind the funnel: in a single run a user mistake exits with 2; in a sweep the job
    reports it in one line and returns NaN, and the other jobs go on."""

    @functools.wraps(fn)
    def wrapper(cfg: Any) -> Any:
        try:
            return fn(cfg)
        except USER_ERRORS as exc:
            if not is_multirun():
                fail(str(exc))
            log.error("job failed: %s", exc)
            return math.nan

    return wrapper


def split_flags(args: list[str]) -> tuple[set[str], bool]:
    """(the ``-``-flags given, whether this is a plain ``-m`` sweep)."""
    flags = {a for a in args if a.startswith("-")}
    return flags, bool(flags) and flags <= {"-m", "--multirun"}


def precheck(config_name: str, args: list[str], validate: Callable[[Any], Any]) -> None:
    """Compose the command line's config and ``validate`` it before Hydra starts, so that a mistake is
    one line and writes nothing. In a sweep only what Hydra composes first (the config without the swept
    values) is checked; a key that only some swept presets have gets the ``++`` hint."""
    flags, multirun = split_flags(args)
    if flags and not multirun:  # --help, --cfg ...: Hydra's own business
        return
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from gridrl.config import compose

    overrides = [a for a in args if not a.startswith(("-", "hydra.", "hydra/", "+hydra"))]
    swept: set[str] = set()
    if multirun:
        try:
            parsed = OverridesParser.create().parse_overrides(overrides)
        except HydraException:
            return  # a grammar error: Hydra reports it
        swept = {o.key_or_group for o in parsed if o.is_sweep_override()}
        overrides = [str(o.input_line) for o in parsed if not o.is_sweep_override()]
    try:
        cfg = compose(overrides, config_name=config_name, resolve=False)
    except ConfigError as exc:
        raise ConfigError(_sweep_hint(str(exc), overrides, swept)) from None
    if not multirun:  # each job of a sweep is checked when it starts (a failing job is a summary row)
        validate(cfg)


def _sweep_hint(text: str, overrides: list[str], swept: set[str]) -> str:
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        group = key.split(".", 1)[0]
        if (f"'{key}'" in text or f" {key} " in text or text.startswith(f"{key} ")) and group in swept:
            return (
                f"{key} is not a key of the default {group} preset, and Hydra checks the overrides that are "
                f"not swept against it before the sweep picks the {group} of each job: write "
                f"++{override.lstrip('+~')} (jobs whose {group} has no such key then fail alone)"
            )
    return text


HELP_FLAGS = ("-h", "--help")


def show_help(config_name: str, args: list[str], groups: tuple[str, ...]) -> int:
    """A command's ``--help``: its header (``hydra.help.header`` of its YAML), the presets of its config
    groups and its composed config (model layers with only the fields their type uses). Hydra's own help
    lists every group of the search path, which takes seconds; this takes a compose."""
    from omegaconf import OmegaConf

    from gridrl.config import canonical_layer, compose, presets

    overrides = [a for a in args if not a.startswith("-")]
    cfg = compose(overrides, config_name=config_name, resolve=False, keep_hydra=True)
    header = str(cfg.hydra.help.header)
    del cfg["hydra"]
    data = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(data, dict)
    model = data.get("model")
    if isinstance(model, dict) and isinstance(model.get("layers"), list):
        model["layers"] = [canonical_layer(layer) for layer in model["layers"]]
    lines = [header]
    if groups:
        lines += ["", "== Config groups (group=preset) =="] + [
            f"{g}: {', '.join(presets(g))}" for g in groups
        ]
    lines += ["", "== Config (override any key: key=value) ==", OmegaConf.to_yaml(data).rstrip()]
    lines += ["", "Powered by Hydra (https://hydra.cc): --cfg job prints the composed config, -m runs a sweep,",
              "--hydra-help lists Hydra's own flags."]  # fmt: skip
    print("\n".join(lines))
    return 0


def run(prog: str, config_name: str, fn: Callable[[Any], Any], args: list[str]) -> Any:
    """Run ``fn`` as the Hydra app ``prog`` over ``conf/<config_name>.yaml`` with ``args``."""
    import hydra

    from gridrl.config import CONF_DIR, register_configs

    register_configs()
    argv = sys.argv
    sys.argv = [prog, *args]
    try:
        hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)(fn)()
        return 0
    finally:
        sys.argv = argv


def positional(args: list[str], keys: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(positional args: existing paths or words without ``=``, the other args). A dir named like
    ``k=v`` (Hydra's sweep subdirs) counts as positional when it exists and ``k`` is no known key."""
    from pathlib import Path

    pos, rest = [], []
    for a in args:
        key = a.split("=", 1)[0].lstrip("+~")
        known = key.split(".", 1)[0] in keys or key.startswith("hydra")
        if a.startswith("-") or ("=" in a and (known or not Path(a).exists())):
            rest.append(a)
        else:
            pos.append(a)
    return pos, rest


def quote(value: str) -> str:
    """A string as a quoted Hydra override value (paths may hold ``=``, ``:``, ``,`` ...)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
