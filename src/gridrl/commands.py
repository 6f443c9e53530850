"""``gridrl eval``, ``gridrl play`` and ``gridrl plot``: commands that read runs, outside Hydra's run dirs.

Each command takes ``key=value`` arguments parsed with ``OmegaConf.from_dotlist`` onto a typed dataclass
(:class:`EvalCommandConfig`, :class:`PlayCommandConfig`, :class:`PlotCommandConfig`); a key the dataclass
lacks is a :class:`ConfigError` naming the allowed keys. ``env=<preset>`` (a file of ``conf/env``) and
``env.<key>=<value>`` change the game; an override that would change what the network sees (grid size,
``obs_mode``) or can do (``actions``) is refused.

A checkpoint is a run dir (its ``final/q_network.pt``, else its newest ``checkpoints/ckpt_*.pt``) or a
``.pt`` file (``final/q_network.pt`` with the ``config.yaml`` beside it, a resume checkpoint or
``best.pt``). Files are loaded as data only (``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gridrl.checkpoint import CheckpointError, safe_load
from gridrl.config import (
    Config,
    ConfigError,
    EnvConfig,
    check_choice,
    check_range,
    load_env_config,
    to_config,
    to_object,
    typed_node,
)

Policy = Callable[[np.ndarray], np.ndarray]
T = TypeVar("T")
ENV_KEYS = tuple(f.name for f in dataclasses.fields(EnvConfig))
DEVICES = ("auto", "cpu", "cuda")


# -------------------------------------------------------------------------------------------- schemas
@dataclass
class EvalCommandConfig:
    """``gridrl eval``: greedy rollouts of a trained network on fixed layouts, scored against the oracle."""

    checkpoint: str = ""  # run dir (final weights, else its newest checkpoint) or a .pt file (required)
    episodes: int | None = None  # layouts, one episode each (default: the run's trainer.eval_episodes)
    seed: int | None = None  # seed of the layouts (default: the run's trainer.eval_seed, as in training)
    epsilon: float = 0.0  # chance of a random action per step (0 = greedy)
    video: bool = False  # also write eval.mp4 and eval.gif of a few episodes
    video_episodes: int = 3  # episodes in the video
    video_size: int = 320  # video frame: pixels of the grid's longer side (a text band is added)
    fps: float = 8.0  # video frames (game steps) per second
    out: str = ""  # output dir for eval.json and videos (default: <run dir>/eval)
    device: str = "auto"  # auto (cuda if available) | cpu | cuda
    env: str | None = None  # game preset of conf/env replacing the run's game (env.<key>=... apply after)

    def __post_init__(self) -> None:
        if not self.checkpoint:
            raise ConfigError("checkpoint=<run dir or .pt file> is required")
        if self.episodes is not None:
            check_range("episodes", self.episodes, 1)
        check_range("epsilon", self.epsilon, 0.0, 1.0)
        check_range("video_episodes", self.video_episodes, 1)
        check_range("video_size", self.video_size, 16)
        check_range("fps", self.fps, 0.0, lo_open=True)
        check_choice("device", self.device, DEVICES)


@dataclass
class PlayCommandConfig:
    """``gridrl play``: play with the keyboard, or watch a trained network play, in an OpenCV window."""

    checkpoint: str | None = None  # watch this run dir / .pt file play (default: you play with the keyboard)
    env: str | None = None  # game preset of conf/env (default: the checkpoint's game, else `default`)
    seed: int = 0  # seed of the first game
    size: int = 480  # window: pixels of the grid's longer side
    fps: float = 5.0  # watching: agent steps per second
    device: str = "cpu"  # where the watched network runs: auto | cpu | cuda

    def __post_init__(self) -> None:
        check_range("size", self.size, 16)
        check_range("fps", self.fps, 0.0, lo_open=True)
        check_choice("device", self.device, DEVICES)


@dataclass
class PlotCommandConfig:
    """``gridrl plot``: learning curves (mean and spread over seeds) of runs and sweeps."""

    out: str = "curves.png"  # the PNG; the summary tables go beside it as <stem>.md and <stem>.csv
    tag: str = "eval/mean_return"  # TensorBoard scalar to draw against env steps
    group_by: str | None = None  # comma-separated config keys defining groups (default: config minus seed)
    spread: str = "std"  # band around the mean: std (mean +/- std) | minmax (min to max over runs)
    title: str | None = None  # plot title (default: the tag and the spread)
    dpi: int = 120  # PNG resolution

    def __post_init__(self) -> None:
        check_choice("spread", self.spread, ("std", "minmax"))
        check_range("dpi", self.dpi, 20)


EVAL_USAGE = """\
usage: gridrl eval checkpoint=<run dir | .pt file> [key=value ...] [env=<preset>] [env.<key>=<value>]

