"""How fast the command line answers: ``gridrl --help`` and each command's ``--help``, beside the
interpreter's own start-up (``python -c pass``) and ``import torch`` measured in the same run.

    python benchmarks/cli_speed.py [--repeats 7]

Prints the median and range of wall seconds per command and the CPU model. The target (issue #15):
``gridrl --help`` under 1 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from time_to_solve import cpu_model  # noqa: E402


def timed(cmd: list[str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    gridrl = shutil.which("gridrl") or str(Path(sys.executable).with_name("gridrl"))
    rows = {
        "python -c pass (peer: the interpreter)": [sys.executable, "-c", "pass"],
        "python -c 'import torch' (peer)": [sys.executable, "-c", "import torch"],
        "gridrl --help": [gridrl, "--help"],
        "gridrl train --help": [gridrl, "train", "--help"],
        "gridrl eval --help": [gridrl, "eval", "--help"],
        "gridrl play --help": [gridrl, "play", "--help"],
        "gridrl plot --help": [gridrl, "plot", "--help"],
    }
    print(f"CPU: {cpu_model()}; {args.repeats} runs each; wall seconds, median [min-max]\n")
    print("| command | seconds |\n|---|---|")
    for name, cmd in rows.items():
        t = timed(cmd, args.repeats)
        print(f"| `{name}` | {statistics.median(t):.2f} [{min(t):.2f}-{max(t):.2f}] |")


if __name__ == "__main__":
    main()
