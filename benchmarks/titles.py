"""Titles: Seq2Seq with beam search against the lead-N baseline on the LCSTS sample.

Trains on LCSTS train (8,666), tunes N of the lead-N baseline (the first N
characters of the body) and the decoding on val (1,000), reports character
ROUGE-1/2/L (rouge-score) on test (1,000). Appends a section to RESULTS.md.

    python benchmarks/titles.py --minutes 12
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import common
import keras
import text_common

from keras_gen import metrics, presets
from keras_gen.text import TextVocabulary, load_titles, pipeline


def lead(bodies, n):
    return ["".join(b.split())[:n] for b in bodies]


def fmt(scores):
    return " / ".join(f"{scores[k]:.2f}" for k in ("rouge1", "rouge2", "rougeL"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA))
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden-dim", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument(
        "--copy", action=argparse.BooleanOptionalAction, default=True, help="pointer-generator"
    )
    parser.add_argument("--max-source-length", type=int, default=120)
    parser.add_argument("--save", default="/tmp/keras-gen-titles/seq2seq.keras")
    parser.add_argument(
        "--limit-eval", type=int, default=None, help="val/test examples (smoke runs)"
    )
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args(argv)
    load_before = common.load_average()
    keras.utils.set_random_seed(0)
    root = Path(args.data) / "zh_titles" / "lcsts"
    train_b, train_t = load_titles(root / "train.tsv")
    val_b, val_t = load_titles(root / "val.tsv")
    test_b, test_t = load_titles(root / "test.tsv")
    val_b, val_t = val_b[: args.limit_eval], val_t[: args.limit_eval]
    test_b, test_t = test_b[: args.limit_eval], test_t[: args.limit_eval]

    # Lead-N, N tuned on val by ROUGE-L.
    val_scores = {n: metrics.rouge(lead(val_b, n), val_t)["rougeL"] for n in range(4, 41, 2)}
    best_n = max(val_scores, key=val_scores.get)
    lead_test = metrics.rouge(lead(test_b, best_n), test_t)
    print(f"lead-{best_n}: test R1/R2/RL {fmt(lead_test)}", flush=True)

    vocab = TextVocabulary.build(train_b + train_t, level="char", min_count=2)
    x, y = pipeline.seq2seq_arrays(
        vocab, train_b, train_t, max_source_length=args.max_source_length, max_target_length=32
    )
    vx, vy = pipeline.seq2seq_arrays(
        vocab, val_b, val_t, max_source_length=args.max_source_length, max_target_length=32
    )
    preset = presets.get("title-seq2seq")  # dropout 0.2, Adam with global_clipnorm 1
    model = preset.build(
        vocabulary=vocab, embedding_dim=128, hidden_dim=args.hidden_dim, copy=args.copy
    )
    preset.compile(model, learning_rate=args.lr)
    best = text_common.BestWeights("val_loss")
    _, steps, seconds, epochs = text_common.fit_for(
        model,
        pipeline.length_bucketed_dataset(x, y, batch_size=args.batch_size, seed=0),
        args.minutes * 60,
        validation_data=pipeline.length_bucketed_dataset(vx, vy, batch_size=200, seed=1),
        callbacks=[best],
    )
    best.restore(model)
    Path(args.save).parent.mkdir(parents=True, exist_ok=True)
    model.save(args.save)

    def decode(bodies, k, alpha):
        return model.generate_from(
            bodies,
            beam_width=k,
            alpha=alpha,
            max_length=32,
            max_source_length=args.max_source_length,
        )

    # Decoding settings tuned on val.
    tuned = {}
    for k, alpha in (
        (1, 0.0),
        (args.beam_width, 0.0),
        (args.beam_width, 0.6),
        (args.beam_width, 1.0),
    ):
        tuned[(k, alpha)] = metrics.rouge(decode(val_b, k, alpha), val_t)["rougeL"]
        print(f"val k={k} alpha={alpha}: RL {tuned[(k, alpha)]:.2f}", flush=True)
    k_best, alpha_best = max(tuned, key=tuned.get)
    start = time.perf_counter()
    greedy = decode(test_b, 1, 0.0)
    hyps = decode(test_b, k_best, alpha_best)
    decode_s = time.perf_counter() - start
    greedy_scores, beam_scores = metrics.rouge(greedy, test_t), metrics.rouge(hyps, test_t)
    beats = all(beam_scores[m] > lead_test[m] for m in lead_test)
    lines = [
        f"- Command: `{common.command_line()}`",
        *common.machine_lines(),
        f"- Load average before/after: {load_before} / {common.load_average()} (2 cores, shared)",
        f"- Data: LCSTS sample, train {len(train_b)}, val {len(val_b)}, test {len(test_b)}; "
        f"vocabulary {vocab.size} characters (count >= 2); bodies cut to "
        f"{args.max_source_length} characters.",
        f"- Seq2Seq: BiGRU encoder, GRU decoder, hidden {args.hidden_dim}, embedding 128, "
        f"{'with' if args.copy else 'without'} the copy mechanism (pointer-generator), "
        f"dropout 0.2, Adam {args.lr:g} (global clipnorm 1), batch {args.batch_size}; {steps} steps ({epochs} epochs) in "
        f"{seconds:.0f} s of training, weights of the best val loss kept "
        f"(epoch {best.best_epoch + 1}, val loss {best.best:.2f}). Decoding tuned on val: "
        f"beam width {k_best}, length-penalty alpha {alpha_best}; decoding both test runs took "
        f"{decode_s:.0f} s.",
        f"- Lead-N baseline: N = {best_n} (tuned on val by ROUGE-L).",
        "",
        "| system | test ROUGE-1 / ROUGE-2 / ROUGE-L (F1, characters) |",
        "|---|---|",
        f"| lead-{best_n} | {fmt(lead_test)} |",
        f"| Seq2Seq greedy | {fmt(greedy_scores)} |",
        f"| Seq2Seq beam {k_best}, alpha {alpha_best} | {fmt(beam_scores)} |",
        "",
        f"- Target (beat the baseline on all three): {'met' if beats else 'NOT met'}.",
        "",
        "Samples (test, first 5): body[:40] | reference | Seq2Seq",
        "",
        *[f"- {test_b[i][:40]} | {test_t[i]} | {hyps[i]}" for i in range(5)],
    ]
    print("\n".join(lines))
    if not args.no_results:
        common.append_results("Titles: Seq2Seq with beam search vs lead-N (LCSTS sample)", lines)


if __name__ == "__main__":
    main()
