"""``keras-gen presets``: the presets that ship trained weights, from their model cards.

One row a preset: name, model class, data (``name/split`` of the card), size of the
weights, and the card's headline number. ``--all`` adds the registered configurations
without weights; ``--json`` prints the records. A field the card lacks prints ``-``.
"""

from __future__ import annotations

import argparse
import json

from keras_gen import presets
from keras_gen.cli.common import PROG, json_default
from keras_gen.presets import checkpoints


def human_bytes(size: int | None) -> str:
    """A byte count for people (powers of 1000, as file managers show), or ``-``.

    >>> human_bytes(1536), human_bytes(3_400_000), human_bytes(None)
    ('1.5 kB', '3.4 MB', '-')
    """
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def model_card(preset: presets.Preset) -> dict:
    """The model card of a preset with weights (``{}`` without, or when it cannot be read).

    >>> model_card(presets.get("vae"))
    {}
    """
    if preset.weights is None:
        return {}
    if "://" in preset.weights:
        return dict(preset.card or {})
    try:
        return checkpoints.read_metadata(checkpoints._package_path(preset.weights))
    except presets.PresetError:
        return dict(preset.card or {})


def preset_record(preset: presets.Preset) -> dict:
    """What ``keras-gen presets`` says about ``preset`` (JSON-ready).

    >>> record = preset_record(presets.get("vae"))
    >>> record["trained"], record["model"], record["data"]["name"], record["headline"]
    (False, 'VAE', 'mnist_mini', None)
    """
    card = model_card(preset)
    data = card.get("data")
    if preset.weights is None:  # no card: the data it trains on by default
        source = preset.data.source
        data = {"name": source if isinstance(source, str) else preset.data.kind}
    return {
        "name": preset.name,
        "model": card.get("model") or preset.model,
        "trained": preset.weights is not None,
        "data": data if isinstance(data, dict) else None,
        "weights_bytes": card.get("weights_bytes"),
        "weights_sha256": card.get("weights_sha256"),
        "headline": card.get("headline"),
        "description": preset.description,
    }


def _data_text(data: dict | None) -> str:
    if not data or not data.get("name"):
        return "-"
    return f"{data['name']}/{data['split']}" if data.get("split") else str(data["name"])


def cmd_presets(args: argparse.Namespace) -> int:
    """Print the presets with trained weights (``--all``: every preset) as a table or JSON.

    >>> cmd_presets(argparse.Namespace(all=False, json=True))  # doctest: +SKIP
    []
    0
    """
    chosen = presets.all_presets() if args.all else map(presets.get, presets.trained_names())
    records = [preset_record(p) for p in chosen]
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False, default=json_default))
        return 0
    if not records:
        print(
            f"no preset ships trained weights yet: train one with '{PROG} train NAME' "
            f"(names: '{PROG} models'; configurations: '{PROG} presets --all')"
        )
        return 0
    rows = [("name", "model", "data", "size", "headline")]
    rows += [
        (
            r["name"],
            r["model"],
            _data_text(r["data"]),
            human_bytes(r["weights_bytes"]),
            r["headline"] or "-",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[4])
    return 0
