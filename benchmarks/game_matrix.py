"""Game matrix: the default learner on a grid of games, time to 90 % / 95 % of each game's reference.

Issue 17's matrix: sizes 5, 10, 15, 20, 25 (15x15 with both action sets); 1 and 5 enemies, static,
random-walking and chasing; 1 and 3 food (``env.on_food=remove``); slip 0.1; ``env=crowded``. Each game
is a named row: its env overrides, its budget (its target's time, else 120 s; the default game 180 s)
and its target. Every run is the real command line, ``gridrl train <env overrides> <--extra>`` with
the defaults otherwise (learner, network, ``trainer.total_steps``: a run that reaches it before the
budget stops there), plus the measuring knobs of ``benchmarks/time_to_solve.py``, whose machinery this
script runs: ``seed=S trainer.time_limit_s=<budget> trainer.eval_every=<about --eval-every-s of
training, from a --calibrate-s run per game> trainer.checkpoint_every=0 ...``, one run at a time
(run nothing else on the machine meanwhile). Times are wall seconds since the run's first TensorBoard
event, the trainer's own evaluations included.

The reference (``eval/oracle_ratio``, 1000 fixed layouts, greedy) is the BFS oracle's optimal return in
static games with ``on_food=end``, and the scripted heuristic's return (nearest food, around enemies)
in every other game (moving enemies, slip, ``on_food=remove`` / ``respawn``; ``gridrl.game.oracle``),
which a learner can beat ("> heur." = a ratio above 1.0). Where the heuristic's mean return is negative
(a chasing enemy: -20.5 on 10x10 with one, -207 with five) the ratio is undefined and the trainer logs
none; those rows time ``eval/normalized_score`` = (R - R_random) / (R_heuristic - R_random) instead
(above 1.0 exactly when the agent's mean return beats the heuristic's).

Targets (3 seeds of 3; the default game 5 of 5), printed met / missed / unchecked (too few seeds, or a
``--budget-scale`` budget that ended before the target's time): 15x15 (sentdex9 and seed8) >= 95 %
within 90 s; 20x20 within 3 min; 25x25 within 6 min; 5 static enemies on 10x10 within 60 s; 3 food
with ``on_food=remove`` within 2 min; ``env=crowded`` beats the heuristic within 5 min; one chasing
enemy on 10x10 beats it within 3 min; the default game reaches 95 % (time reported); env steps/s fall
at most linearly with the number of cells from 10x10 to 25x25 (SPS(10x10) / SPS(n) <= cells(n) / 100).

The whole matrix is about 2 hours on the project's 2-core machine (``--dry-run`` prints the
estimate and every command); split it with ``--games`` and print the joint table afterwards with
``--report``::

    python benchmarks/game_matrix.py --out benchmarks/results/game_matrix.md            # all, ~2 h
    python benchmarks/game_matrix.py --games size5,default,size15,size15_seed8,size20,size25 \\
        --out benchmarks/results/game_matrix_sizes.md                                     # ~60 min
    python benchmarks/game_matrix.py --games enemies5,random,chase,enemies5_random,enemies5_chase,food3,slip,crowded \\
        --out benchmarks/results/game_matrix_rules.md                                     # ~55 min
    python benchmarks/game_matrix.py --report benchmarks/results/game_matrix_sizes.json,benchmarks/results/game_matrix_rules.json \\
        --out benchmarks/results/game_matrix.md
    python benchmarks/game_matrix.py --games size5 --seeds 0 --budget-scale 0.2 --calibrate-s 0   # a smoke test

``--extra`` appends overrides to every run (``--extra model=ego_cnn`` to compare a network);
``--seeds`` replaces every game's own seeds (0,1,2; the default game 0-4). Raw points go to ``<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import time_to_solve as tts  # noqa: E402

NORMALIZED_TAG = "eval/normalized_score"  # gridrl.tblog.EVAL_NORMALIZED_SCORE (literal: no torch import here)
TOTAL_STEPS = 3_000_000  # gridrl.config.TrainerConfig.total_steps: the runtime estimate's default
DEFAULT_BUDGET_S = 120.0  # a row without a time target


@dataclass(frozen=True)
class Level:
    """A score to time: ``value`` of the row's measure, reached at >= (or > with ``strict``)."""

    key: str  # "90" | "95" | "beat"
    value: float
    strict: bool
    label: str  # column heading


