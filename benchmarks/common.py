"""Helpers shared by the benchmark scripts: data paths, machine description, RESULTS.md."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import time
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


def record_invocation(directory: Path) -> list[str]:
    """Log this process in ``directory/invocations.json`` (a run resumed over several
    processes); a RESULTS.md line listing them all when there is more than one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "invocations.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append({"date": utc_date(), "cpu": cpu_model()})
    path.write_text(json.dumps(runs))
    if len(runs) == 1:
        return []
    listed = "; ".join(f"{r['date']} ({r['cpu']})" for r in runs)
    return [
        f"- Ran in {len(runs)} processes, each resuming from the last one's "
        f"BackupAndRestore backups (both optimizers, EMA included): {listed}"
    ]


def cached_json(path: Path | None, compute):
    """``compute()``, or what an earlier process of a resumed run saved of it at ``path``
    (a JSON file; None: always compute)."""
    if path is not None and path.exists():
        return json.loads(path.read_text())
    result = compute()
    if path is not None:
        path.write_text(json.dumps(result))
    return result


def interleaved_fits(models: dict, ds, steps: int, repeats: int, batch_size: int) -> dict:
    """Times ``repeats`` rounds of ``model.fit(ds, steps_per_epoch=steps)`` of every model,
    interleaved (A, B, A, B, ...) so that a drifting load hits them all.

    Returns ``{"rates", "call_rates", "cpu_rates", "logs"}``, each a dict by model name:
    steady-state examples/s of each call, from the end of its first step to the end of its
    last (so the start-up of ``fit`` is excluded); examples/s of the whole call; examples
    per CPU-second of this process (less sensitive to other processes on a shared machine
    than wall time, but counting spin-waiting threads too); the last call's final logs.
    """
    import keras

    class StepClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())

    out = {key: {name: [] for name in models} for key in ("rates", "call_rates", "cpu_rates")}
    out["logs"] = {}
    n = steps * batch_size
    for _ in range(repeats):
        for name, m in models.items():
            clock = StepClock()
            t0, c0 = time.perf_counter(), time.process_time()
            h = m.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock])
            out["call_rates"][name].append(n / (time.perf_counter() - t0))
            out["cpu_rates"][name].append(n / (time.process_time() - c0))
            out["rates"][name].append((steps - 1) * batch_size / (clock.ends[-1] - clock.ends[0]))
            out["logs"][name] = {k: float(v[-1]) for k, v in h.history.items()}
    return out
