"""Sentence VAE on Penn Treebank: importance-sampled test NLL, perplexity and KL.

LSTM TextVAE (Bowman et al. 2016) with KL annealing and word dropout, trained
for a wall-time budget on ptb.train (batches of similar lengths), evaluated on
the whole ptb.test: the ELBO, the importance-sampled NLL (k samples per
sentence) and the perplexity exp(NLL / tokens), the end token counted as a
token (as texar does). Appends a section to RESULTS.md.

    python benchmarks/ptb_vae.py --minutes 13

Or for a number of epochs (the learning rate then decays with the optimizer's step, from
``--decay-start`` of the run to 5% at its end), spread over as many processes as it takes:
``--checkpoint-dir DIR --minutes M`` stops at the first epoch end after M minutes with
``keras.callbacks.BackupAndRestore`` backups, the best epoch's weights and the per-epoch
history in DIR; the same command again resumes, and the last process evaluates.

    python benchmarks/ptb_vae.py --epochs 30 --dropout 0.5 --checkpoint-dir runs/ptb --minutes 150
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import common
import keras
import numpy as np
import text_common

from keras_gen import optimizers as kgo
from keras_gen import zoo
from keras_gen.callbacks import KLAnnealing
from keras_gen.text import TextVocabulary, load_sentences, pipeline


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA))
    parser.add_argument(
        "--minutes",
        type=float,
        default=13.0,
        help="training budget; with --epochs and --checkpoint-dir, this process's budget",
    )
    parser.add_argument("--epochs", type=int, default=None, help="train this many epochs")
    parser.add_argument("--checkpoint-dir", type=Path, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--word-dropout", type=float, default=0.25)
    parser.add_argument("--free-bits", type=float, default=0.0)
    parser.add_argument(
        "--dropout", type=float, default=0.0, help="embedding/output dropout (texar: 0.5)"
    )
    parser.add_argument("--anneal-steps", type=int, default=400)
    parser.add_argument("--num-samples", type=int, default=20)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument(
        "--decay-start",
        type=float,
        default=0.5,
        help="fraction of the time budget (of the steps, with --epochs) after which the "
        "learning rate decays to 5%% at the end (1: never)",
    )
    parser.add_argument("--limit-test", type=int, default=None)
    parser.add_argument("--limit-train", type=int, default=None, help="(smoke tests)")
    parser.add_argument("--save", default="/tmp/keras-gen-ptb/text_vae.keras")
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args(argv)
    if args.checkpoint_dir is not None and args.epochs is None:
        parser.error("--checkpoint-dir needs --epochs (a time-budget run cannot resume)")
    started = time.perf_counter()
    load_before = common.load_average()
    keras.utils.set_random_seed(0)
    root = Path(args.data) / "ptb"
    train = load_sentences(root / "ptb.train.txt.gz")[: args.limit_train]
    valid = load_sentences(root / "ptb.valid.txt.gz")
    test = load_sentences(root / "ptb.test.txt.gz")[: args.limit_test]
    vocab = TextVocabulary.build(train, level="word")
    x = pipeline.sentence_arrays(vocab, train)
    vx = pipeline.sentence_arrays(vocab, valid)
    tx = pipeline.sentence_arrays(vocab, test)
    model = zoo.TextVAE(
        vocab,
        latent_dim=args.latent_dim,
        embedding_dim=256,
        hidden_dim=args.hidden_dim,
        cell="lstm",
        word_dropout=args.word_dropout,
        free_bits=args.free_bits,
        dropout=args.dropout,
        seed=0,
    )
    train_data = pipeline.length_bucketed_dataset(x, batch_size=args.batch_size, seed=0)
    valid_data = pipeline.length_bucketed_dataset(vx, batch_size=100, seed=1)
    work = args.checkpoint_dir
    best = text_common.BestWeights("val_loss", directory=work)
    callbacks = [KLAnnealing(args.anneal_steps, shape="sigmoid"), best]
    if args.epochs is None:  # a wall-time budget: the decay runs on elapsed time
        model.compile(optimizer=keras.optimizers.Adam(args.lr, global_clipnorm=5.0))
        budget = text_common.TimeBudget(args.minutes * 60)
        lr_decay = text_common.TimeCosineDecay(budget, start=args.decay_start)
        callbacks = [budget, lr_decay, *callbacks]
        epochs = 1000
    else:  # a number of epochs: the decay runs on the optimizer's step, so it resumes
        total = args.epochs * math.ceil(len(x) / args.batch_size)
        decay_from = int(args.decay_start * total)
        lr = kgo.PiecewiseLinear({0: 1.0, decay_from: 1.0, total: 0.05}, args.lr)
        model.compile(optimizer=keras.optimizers.Adam(lr, global_clipnorm=5.0))
        stop = text_common.StopAfter(None if work is None else args.minutes * 60)
        callbacks = [stop, *callbacks]
        epochs = args.epochs
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        callbacks += [
            text_common.EpochSeconds(),  # logged by the CSVLogger after it
            keras.callbacks.BackupAndRestore(str(work / "backup"), delete_checkpoint=False),
            keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
        ]
    started_training = time.perf_counter()
    history = model.fit(
        train_data, epochs=epochs, validation_data=valid_data, callbacks=callbacks, verbose=2
    )
    train_s = time.perf_counter() - started_training
    epoch_logs = [{k: v[i] for k, v in history.history.items()} for i in range(len(history.epoch))]
    if work is not None:  # the epochs of every process, the last row of an epoch done twice
        with open(work / "history.csv") as f:
            rows = {int(r["epoch"]): r for r in csv.DictReader(f)}
        epoch_logs = [
            {k: float(v) for k, v in rows[e].items() if k != "epoch"} for e in sorted(rows)
        ]
        if len(epoch_logs) < args.epochs:
            raise SystemExit(
                f"stopped after epoch {len(epoch_logs)} of {args.epochs} (--minutes "
                f"{args.minutes:g}); run the same command again to resume from {work}"
            )
        train_s = sum(logs.pop("seconds") for logs in epoch_logs)
    best.restore(model)  # the epoch with the lowest validation loss (an ELBO bound)
    Path(args.save).parent.mkdir(parents=True, exist_ok=True)
    model.save(args.save)

    start = time.perf_counter()
    elbo_terms = model.evaluate(
        pipeline.length_bucketed_dataset(tx, batch_size=100, seed=2), verbose=0, return_dict=True
    )
    lengths = (tx != 0).sum(1)
    order = np.argsort(lengths, kind="stable")
    log_p = np.empty(len(tx))
    for i in range(0, len(order), 200):
        idx = order[i : i + 200]
        chunk = tx[idx, : lengths[idx].max()]
        log_p[idx] = model.log_likelihood(chunk, num_samples=args.num_samples, seed=i)
    eval_s = time.perf_counter() - start
    tokens = int(lengths.sum())  # words + one end token per sentence
    nll = -log_p.mean()
    ppl = float(np.exp(-log_p.sum() / tokens))
    elbo_ppl = float(np.exp(elbo_terms["loss"] * len(tx) / tokens))
    kl = elbo_terms["kl"]
    samples = model.generate(5, seed=0, max_length=30)
    interp = model.interpolate(test[0], test[5], steps=5, max_length=30)
    meets = ppl <= 110 and kl >= 1
    decay = (
        f"cosine decay to 5% after {args.decay_start:.0%} of the time budget"
        if args.epochs is None
        else f"linear decay to 5% from {args.decay_start:.0%} of the {args.epochs} epochs' steps"
    )
    if work is not None:
        decay += f"; trained in resumed processes from {work}"
    lines = [
        f"- Command: `{common.command_line()}`",
        *common.machine_lines(),
        f"- Load average before/after: {load_before} / {common.load_average()} (2 cores, shared)",
        f"- TextVAE: LSTM {args.hidden_dim}, embedding 256, latent {args.latent_dim}, dropout {args.dropout}, word "
        f"dropout {args.word_dropout}, free bits {args.free_bits}, KL weight 0 -> 1 (sigmoid) "
        f"over {args.anneal_steps} steps, Adam {args.lr:g} (global clipnorm 5; {decay}), batch "
        f"{args.batch_size} sentences of similar lengths; vocabulary {vocab.size} (with the 4 "
        f"special ids). Training: {len(epoch_logs)} epoch(s) in "
        f"{train_s:.0f} s, weights of epoch {best.best_epoch + 1} (lowest validation loss); evaluation {eval_s:.0f} s; total wall time "
        f"{time.perf_counter() - started:.0f} s.",
        f"- Test: {len(tx)} sentences, {tokens} tokens (end tokens included).",
        "",
        f"| test NLL (IS, k={args.num_samples}) | PPL (IS) | ELBO NLL bound | PPL bound (ELBO) "
        "| KL (nats) |",
        "|---|---|---|---|---|",
        f"| {nll:.2f} | {ppl:.1f} | {elbo_terms['loss']:.2f} | {elbo_ppl:.1f} | {kl:.2f} |",
        "",
        f"- Target PPL <= 110 with KL >= 1: {'met' if meets else 'NOT met'} (texar's reference "
        "after full training: PPL 105.5, NLL 102.1).",
        f"- History (per epoch): {[{k: round(v, 2) for k, v in logs.items()} for logs in epoch_logs]}",
        "- Samples (z ~ N(0, I), greedy): " + " | ".join(samples),
        "- Interpolation between two test sentences: " + " | ".join(interp),
    ]
    print("\n".join(lines))
    if not args.no_results:
        common.append_results("Sentence VAE on PTB (TextVAE, LSTM)", lines)


if __name__ == "__main__":
    main()
