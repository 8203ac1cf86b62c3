"""Beam-search speed: incremental decoding (cached state) against recomputing the prefix.

Same Seq2Seq, same batch, same run: batched beam search that advances the GRU
cell one step on its cached state (attention keys computed once), against the
same search re-running the decoder over the whole prefix at every step. Every
hypothesis is forced to ``--length`` tokens so that both do the same number of
steps; the outputs are checked to be identical. Appends a section to RESULTS.md.

    python benchmarks/beam_speed.py --length 30
"""

from __future__ import annotations

import argparse
import time

import common
import keras
import numpy as np

from keras_gen import zoo
from keras_gen.text import TextVocabulary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--vocab-size", type=int, default=5000)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--source-length", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args(argv)
    load_before = common.load_average()
    keras.utils.set_random_seed(0)
    vocab = TextVocabulary([f"t{i}" for i in range(args.vocab_size - 4)], level="word")
    model = zoo.Seq2Seq(vocab, embedding_dim=128, hidden_dim=args.hidden_dim)
    rng = np.random.default_rng(0)
    x = rng.integers(4, vocab.size, (args.batch_size, args.source_length)).astype("int32")
    lengths = np.full(args.batch_size, args.length - 1)  # + the end token = length tokens
    results, times = {}, {}
    for incremental in (True, False):

        def run(incremental=incremental):
            return model.search(
                x, args.beam_width, args.length, incremental=incremental, lengths=lengths
            )

        run()  # trace
        best = np.inf
        for _ in range(args.repeats):
            start = time.perf_counter()
            results[incremental] = run()
            best = min(best, time.perf_counter() - start)
        times[incremental] = best
    same = np.array_equal(results[True].tokens, results[False].tokens)
    max_diff = float(np.abs(results[True].log_probs - results[False].log_probs).max())
    tokens = args.batch_size * args.length
    speedup = times[False] / times[True]
    lines = [
        f"- Command: `{common.command_line()}`",
        *common.machine_lines(),
        f"- Load average before/after: {load_before} / {common.load_average()} (2 cores, shared)",
        f"- Seq2Seq (untrained), hidden {args.hidden_dim}, vocabulary {vocab.size}, batch "
        f"{args.batch_size} sources of {args.source_length} tokens, beam width {args.beam_width}, "
        f"{args.length} output tokens per hypothesis; best of {args.repeats} runs after a "
        "tracing run. Tokens/s counts the output tokens of the best hypotheses.",
        "",
        "| decoder | time | tokens/s |",
        "|---|---|---|",
        f"| incremental (cached GRU state, attention keys once) | {times[True]:.2f} s | "
        f"{tokens / times[True]:.0f} |",
        f"| decoder re-run over the whole prefix every step (RNN, attention, output layer; "
        f"encoder outputs reused) | {times[False]:.2f} s | {tokens / times[False]:.0f} |",
        "",
        f"- Speed-up at length {args.length}: {speedup:.1f}x (target >= 5x: "
        f"{'met' if speedup >= 5 else 'NOT met'}); identical outputs: {same}, "
        f"max |log-prob difference| {max_diff:.2e}.",
    ]
    print("\n".join(lines))
    if not args.no_results:
        common.append_results("Beam-search speed: incremental vs full-prefix decoding", lines)


if __name__ == "__main__":
    main()