LEVELS = {
    "90": Level("90", 0.90, False, "90 %"),
    "95": Level("95", 0.95, False, "95 %"),
    "beat": Level("beat", 1.0, True, "> heur."),
}


@dataclass(frozen=True)
class Target:
    """Issue 17's goal for a row: ``level`` within ``within_s`` (None: within the run) in every one of
    at least ``seeds`` seeds."""

    level: str
    within_s: float | None
    seeds: int = 3


@dataclass(frozen=True)
class Game:
    name: str
    what: str
    overrides: tuple[str, ...]
    budget_s: float = DEFAULT_BUDGET_S
    reference: str = "oracle"  # oracle (static, on_food=end) | heuristic (everything else)
    tag: str = tts.ORACLE_TAG  # the timed measure; NORMALIZED_TAG where the heuristic scores < 0
    target: Target | None = None
    seeds: int = 3  # seeds 0 .. seeds-1 unless --seeds
    size: int | None = None  # a row of the env-steps/s scaling check (the default game but its size)
    cells: int = 100

    @property
    def levels(self) -> list[Level]:
        return [LEVELS["90"], LEVELS["95"]] + ([LEVELS["beat"]] if self.reference == "heuristic" else [])

    @property
    def measure(self) -> str:
        if self.tag == NORMALIZED_TAG:
            return "normalized score (random 0, heuristic 100 %)"
        return f"% of {self.reference}"

    @property
    def prior_sps(self) -> float:
        """Guess of the default learner's env steps/s (2-core CPU) for --dry-run and --calibrate-s 0."""
        return min(40_000.0, 30_000.0 * (100 / self.cells) ** 0.7)


def _size(n: int) -> tuple[str, ...]:
    return (f"env.height={n}", f"env.width={n}")


GAMES_LIST = [
    Game("size5", "5x5, 1 static enemy", _size(5), size=5, cells=25),
    Game(
        "default",
        "the default game: 10x10, 1 static enemy, sentdex9",
        (),
        180.0,
        target=Target("95", None, 5),
        seeds=5,
        size=10,
    ),
    Game("size15", "15x15, sentdex9", _size(15), 90.0, target=Target("95", 90.0), size=15, cells=225),
    Game(
        "size15_seed8",
        "15x15, seed8 (8 moves, no stay)",
        (*_size(15), "env.actions=seed8"),
        90.0,
        target=Target("95", 90.0),
        cells=225,
    ),
    Game("size20", "20x20", _size(20), 180.0, target=Target("95", 180.0), size=20, cells=400),
    Game("size25", "25x25", _size(25), 360.0, target=Target("95", 360.0), size=25, cells=625),
    Game("enemies5", "10x10, 5 static enemies", ("env.n_enemies=5",), 60.0, target=Target("95", 60.0)),
    Game("random", "10x10, 1 random-walking enemy", ("env.enemy_motion=random",), reference="heuristic"),
    Game(
        "chase",
        "10x10, 1 chasing enemy (chase_prob 0.5)",
        ("env.enemy_motion=chase",),
        180.0,
        reference="heuristic",
        tag=NORMALIZED_TAG,
        target=Target("beat", 180.0),
    ),
    Game(
        "enemies5_random",
        "10x10, 5 random-walking enemies",
        ("env.n_enemies=5", "env.enemy_motion=random"),
        reference="heuristic",
    ),
    Game(
        "enemies5_chase",
        "10x10, 5 chasing enemies",
        ("env.n_enemies=5", "env.enemy_motion=chase"),
        reference="heuristic",
        tag=NORMALIZED_TAG,
    ),
    Game(
        "food3",
        "10x10, 3 static food, eaten food removed",
        ("env.n_food=3", "env.on_food=remove"),
        120.0,
        reference="heuristic",
        target=Target("95", 120.0),
    ),
    Game("slip", "10x10, slip 0.1", ("env.slip=0.1",), reference="heuristic"),
    Game(
        "crowded",
        "env=crowded: 15x15, 3 respawning food, 3 random-walking enemies",
        ("env=crowded",),
        300.0,
        reference="heuristic",
        target=Target("beat", 300.0),
        cells=225,
    ),
]
GAMES = {g.name: g for g in GAMES_LIST}