Greedy rollouts on fixed layouts (one episode each), scored against the oracle. Writes <out>/eval.json
(stats and the config used); video=true adds eval.mp4 and eval.gif. Env overrides test generalisation
(e.g. env.n_enemies=3 env.enemy_motion=random); the grid size, obs_mode and actions must stay.

keys:
{keys}
"""
PLAY_USAGE = """\
usage: gridrl play [checkpoint=<run dir | .pt file>] [env=<preset>] [env.<key>=<value>] [seed=S]

Without a checkpoint you play: q w e / a s d / z x c (or arrows, numpad), r new game, Esc quits.
With one you watch the network play (space pauses). Needs a display.

keys:
{keys}
"""
PLOT_USAGE = """\
usage: gridrl plot <run or sweep dir>... [out=curves.png] [tag=eval/mean_return] [group_by=k,k]

Reads the TensorBoard files of every run (a dir holding tb/) under the dirs, groups runs by config
minus the seed, and draws mean and spread of the tag against env steps; writes <out>, and summary
tables of final scores as <out stem>.md and <out stem>.csv.

keys:
{keys}
"""


def usage(text: str, schema: type) -> str:
    """The usage text with one line per key of ``schema`` (its default and its comment)."""
    import inspect

    comments: dict[str, str] = {}
    for line in inspect.getsource(schema).splitlines():
        name, sep, rest = line.strip().partition(":")
        if sep and "#" in rest and name.isidentifier():
            comments[name] = rest.split("#", 1)[1].strip()
    lines = []
    for f in dataclasses.fields(schema):
        default = f.default if f.default is not dataclasses.MISSING else None
        if isinstance(default, bool):
            default = str(default).lower()
        shown = "" if default in ("", None) else f"={default}"
        lines.append(f"  {f.name + shown:<24} {comments.get(f.name, '')}")
    return text.format(keys="\n".join(lines))


# ------------------------------------------------------------------------------------------- parsing
def parse_args(
    args: Sequence[str], schema: type[T], command: str, positional: bool = False
) -> tuple[T, list[str], list[str]]:
    """``key=value`` args -> (the schema's object, env.<key> overrides as ``key=value``, positional args).

    Values are parsed by ``OmegaConf.from_dotlist`` (YAML: ``true``, ``3``, ``0.1``, ``null``) and
    typed by the schema, except that a string key takes its text as given (a path or title with ``: ``
    stays a string; ``null`` still means None where the key allows it); a bad key or value is a
    one-line :class:`ConfigError`.
    """
    fields = dataclasses.fields(schema)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    text_keys = {f.name: "None" in str(f.type) for f in fields if str(f.type).startswith("str")}
    dotlist: list[str] = []
    texts: dict[str, str | None] = {}
    env_overrides: list[str] = []
    rest: list[str] = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if positional and key not in names and Path(arg).exists():  # a dir named like k=v (Hydra sweeps)
            rest.append(arg)
            continue
        if not sep:
            if positional and not arg.startswith("-"):
                rest.append(arg)
                continue
            raise ConfigError(
                f"gridrl {command}: argument {arg!r} is not key=value; allowed keys: {', '.join(names)}"
            )
        if key.startswith("env.") and "env" in names:
            if key[4:] not in ENV_KEYS:
                raise ConfigError(f"gridrl {command}: unknown key {key!r}; env keys: {', '.join(ENV_KEYS)}")
            env_overrides.append(f"{key[4:]}={value}")
        elif key in text_keys:
            texts[key] = None if text_keys[key] and value in ("null", "~") else value
        elif key in names:
            dotlist.append(arg)
        else:
            allowed = ", ".join(names + (["env.<key>"] if "env" in names else []))
            raise ConfigError(f"gridrl {command}: unknown key {key!r}; allowed keys: {allowed}")
    base = OmegaConf.merge(OmegaConf.structured(schema), {k: _literal(v) for k, v in texts.items()})
    obj = _to_object(base, dotlist, f"gridrl {command}")
    return obj, env_overrides, rest


def _literal(text: str | None) -> str | None:
    """Text that OmegaConf keeps as is (``${`` would start an interpolation)."""
    return None if text is None else text.replace("${", "\\${")


def _to_object(base: DictConfig, dotlist: list[str], where: str) -> Any:
    """Merge a dotlist onto a structured node and build the dataclass (its ``__post_init__`` checks)."""
    try:
        node = OmegaConf.merge(base, OmegaConf.from_dotlist(dotlist))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        raise ConfigError(f"{where}: {key + ': ' if key else ''}{str(exc).splitlines()[0]}") from None
    return to_object(node, where)


# ------------------------------------------------------------------------------------------ the game
def make_env(base: EnvConfig | None, preset: str | None, overrides: list[str]) -> EnvConfig:
    """The game: ``base`` (or the schema's defaults), replaced by ``preset`` if given, then ``overrides``."""
    return load_env_config(preset, base, overrides)


def check_same_input(trained: EnvConfig, env: EnvConfig, changes: list[str]) -> None:
    """Refuse a game whose observations or actions differ in shape or meaning from the trained one."""
    from gridrl.game.grid import n_actions, obs_shape

    keys = ("height", "width", "obs_mode", "actions")
    differ = [k for k in keys if getattr(trained, k) != getattr(env, k)]
    if not differ:
        return
    old_in, new_in = "x".join(map(str, obs_shape(trained))), "x".join(map(str, obs_shape(env)))
    diff = ", ".join(f"{k} {getattr(trained, k)} -> {getattr(env, k)}" for k in differ)
    given = " ".join(changes) if changes else "this game"
    raise ConfigError(
        f"{given} changes what the network sees or does ({diff}): it was trained on {old_in} observations "
        f"and {n_actions(trained)} actions, this game gives {new_in} and {n_actions(env)}; keep the grid "
        "size, obs_mode and actions (change n_enemies, n_food, motions, rewards, max_steps, slip, colours)"
    )


# -------------------------------------------------------------------------------------- checkpoints
@dataclass
class LoadedNetwork:
    """A trained Q-network and the config it was trained with."""

    net: Any  # gridrl.agent.networks.QNetwork, in eval mode, on ``device``
    config: Config  # the run's validated config
    config_node: DictConfig  # the same as OmegaConf (what eval.json records)
    run_dir: Path  # the run the weights belong to
    weights: Path  # the file they were read from
    env_step: int | None  # env steps of training behind them (None if unknown)
    device: Any  # torch.device

    def policy(self) -> Policy:
        """Greedy actions: uint8 observations (N, C, H, W) -> (N,) int64."""
        import torch

        net, device = self.net, self.device

        def act(obs: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return net(torch.as_tensor(np.ascontiguousarray(obs), device=device)).argmax(1).cpu().numpy()

        return act


def _config_beside(path: Path) -> Path:
    """The config of a bare state_dict file: ``config.yaml`` beside it, else the run's saved configs."""
    for cand in (
        path.parent / "config.yaml",
        path.parent.parent / "final" / "config.yaml",
        path.parent.parent / ".hydra" / "config.yaml",
        path.parent / ".hydra" / "config.yaml",
    ):
        if cand.is_file():
            return cand
    raise CheckpointError(f"{path}: a bare network state_dict without a config.yaml beside it or in its run")


def find_weights(target: str) -> tuple[Path, Path, dict[str, Any], str, int | None]:
    """(run dir, weights file, state_dict, config YAML, env step or None) of a run dir or a .pt file."""
    from gridrl import checkpoint as ckpt

    p = Path(target).expanduser()
    if p.is_dir():
        final = p / "final" / "q_network.pt"
        if final.is_file():
            metrics = p / "final" / "metrics.json"
            step = json.loads(metrics.read_text()).get("env_step") if metrics.is_file() else None
            return p, final, safe_load(final, require_format=False), _config_beside(final).read_text(), step
        found = ckpt.load_latest(p)
        if found is None:
            raise CheckpointError(
                f"checkpoint={target}: holds neither final/q_network.pt nor checkpoints/ckpt_*.pt "
                "(give a run dir of gridrl train, or a .pt file)"
            )
        path, payload = found
        return p, path, payload["learner"]["online"], payload["config_yaml"], int(payload["env_step"])
    if not p.is_file():
        raise ConfigError(f"checkpoint={target}: no such run dir or file")
    obj = safe_load(p, require_format=False)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{p}: not a gridrl checkpoint or network state_dict")
    run_dir = p.parent.parent if p.parent.name in ("final", "checkpoints") else p.parent
    if "format" in obj:  # a checkpoint: resume (learner.online) or best.pt (online)
        if obj.get("format") != ckpt.FORMAT_VERSION or "config_yaml" not in obj:
            raise CheckpointError(f"{p}: not a gridrl checkpoint of format {ckpt.FORMAT_VERSION}")
        state = obj["online"] if "online" in obj else obj.get("learner", {}).get("online")
        if state is None:
            raise CheckpointError(f"{p}: a checkpoint without network weights")
        return run_dir, p, state, obj["config_yaml"], int(obj.get("env_step", 0))
    return run_dir, p, obj, _config_beside(p).read_text(), None


def load_network(target: str, device: str = "cpu") -> LoadedNetwork:
    """Load the Q-network (and its config) of a run dir or a .pt file; see the module doc."""
    from gridrl.agent.networks import build_q_network
    from gridrl.game.grid import n_actions, obs_shape
    from gridrl.train import resolve_device

    run_dir, weights, state, config_yaml, step = find_weights(target)
    node = OmegaConf.create(config_yaml)
    assert isinstance(node, DictConfig)
    _drop_hydra_interpolations(node, run_dir.name)
    try:
        config = to_config(typed_node(node))
    except ConfigError as exc:
        raise CheckpointError(f"{weights}: its saved config is invalid: {exc}") from None
    net = build_q_network(config.model, obs_shape(config.env), n_actions(config.env))
    try:
        net.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{weights}: the weights do not fit the saved model config ({str(exc).splitlines()[0][:200]})"
        ) from None
    dev = resolve_device(device)
    net.to(dev).eval()
    return LoadedNetwork(net, config, node, run_dir, weights, step, dev)


def _drop_hydra_interpolations(node: DictConfig, fallback: str) -> None:
    """Replace values like ``${hydra:runtime.choices.env}`` (unresolvable outside Hydra) by ``fallback``."""
    for key in list(node.keys()):
        if OmegaConf.is_interpolation(node, key):
            if "hydra:" in str(node._get_node(key)._value()):  # type: ignore[union-attr]
                node[key] = fallback
        elif isinstance(node.get(key), DictConfig):
            _drop_hydra_interpolations(node[key], fallback)


# ---------------------------------------------------------------------------------------------- eval
def evaluate_policy(
    env: EnvConfig, policy: Policy, episodes: int, seed: int, epsilon: float = 0.0
) -> dict[str, Any]:
    """What ``gridrl eval`` reports: :class:`~gridrl.evaluate.Evaluator` on ``episodes`` layouts."""
    from gridrl.evaluate import Evaluator

    result = Evaluator(env, episodes, seed).run(policy, epsilon=epsilon)
    return result.summary()


def epsilon_policy(policy: Policy, epsilon: float, n_actions: int, seed: int) -> Policy:
    """``policy`` with a random action (own generator from ``seed``) with chance ``epsilon`` per game."""
    if epsilon <= 0.0:
        return policy
    rng = np.random.default_rng(seed)

    def act(obs: np.ndarray) -> np.ndarray:
        a = np.asarray(policy(obs)).astype(np.int64)
        explore = rng.random(len(a)) < epsilon
        return np.where(explore, rng.integers(0, n_actions, len(a)), a)

    return act


def run_eval(
    env: EnvConfig,
    policy: Policy,
    out_dir: Path,
    episodes: int,
    seed: int,
    epsilon: float = 0.0,
    video_episodes: int = 0,
    video_size: int = 320,
    fps: float = 8.0,
    record: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate ``policy`` on ``env``, write ``out_dir/eval.json`` (and with ``video_episodes`` > 0,
    ``eval.mp4`` / ``eval.gif``); returns what eval.json holds: ``stats``, ``eval`` (``record``
    plus the evaluation's own settings), ``env``, ``config``, ``video``."""
    from gridrl.evaluate import Evaluator
    from gridrl.plot import atomic_write
    from gridrl.videos import write_recording

    start = time.perf_counter()
    result = Evaluator(env, episodes, seed).run(policy, epsilon=epsilon, record=min(video_episodes, episodes))
    stats = result.summary()
    seconds = time.perf_counter() - start
    video = None
    if result.recording is not None:
        video = write_recording(result.recording, Path(out_dir) / "eval", size=video_size, fps=fps)
    report = {
        "stats": stats,
        "eval": {
            **(record or {}),
            "episodes": episodes,
            "seed": seed,
            "epsilon": epsilon,
            "seconds": round(seconds, 3),
        },
        "env": dataclasses.asdict(env),
        "config": {**(config or {}), "env": dataclasses.asdict(env)},
        "video": video,
    }
    atomic_write(Path(out_dir) / "eval.json", json.dumps(_finite(report), indent=2) + "\n")
    return report


def _finite(x: Any) -> Any:
    """NaN / inf -> None, so that eval.json is strict JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


def format_table(report: dict[str, Any]) -> str:
    """The short aligned table ``gridrl eval`` prints."""
    s, ev, env = report["stats"], report["eval"], report["env"]

    def pct(x: float | None) -> str:
        return "-" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"

    step = ev.get("env_step")
    head = f"{ev.get('weights', 'policy')}" + (f" (trained {step:,} env steps)" if step else "")
    game = (
        f"{env['height']}x{env['width']} {env['obs_mode']}, {env['n_food']} food ({env['food_motion']}), "
        f"{env['n_enemies']} enem{'y' if env['n_enemies'] == 1 else 'ies'} ({env['enemy_motion']})"
    )
    rows = [
        ("mean return", f"{s['mean_return']:.2f} ± {s['std_return']:.2f}"),
        ("min / max return", f"{s['min_return']:g} / {s['max_return']:g}"),
        ("oracle return", f"{s['oracle_mean_return']:.2f}"),
        ("% of oracle", pct(s["oracle_ratio"])),
        ("mean length", f"{s['mean_length']:.1f}"),
        ("food", pct(s["food_rate"])),
        ("enemy", pct(s["enemy_rate"])),
        ("timeout", f"{pct(s['timeout_rate'])} (loop-stopped {pct(s['loop_stop_rate'])})"),
    ]
    lines = [
        f"gridrl eval: {head}",
        f"game {game}; {s['episodes']} layouts, seed {ev['seed']}, epsilon {ev['epsilon']:g}",
    ]
    lines += [f"  {name:<18} {value}" for name, value in rows]
    return "\n".join(lines)


def eval_command(args: list[str]) -> int:
    """``gridrl eval checkpoint=... [episodes=N seed=S epsilon=E video=true out=DIR env.<key>=...]``."""
    if any(a in ("-h", "--help", "help") for a in args):
        print(usage(EVAL_USAGE, EvalCommandConfig))
        return 0
    cfg, env_overrides, _ = parse_args(args, EvalCommandConfig, "eval")
    loaded = load_network(cfg.checkpoint, cfg.device)
    trained = loaded.config
    env = make_env(trained.env, cfg.env, env_overrides)
    check_same_input(
        trained.env, env, ([f"env={cfg.env}"] if cfg.env else []) + [f"env.{o}" for o in env_overrides]
    )
    episodes = cfg.episodes or trained.trainer.eval_episodes
    seed = trained.trainer.eval_seed if cfg.seed is None else cfg.seed
    out_dir = Path(cfg.out).expanduser() if cfg.out else loaded.run_dir / "eval"
    saved = OmegaConf.to_container(loaded.config_node, resolve=True)
    assert isinstance(saved, dict)
    record = {
        "checkpoint": cfg.checkpoint,
        "weights": str(loaded.weights),
        "env_step": loaded.env_step,
        "env_preset": cfg.env,
        "env_overrides": env_overrides,
        "device": str(loaded.device),
    }
    report = run_eval(
        env,
        loaded.policy(),
        out_dir,
        episodes,
        seed,
        cfg.epsilon,
        cfg.video_episodes if cfg.video else 0,
        cfg.video_size,
        cfg.fps,
        record,
        saved,
    )
    print(format_table(report))
    print(
        f"wrote {out_dir / 'eval.json'}"
        + (f", {report['video']['mp4']}, {report['video']['gif']}" if report["video"] else "")
    )
    return 0


# ---------------------------------------------------------------------------------------------- play
def play_command(args: list[str]) -> int:
    """``gridrl play [checkpoint=...] [env=<preset>] [env.<key>=...] [seed=S]``; headless: one-line error."""
    from gridrl import play as play_module
    from gridrl.window import NO_DISPLAY_MESSAGE, NoDisplayError, has_display

    if any(a in ("-h", "--help", "help") for a in args):
        print(usage(PLAY_USAGE, PlayCommandConfig))
        return 0
    cfg, env_overrides, _ = parse_args(args, PlayCommandConfig, "play")
    if not has_display():  # before loading anything: say so at once
        raise NoDisplayError(NO_DISPLAY_MESSAGE)
    policy = None
    if cfg.checkpoint:
        loaded = load_network(cfg.checkpoint, cfg.device)
        env = make_env(loaded.config.env, cfg.env, env_overrides)
        check_same_input(
            loaded.config.env,
            env,
            ([f"env={cfg.env}"] if cfg.env else []) + [f"env.{o}" for o in env_overrides],
        )
        policy = loaded.policy()
    else:
        env = make_env(None, cfg.env or "default", env_overrides)
    result = play_module.play(env, policy=policy, seed=cfg.seed, size=cfg.size, fps=cfg.fps)
    if result.returns:
        outcomes = {o: result.outcomes.count(o) for o in dict.fromkeys(result.outcomes)}
        print(
            f"{len(result.returns)} episode(s), mean return {np.mean(result.returns):.2f}; "
            + ", ".join(f"{k} {v}" for k, v in outcomes.items())
        )
    return 0


# ---------------------------------------------------------------------------------------------- plot
def plot_command(args: list[str]) -> int:
    """``gridrl plot <run or sweep dir>... [out=curves.png tag=... group_by=k1,k2 spread=std|minmax]``."""
    from gridrl.plot import plot_runs

    if any(a in ("-h", "--help", "help") for a in args):
        print(usage(PLOT_USAGE, PlotCommandConfig))
        return 0
    cfg, _, dirs = parse_args(args, PlotCommandConfig, "plot", positional=True)
    if not dirs:
        raise ConfigError(
            "gridrl plot: give at least one run or sweep dir (a dir holding tb/, or above them)"
        )
    group_by = [k.strip() for k in cfg.group_by.split(",") if k.strip()] if cfg.group_by else None
    res = plot_runs(dirs, cfg.out, cfg.tag, group_by, cfg.spread, cfg.title, cfg.dpi)
    width = max(len(r["group"]) for r in res.rows)
    print(f"{len(res.runs)} run(s) in {len(res.groups)} group(s); {cfg.tag} vs env steps")
    print(f"  {'group':<{width}}  runs  {'env steps':>10}  {'final mean return':>18}  {'% of oracle':>16}")
    for r in res.rows:
        ret = (
            f"{r['eval/mean_return mean']:.2f} ± {r['eval/mean_return std']:.2f}"
            if math.isfinite(r["eval/mean_return mean"])
            else "-"
        )
        ratio = (
            f"{100 * r['eval/oracle_ratio mean']:.1f}% ± {100 * r['eval/oracle_ratio std']:.1f}%"
            if math.isfinite(r["eval/oracle_ratio mean"])
            else "-"
        )
        print(f"  {r['group']:<{width}}  {r['runs']:>4}  {r['steps']:>10,}  {ret:>18}  {ratio:>16}")
    print(f"wrote {res.png}, {res.md}, {res.csv}")
    return 0
