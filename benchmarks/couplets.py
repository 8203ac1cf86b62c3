"""Couplets: CoupletTagger, Seq2Seq and CoupletCVAE on the same split and training budget.

Trains on the zijianzhao files except ``test.txt``, evaluates on ``wb14123_test``
(3,834 pairs): character BLEU (sacrebleu), per-position accuracy, the rate of
same-position repeats, and 20 sample couplets. For CoupletCVAE, which samples
several second lines per first line, also how different those samples are:
distinct lines among them and distinct-2 within each line's set. Appends a
section to RESULTS.md.

    python benchmarks/couplets.py --minutes 5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import common
import keras
import numpy as np
import text_common

from keras_gen import metrics, presets
from keras_gen.text import TextVocabulary, load_couplets, pipeline
from keras_gen.text.loaders import ZIJIANZHAO_TRAIN

MODELS = {
    # name: (registry preset, what this benchmark sets given the width)
    "CoupletTagger": ("couplet-tagger", lambda width: {"filters": width}),
    # couplet=False: the unconstrained ("free") decoding stays the model's default
    "Seq2Seq": (
        "couplet-seq2seq",
        lambda width: {"embedding_dim": 128, "hidden_dim": width, "couplet": False},
    ),
    "CoupletCVAE": (
        "couplet-cvae",
        lambda width: {"embedding_dim": 128, "filters": width, "free_bits": 0.125, "seed": 0},
    ),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA))
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--width", type=int, default=128, help="tagger filters / GRU units")
    parser.add_argument("--cvae-samples", type=int, default=5, help="CoupletCVAE samples per line")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--limit-test", type=int, default=None)
    parser.add_argument("--save-dir", default="/tmp/keras-gen-couplets")
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args(argv)
    load_before = common.load_average()
    keras.utils.set_random_seed(0)
    root = Path(args.data) / "couplets"
    firsts, seconds = load_couplets([root / "zijianzhao" / n for n in ZIJIANZHAO_TRAIN])
    test_first, test_second = load_couplets(root / "wb14123_test")
    if args.limit_test:
        test_first, test_second = test_first[: args.limit_test], test_second[: args.limit_test]
    vocab = TextVocabulary.build(firsts + seconds, level="char", min_count=3)
    x, y = pipeline.couplet_arrays(vocab, firsts, seconds, max_length=32)
    print(
        f"train pairs {len(firsts)}, equal-length <= 32: {len(x)}; vocab {vocab.size}", flush=True
    )
    save_dir = Path(args.save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    budget = args.minutes * 60

    rows, outputs, diversity = [], {}, []
    for name in args.models:
        preset, settings = MODELS[name]
        preset = presets.get(preset)
        model = preset.build(vocabulary=vocab, **settings(args.width))
        preset.compile(model, learning_rate=args.lr)
        if name == "Seq2Seq":
            # The same pairs; targets end with the end token.
            train_y = np.concatenate([y, np.zeros((len(y), 1), np.int32)], axis=1)
            train_y[np.arange(len(y)), (y != 0).sum(1)] = 3
        else:
            train_y = y
        data = pipeline.length_bucketed_dataset(x, train_y, batch_size=args.batch_size, seed=0)
        _, steps, seconds_used, epochs = text_common.fit_for(model, data, budget)
        model.save(save_dir / f"{name.lower()}.keras")
        start = time.perf_counter()
        if name == "Seq2Seq":
            hyps = model.generate_from(test_first, beam_width=args.beam_width, couplet=True)
            free = model.generate_from(test_first, beam_width=args.beam_width)
        elif name == "CoupletCVAE":
            k = args.cvae_samples
            samples = [
                model.generate_from(t, num_samples=k, seed=i) for i, t in enumerate(test_first)
            ]
            hyps = [s[0] for s in samples]
            free = [
                model.generate_from(t, num_samples=1, seed=i, no_repeat=False)[0]
                for i, t in enumerate(test_first)
            ]
            every = [line for s in samples for line in s]
            firsts_k = [t for t in test_first for _ in range(k)]
            diversity.append(
                f"| CoupletCVAE | {k} | {np.mean([len(set(s)) for s in samples]):.2f} | "
                f"{100 * np.mean([metrics.distinct_n(s, 2) for s in samples]):.1f} | "
                f"{100 * metrics.same_position_repeat_rate(firsts_k, every):.2f} | "
                f"{100 * metrics.length_match_rate(firsts_k, every):.1f} |"
            )
        else:
            hyps = model.generate_from(test_first)
            free = model.generate_from(test_first, no_repeat=False)
        decode_s = time.perf_counter() - start
        outputs[name] = hyps
        rows.append(
            f"| {name} | {steps} ({epochs} epoch(s), {seconds_used:.0f} s) | "
            f"{metrics.bleu(hyps, test_second):.2f} | "
            f"{100 * metrics.position_accuracy(hyps, test_second):.1f} | "
            f"{100 * metrics.same_position_repeat_rate(test_first, hyps):.2f} | "
            f"{100 * metrics.same_position_repeat_rate(test_first, free):.2f} | "
            f"{100 * metrics.length_match_rate(test_first, hyps):.1f} | {decode_s:.0f} s |"
        )
        print(rows[-1], flush=True)

    reference_repeats = 100 * metrics.same_position_repeat_rate(test_first, test_second)
    lines = [
        f"- Command: `{common.command_line()}`",
        *common.machine_lines(),
        f"- Load average before/after: {load_before} / {common.load_average()} (2 cores, shared)",
        f"- Train: zijianzhao except test.txt, {len(firsts)} pairs, {len(x)} with lines of equal "
        f"length <= 32 (both models train on these, in batches of similar lengths); vocabulary {vocab.size} characters "
        "(count >= 3). Test: wb14123_test, "
        f"{len(test_first)} pairs. Budget: {args.minutes:g} min of training per model, batch "
        f"{args.batch_size}, Adam {args.lr:g}; CoupletTagger: embedding 128, 6 gated residual "
        f"conv blocks of {args.width} filters; Seq2Seq: embedding 128, GRU {args.width}; "
        f"CoupletCVAE: embedding 128, 4 gated residual blocks of {args.width} filters per "
        "network, latent 32, free bits 0.125; its row scores the first of its samples. "
        f"Seq2Seq decodes with beam width {args.beam_width}, the output length forced to the "
        "first line's and its characters (not punctuation) banned in place. Same-position "
        "repeats count the first line's non-punctuation characters.",
        f"- Same-position repeats in the reference second lines: {reference_repeats:.2f}%",
        "",
        "| model | steps | char BLEU | per-position acc. % | same-pos. repeats % | "
        "repeats % without the ban | same length % | decode time |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    if diversity:
        lines += [
            "Several second lines per first line (z from the conditional prior, greedy per "
            "position):",
            "",
            "| model | samples per line | distinct lines per first line | distinct-2 within "
            "a line's samples % | same-pos. repeats % | same length % |",
            "|---|---|---|---|---|---|",
            *diversity,
            "",
        ]
    lines += [
        "20 sample couplets (wb14123_test, first 20 lines):",
        "",
        "| first line | reference | " + " | ".join(outputs) + " |",
        "|---|---|" + "---|" * len(outputs),
        *[
            f"| {test_first[i]} | {test_second[i]} | "
            + " | ".join(out[i] for out in outputs.values())
            + " |"
            for i in range(min(20, len(test_first)))
        ],
    ]
    print("\n".join(lines))
    if not args.no_results:
        common.append_results(f"Couplets: {' vs '.join(args.models)} (wb14123_test)", lines)


if __name__ == "__main__":
    main()