# ------------------------------------------------------------------------------------------ runs
def tts_args(args: argparse.Namespace) -> argparse.Namespace:
    """The namespace time_to_solve's run functions read: no env preset, the defaults' total_steps."""
    return argparse.Namespace(
        env=None,
        set=[],
        threads=args.threads,
        total_steps="config",
        calibrate_s=args.calibrate_s,
        eval_every_s=args.eval_every_s,
        thresholds=[LEVELS["90"].value, LEVELS["95"].value],
        budget=DEFAULT_BUDGET_S,
    )


def spec(game: Game, args: argparse.Namespace) -> tts.Spec:
    return tts.Spec(game.what, [*game.overrides, *args.extra], prior_sps=game.prior_sps)


def seeds_of(game: Game, args: argparse.Namespace) -> list[int]:
    return list(args.seeds) if args.seeds is not None else list(range(game.seeds))


def budget_of(game: Game, args: argparse.Namespace) -> float:
    return game.budget_s * args.budget_scale


def add_levels(rec: dict[str, Any], game: Game) -> dict[str, Any]:
    """The row's times and env steps to each level (``t_90``, ``steps_90``, ...) from the record's evals."""
    rec["game"] = game.name
    if rec.get("rc") == 0:
        for lv in game.levels:
            rec[f"t_{lv.key}"], rec[f"steps_{lv.key}"] = tts.first_hit(rec["evals"], lv.value, lv.strict)
    return rec


def total_steps(args: argparse.Namespace) -> int:
    found = [o.split("=", 1)[1] for o in args.extra if o.startswith("trainer.total_steps=")]
    return int(float(found[-1])) if found else TOTAL_STEPS


def estimate_s(games: list[Game], args: argparse.Namespace) -> float:
    """Calibration runs plus, per run, its budget or its total_steps at the guessed env steps/s, +10 %, +15 s."""
    calib = (args.calibrate_s + 15) * len(games) if args.calibrate_s > 0 else 0.0
    runs = sum(
        len(seeds_of(g, args)) * (min(budget_of(g, args), total_steps(args) / g.prior_sps) * 1.1 + 15)
        for g in games
    )
    return calib + runs


# ------------------------------------------------------------------------------------------ tables
def _median_cell(values: list[float], fmt: Any) -> str:
    return fmt(tts.median_inf(values)) if values else "-"


def target_text(game: Game) -> str:
    tg = game.target
    if tg is None:
        return "-"
    what = "> heuristic" if tg.level == "beat" else f">= {tg.level} %"
    when = f" in {tg.within_s:g} s" if tg.within_s is not None else ""
    return f"{what}{when}, {tg.seeds}/{tg.seeds} seeds"


def target_status(game: Game, recs: list[dict[str, Any]]) -> tuple[str, str]:
    """('met' | 'missed' | 'unchecked' | '-', the seeds' times) of a row's target."""
    tg = game.target
    if tg is None:
        return "-", ""
    key = f"t_{tg.level}"
    cells, missed, unknown = [], 0, 0
    for r in recs:
        if r.get("rc") != 0:
            cells.append(f"seed {r['seed']} failed")
            missed += 1
            continue
        t = r[key]
        within = tg.within_s if tg.within_s is not None else r["budget"]
        cells.append(tts._t(t, r["budget"]))
        if t <= within:
            continue
        # a run cut short by a scaled budget before the target's time says nothing about the target
        full = tg.within_s if tg.within_s is not None else game.budget_s
        if r["stopped_by_time"] and r["budget"] < full:
            unknown += 1
        else:
            missed += 1
    detail = ", ".join(cells)
    if missed:
        return "missed", detail
    if unknown or len(recs) < tg.seeds:
        why = f"{len(recs)} of {tg.seeds} seeds run" if len(recs) < tg.seeds else "budget scaled below target"
        return "unchecked", f"{detail} ({why})" if detail else why
    return "met", detail


