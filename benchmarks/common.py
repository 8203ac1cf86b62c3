"""Helpers shared by the benchmark scripts: data paths, machine description, RESULTS.md."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# The shared data sets sit next to the repository (see ../shared/data/README.md).
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = BENCH_DIR / "RESULTS.md"
HEADER = """# keras-gen benchmark results

Each section is appended by a script in `benchmarks/` and records the exact
command, the machine, the load average around the run, the library versions
and the measured numbers. Timings on a shared machine are noisy: compare
numbers measured in the same run only.
"""


def load_mnist(data_dir: Path):
    """(x_train, x_test) as uint8 arrays of shape (n, 28, 28) from ``mnist/mnist.npz``."""
    path = Path(data_dir) / "mnist" / "mnist.npz"
    if not path.exists():
        raise FileNotFoundError(
            f"MNIST not found at {path}; pass --data DIR (the folder holding mnist/)"
        )
    with __import__("numpy").load(path) as d:
        return d["x_train"], d["x_test"]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_flags(wanted=("avx512f", "avx512_bf16", "amx_bf16", "amx_tile")) -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return " ".join(f for f in wanted if f in flags)
    return ""


def ram_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def utc_date() -> str:
    return subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(REPO_ROOT)
    except ValueError:
        pass
    return " ".join(shlex.quote(a) for a in ["python", str(script), *sys.argv[1:]])


def machine_lines() -> list[str]:
    import keras
    import numpy as np
    import tensorflow as tf

    return [
        f"- Date: {utc_date()}",
        f"- Machine: `nproc`={os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), "
        f"CPU {cpu_model()} [{cpu_flags()}], RAM {ram_gb():.1f} GB, no GPU",
        f"- Versions: Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, NumPy {np.__version__}",
    ]


def append_results(title: str, lines: list[str], path: Path = RESULTS) -> None:
    """Append a ``## title`` section to RESULTS.md (created with a header if absent)."""
    path = Path(path)
    if not path.exists():
        path.write_text(HEADER)
    with path.open("a") as f:
        f.write("\n## " + title + "\n\n" + "\n".join(lines) + "\n")
