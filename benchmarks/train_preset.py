"""Train a zoo preset on its full data, measure it, and package it with its model card.

    python benchmarks/train_preset.py vae_mnist                  # train, measure, package
    python benchmarks/train_preset.py vae_mnist --evaluate-only  # re-measure the shipped one

1. Training is ``keras-gen train NAME --data <shared data> --seed 0 --out runs/presets/NAME``
   (the preset's recipe and budget from the registry); a finished run there is reused.
2. ``preset_evals.EVALUATORS[NAME]`` measures the trained model (fixed seeds).
3. The weights are measured again after a float16 round trip; float16 ships when every
   compared number moves by less than 0.5%.
4. ``keras_gen/presets/assets/NAME/`` gets ``config.json``, ``model.weights.h5`` and the
   model card ``metadata.json`` (data, commands, commit, machine, numbers, size, sha256),
   and RESULTS.md a section.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common
import preset_evals

ASSETS = common.REPO_ROOT / "keras_gen" / "presets" / "assets"
FLOAT16_TOLERANCE = 0.005


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("name", choices=sorted(preset_evals.EVALUATORS), help="the preset")
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="shared data folder")
    p.add_argument("--runs", type=Path, default=Path("runs/presets"), help="run folders")
    p.add_argument("--assets", type=Path, default=ASSETS, help="where presets are written")
    p.add_argument("--results", type=Path, default=common.RESULTS, help="RESULTS.md to append")
    p.add_argument("--evaluate-only", action="store_true", help="re-measure the shipped preset")
    p.add_argument("--epochs", type=int, help="smoke runs only: fewer epochs than the preset's")
    p.add_argument("--limit", type=int, help="smoke runs only: the first N training images")
    return p.parse_args(argv)


def git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=common.REPO_ROOT, capture_output=True, text=True)
    return out.stdout.strip()


def train_command(name: str, data_file: Path, run_dir: Path) -> list[str]:
    return ["train", name, "--data", str(data_file), "--seed", "0", "--out", str(run_dir)]


def finished(run_dir: Path, preset) -> bool:
    """Whether ``run_dir`` holds a run of ``preset`` trained for its whole budget."""
    metrics_file = run_dir / "metrics.json"
    if not (run_dir / "model.keras").is_file() or not metrics_file.is_file():
        return False
    metrics = json.loads(metrics_file.read_text())
    return metrics.get("model") == preset.name and len(metrics.get("history", [])) >= preset.epochs


def ship_averages(model) -> list[str]:
    """Put the EMA averages of the weights (EMA optimizers of the recipe) into the model.

    A preset ships weights without the optimizer state, so the averaged generator must be
    the model's own weights. Returns the recipe keys whose averages were swapped in.
    """
    from keras_gen.cli.common import optimizers_of
    from keras_gen.optimizers import EMA

    swapped = []
    for key, optimizer in optimizers_of(model).items():
        if isinstance(optimizer, EMA):
            optimizer.swap_weights()
            swapped.append(key)
    return swapped


def relative_change(a: dict, b: dict, keys) -> dict[str, float]:
    return {k: abs(b[k] - a[k]) / max(abs(a[k]), 1e-12) for k in keys}


def measure(name, model, data_dir) -> tuple[preset_evals.Evaluation, float]:
    start = time.perf_counter()
    evaluation = preset_evals.EVALUATORS[name](name, model, data_dir)
    return evaluation, time.perf_counter() - start


def evaluate_only(args) -> int:
    from keras_gen import presets
    from keras_gen.presets.checkpoints import read_metadata

    folder = args.assets / args.name
    card = read_metadata(folder)
    model = presets.load(folder, compile=False)
    evaluation, seconds = measure(args.name, model, args.data)
    print(f"{args.name}: measured in {seconds:.0f} s")
    for key, value in evaluation.metrics.items():
        stated = card.get("metrics", {}).get(key)
        print(f"  {key}: {value:.6g} (card: {stated if stated is None else f'{stated:.6g}'})")
    return 0


def card_for(preset, run_metrics, evaluation, seconds, dtype_check, train_argv) -> dict:
    data_card = dict(preset_evals.DATA_CARDS.get(preset.data.source, {}))
    return {
        "name": preset.name,
        "description": preset.description,
        "data": data_card,
        "trained_by": "keras-gen " + " ".join(shlex.quote(a) for a in train_argv),
        "packaged_by": common.command_line(),
        "measured_by": f"python benchmarks/train_preset.py {preset.name} --evaluate-only",
        "commit": git("rev-parse", "HEAD"),
        "date": common.utc_date(),
        "machine": common.machine_lines()[1].removeprefix("- Machine: "),
        "training": {
            "epochs": len(run_metrics["history"]),
            "batch_size": run_metrics["hyperparameters"]["batch_size"],
            "precision": run_metrics["precision"],
            "replicas": run_metrics["num_replicas"],
            "wall_time_s": run_metrics["total_wall_time_s"],
            "final_train": run_metrics["history"][-1],
            "stages": {k: v["history"][-1] for k, v in run_metrics.get("stages", {}).items()},
        },
        "headline": evaluation.headline,
        "metrics": evaluation.metrics,
        "measured": evaluation.notes,
        "targets": evaluation.targets,
        "evaluation_seconds": round(seconds, 1),
        "weights_dtype_check": dtype_check,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.evaluate_only:
        return evaluate_only(args)

    import keras

    from keras_gen import presets
    from keras_gen.cli import main as cli_main

    preset = presets.get(args.name)
    data_file = args.data / preset_evals.DATA_FILES[preset.data.source]
    run_dir = args.runs / args.name
    train_argv = train_command(args.name, data_file, run_dir)
    load_before = common.load_average()
    if finished(run_dir, preset):
        print(f"reusing the finished run in {run_dir}", flush=True)
    else:
        if (run_dir / "model.keras").exists():
            sys.exit(f"{run_dir} holds an unfinished run: remove it (or finish it with keras-gen)")
        for flag in ("epochs", "limit"):
            if getattr(args, flag) is not None:
                train_argv += [f"--{flag}", str(getattr(args, flag))]
        status = cli_main(train_argv)
        if status != 0:
            return status
    run_metrics = json.loads((run_dir / "metrics.json").read_text())
    model = keras.saving.load_model(run_dir / "model.keras")
    averaged = ship_averages(model)

    evaluation, seconds = measure(args.name, model, args.data)
    print(f"float32: {evaluation.metrics} ({seconds:.0f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        half = presets.load(
            presets.save_to_preset(model, Path(tmp) / "half", weights_dtype="float16"),
            compile=False,
        )
        evaluation16, _ = measure(args.name, half, args.data)
    changes = relative_change(evaluation.metrics, evaluation16.metrics, evaluation.compare)
    dtype = "float16" if max(changes.values()) < FLOAT16_TOLERANCE else "float32"
    dtype_check = {
        "float16_metrics": evaluation16.metrics,
        "relative_change": changes,
        "tolerance": FLOAT16_TOLERANCE,
        "shipped": dtype,
    }
    print(f"float16: {evaluation16.metrics}; relative changes {changes} -> ship {dtype}")
    # The grids are the shipped weights' samples.
    shipped = evaluation16 if dtype == "float16" else evaluation
    card = card_for(preset, run_metrics, shipped, seconds, dtype_check, train_argv)
    if averaged:
        card["weights_note"] = (
            f"the weights of the variables {', '.join(averaged)} trains are its EMA averages"
        )
    folder = presets.save_to_preset(
        model, args.assets / args.name, preset=args.name, card=card, weights_dtype=dtype
    )
    metadata = json.loads((folder / "metadata.json").read_text())
    size_mb = metadata["weights_bytes"] / 1e6

    lines = [
        f"- Command: `{common.command_line()}`",
        f"- Trained by: `{card['trained_by']}` (commit {card['commit'][:10]}; "
        f"{card['training']['epochs']} epochs, {card['training']['precision']}, "
        f"{card['training']['wall_time_s'] / 60:.1f} min)",
        f"- Data: {card['data'].get('name', preset.data.source)}: {card['data'].get('split', '')}",
        *common.machine_lines(),
        f"- Load average before / after: {load_before} / {common.load_average()}",
        f"- Shipped: `keras_gen/presets/assets/{args.name}/`, weights {dtype}, "
        f"{size_mb:.2f} MB, sha256 {metadata['weights_sha256'][:16]}...",
        "",
        "| metric | float32 weights | float16 weights | relative change |",
        "|---|---|---|---|",
        *(
            f"| {k} | {v:.4f} | {evaluation16.metrics[k]:.4f} | {changes[k]:.2e} |"
            if k in changes
            else f"| {k} | {v:.4f} | {evaluation16.metrics[k]:.4f} | - |"
            for k, v in evaluation.metrics.items()
        ),
        "",
        *(f"- {note}" for note in shipped.notes),
        *(f"- Target {t}: {'met' if ok else 'NOT met'}" for t, ok in shipped.targets.items()),
        f"- Re-measure the shipped weights: `{card['measured_by']}`",
    ]
    common.append_results(f"Trained preset {args.name}", lines, path=args.results)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