def table(records: list[dict[str, Any]], names: list[str]) -> str:
    head = ["game", "overrides", "measure", "budget s", "runs", "reached 90 % / 95 % / > heur."]
    head += [f"to {lv.label} s, median [min-max]" for lv in LEVELS.values()]
    head += [f"env steps to {lv.label} (median)" for lv in LEVELS.values()]
    head += ["final, median [min-max]", "env steps/s", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        game = GAMES[name]
        recs = [r for r in records if r.get("game") == name]
        ok = [r for r in recs if r.get("rc") == 0]
        budget = max((r["budget"] for r in recs), default=game.budget_s)
        keys = [lv.key for lv in game.levels]
        reached = [
            f"{sum(not math.isinf(r[f't_{k}']) for r in ok)}/{len(ok)}" if k in keys else "-" for k in LEVELS
        ]
        row = [
            name,
            " ".join(game.overrides) or "(none)",
            game.measure,
            f"{budget:g}",
            f"{len(ok)}/{len(recs)}",
            " / ".join(reached),
        ]
        row += [
            tts._spread([r[f"t_{k}"] for r in ok], lambda v, b=budget: tts._t(v, b)) if k in keys else "-"
            for k in LEVELS
        ]
        row += [_median_cell([r[f"steps_{k}"] for r in ok], tts._steps) if k in keys else "-" for k in LEVELS]
        row.append(tts._spread([100 * r["final"] for r in ok], lambda v: f"{v:.1f}"))
        row.append(_median_cell([r["sps"] for r in ok], lambda v: f"{v:,.0f}"))
        status, _ = target_status(game, recs)
        row += [target_text(game), status]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def sps_scaling(records: list[dict[str, Any]]) -> tuple[str, str]:
    """('met' | 'missed' | 'unchecked', a table): env steps/s of the size rows against their cells."""
    sizes = sorted((g for g in GAMES_LIST if g.size), key=lambda g: g.cells)
    sps = {g.name: [r["sps"] for r in records if r.get("game") == g.name and r.get("rc") == 0] for g in sizes}
    base = tts.median_inf(sps["default"]) if sps["default"] else None
    head = "| size | cells | cells / cells(10x10) | env steps/s, median [min-max] | SPS(10x10) / SPS | at most linear |"
    lines = [head, "|---|---|---|---|---|---|"]
    verdicts = []
    for g in sizes:
        if not sps[g.name]:
            continue
        med = tts.median_inf(sps[g.name])
        ratio = base / med if base else math.nan
        linear = g.cells / 100
        ok = ratio <= linear if base else None
        if g.cells > 100 and ok is not None:
            verdicts.append(ok)
        lines.append(
            f"| {g.size}x{g.size} | {g.cells} | {linear:.2f} | "
            f"{tts._spread(sps[g.name], lambda v: f'{v:,.0f}')} | "
            + (f"{ratio:.2f}" if base else "-")
            + " | "
            + ("-" if g.cells <= 100 or ok is None else "yes" if ok else "no")
            + " |"
        )
    status = "unchecked" if not verdicts else "met" if all(verdicts) else "missed"
    return status, "\n".join(lines)


def per_run_table(records: list[dict[str, Any]]) -> str:
    head = ["game", "seed", "budget s", *[f"to {lv.label} s" for lv in LEVELS.values()]]
    head += [f"steps to {lv.label}" for lv in LEVELS.values()]
    head += ["final", "env steps", "env steps/s", "eval share", "stopped by"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        if r.get("rc") != 0:
            lines.append(f"| {r['game']} | {r['seed']} | failed (exit {r['rc']}): {r.get('error', '')} |")
            continue
        b = r["budget"]
        row = [r["game"], str(r["seed"]), f"{b:g}"]
        row += [tts._t(r[f"t_{k}"], b) if f"t_{k}" in r else "-" for k in LEVELS]
        row += [tts._steps(r[f"steps_{k}"]) if f"steps_{k}" in r else "-" for k in LEVELS]
        row += [
            f"{100 * r['final']:.1f}",
            f"{r['env_steps']:,}",
            f"{r['sps']:,.0f}",
            f"{100 * r['eval_share']:.0f} %",
            "time" if r["stopped_by_time"] else "total_steps",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def targets_section(records: list[dict[str, Any]], names: list[str]) -> list[str]:
    lines = []
    for name in names:
        game = GAMES[name]
        if game.target is None:
            continue
        status, detail = target_status(game, [r for r in records if r.get("game") == name])
        ref = "the heuristic" if game.target.level == "beat" else f"{game.measure}"
        lines.append(
            f"- `{name}` ({' '.join(game.overrides) or 'no overrides'}): {target_text(game)} ({ref}): "
            f"**{status}** (seconds per seed: {detail or '-'})"
        )
    status, sps_table = sps_scaling(records)
    lines += [
        f"- env steps/s fall at most linearly with the cells from 10x10 to 25x25 "
        f"(SPS(10x10) / SPS(n) <= cells(n) / 100): **{status}**",
        "",
        sps_table,
    ]
    return lines


def report(
    records: list[dict[str, Any]], names: list[str], machines: list[dict[str, Any]], command: str
) -> str:
    seeds = sorted({r["seed"] for r in records})
    machine_lines = [
        f"Machine: {m['nproc']} cores ({m['cpu']}), torch {m['torch']}, {m['threads']} torch threads per run, "
        f"Python {m['python']}, one run at a time; load average before {m['load_before'][0]:.2f}. "
        f"gridrl commit {m['commit']}. {m.get('date', '')}"
        for m in machines
    ]
    extra = sorted({o for r in records for o in r.get("extra", [])})
    parts = [
        f"# Game matrix: the default learner on {len(names)} games, seeds {','.join(map(str, seeds))}",
        "",
        *machine_lines,
        "",
        f"Command: `{command}`",
        "",
        table(records, names),
        "",
        "- Every run: `gridrl train <overrides>" + (" " + " ".join(extra) if extra else "") + " seed=S "
        "trainer.time_limit_s=<budget> trainer.eval_every=<~7.5 s of training> trainer.checkpoint_every=0 ...`; "
        "the learner, network and trainer.total_steps are the defaults (a run that reaches total_steps "
        "before its budget stops there).",
        "- Times: wall seconds from the run's first TensorBoard event to the first evaluation (1000 fixed "
        "layouts, greedy) at the level; `>B`: not within the budget B (counted as infinite in the median). "
        "The reference is the BFS oracle in static games with on_food=end, else the scripted heuristic "
        "(> heur.: a ratio above 1.0, the heuristic beaten); a chasing enemy makes the heuristic's mean return "
        "negative, so those rows time the normalized score (random play 0, the heuristic 100 %).",
        "- env steps/s: env steps over training seconds with evaluation excluded (median over seeds).",
        "",
        tts.stats_section(
            records,
            names,
            argparse.Namespace(thresholds=[LEVELS["90"].value, LEVELS["95"].value]),
            "score (% of the row's reference: oracle, heuristic or normalized score)",
            compare=False,
            key="game",
        ),
        "",
        "## Targets (issue 17)",
        "",
        *targets_section(records, names),
        "",
        "## Runs",
        "",
        per_run_table(records),
        "",
    ]
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------ main
def _csv(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    games = ", ".join(f"{g.name} ({' '.join(g.overrides) or 'no overrides'})" for g in GAMES_LIST)
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"games: {games}",
    )
    p.add_argument("--games", default=",".join(GAMES), help="comma list of game names (default: all)")
    p.add_argument(
        "--seeds", default=None, help="comma list of seeds for every game (default: 0,1,2; default game 0-4)"
    )
    p.add_argument("--budget-scale", type=float, default=1.0, help="multiply every game's budget")
    p.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="OVERRIDES",
        help="overrides appended to every run, e.g. model=ego_cnn (repeat, or quote several)",
    )
    p.add_argument("--eval-every-s", type=float, default=7.5, help="seconds of training between evaluations")
    p.add_argument(
        "--calibrate-s", type=float, default=10.0, help="env-steps/s calibration run per game (0: guesses)"
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads per run (0 = all cores)")
    p.add_argument("--keep-runs", type=Path, default=None, help="keep run dirs here (default: removed)")
    p.add_argument("--out", type=Path, default=None, help="markdown report (raw points to <out>.json)")
    p.add_argument("--dry-run", action="store_true", help="print the commands and the runtime estimate only")
    p.add_argument(
        "--report", default=None, metavar="JSON[,JSON...]", help="print the table of saved runs (no training)"
    )
    args = p.parse_args(argv)
    args.games = _csv(args.games)
    unknown = [g for g in args.games if g not in GAMES]
    if unknown:
        p.error(f"--games: unknown game(s) {', '.join(unknown)}; choose from {', '.join(GAMES)}")
    if not args.games:
        p.error("--games: no game named")
    try:
        args.seeds = [int(s) for s in _csv(args.seeds)] if args.seeds is not None else None
    except ValueError:
        p.error(f"--seeds {args.seeds!r}: expected a comma list of integers")
    if args.budget_scale <= 0:
        p.error("--budget-scale must be > 0")
    args.extra = [o for item in args.extra for o in shlex.split(item)]
    bad = [o for o in args.extra if "=" not in o]
    if bad:
        p.error(f"--extra: expected KEY=VALUE overrides, got {', '.join(bad)}")
    return args


def write(text: str, raw: dict[str, Any], out: Path | None) -> None:
    print()
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))
        print(f"\nwrote {out} and {out.with_suffix('.json')}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = "python benchmarks/game_matrix.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.report:
        saved = [json.loads(Path(f).read_text()) for f in _csv(args.report)]
        records = [r for s in saved for r in s["runs"]]
        names = [n for n in GAMES if any(r.get("game") == n for r in records)]
        machines = [m for s in saved for m in s["machines"]]
        raw = {"machines": machines, "merged_from": _csv(args.report), "runs": records}
        write(report(records, names, machines, command), raw, args.out)
        return
    games = [GAMES[n] for n in args.games]
    targs = tts_args(args)
    machine = tts.machine_info(args.threads)
    machine["date"] = time.strftime("%Y-%m-%d %H:%M")
    n_runs = sum(len(seeds_of(g, args)) for g in games)
    print(
        f"{len(games)} games, {n_runs} runs: about {estimate_s(games, args) / 60:.0f} min. Machine: "
        f"{machine['nproc']} cores, {machine['cpu']}, torch {machine['torch']}, load average "
        f"{machine['load_before'][0]:.2f}",
        flush=True,
    )
    work = args.keep_runs or Path(tempfile.mkdtemp(prefix="gridrl_matrix_"))
    work.mkdir(parents=True, exist_ok=True)
    eval_every: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    try:
        for game in games:
            sp, budget = spec(game, args), budget_of(game, args)
            if args.dry_run:
                eval_every[game.name] = tts.eval_every_steps(game.prior_sps, args.eval_every_s)
                print(f"# {game.name}: {game.what}; budget {budget:g} s; target {target_text(game)}")
                for seed in seeds_of(game, args):
                    run_dir = work / f"{game.name}_s{seed}"
                    print(" ".join(tts.gridrl_args(sp, targs, seed, run_dir, eval_every[game.name], budget)))
                continue
            print(f"{game.name}: {game.what} ({' '.join(game.overrides) or 'no overrides'})", flush=True)
            if args.calibrate_s > 0:
                sps = tts.calibrate(game.name, sp, targs, work)
                print(f"  calibration: {sps:,.0f} env steps/s", flush=True)
            else:
                sps = game.prior_sps
            eval_every[game.name] = tts.eval_every_steps(sps, args.eval_every_s)
            for seed in seeds_of(game, args):
                rec = tts.run_one(game.name, sp, seed, targs, work, eval_every[game.name], budget, game.tag)
                rec["extra"] = args.extra
                records.append(add_levels(rec, game))
        if args.dry_run:
            return
        raw = {
            "machines": [machine],
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "eval_every": eval_every,
            "load_after": os.getloadavg(),
            "runs": records,
        }
        write(report(records, args.games, [machine], command), raw, args.out)
    finally:
        if args.keep_runs is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
