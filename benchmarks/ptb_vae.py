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

``--patience N`` ends that stage once the validation loss has not improved for N epochs;
``--finetune-epochs N`` then trains N more epochs from its best weights with the KL weight
at 1, a lower free-bits floor (``--finetune-free-bits``, nats per latent dimension) and a
fresh Adam (``--finetune-lr``, decaying to 5%), also resumable (in DIR/finetune-<its settings>). A high
floor early keeps the latent code in use while the decoder learns; lowering it afterwards
lets the model drop the nats of KL that do not pay for themselves in reconstruction.
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


def _decaying(lr: float, start: float, steps: int) -> kgo.PiecewiseLinear:
    """``lr`` until ``start`` (a fraction) of ``steps``, then linearly to 5% at the end."""
    return kgo.PiecewiseLinear({0: 1.0, int(start * steps): 1.0, steps: 0.05}, lr)


def _rounded(epoch_logs: list[dict]) -> list[dict]:
    return [{k: round(v, 2) for k, v in logs.items()} for logs in epoch_logs]


def _build(model, data):
    if not model.built:
        model.evaluate(data.take(1), verbose=0)


class _Stage:
    """``fit`` for ``epochs`` epochs (or until ``best`` plateaus for ``patience``), resumable:
    with a ``work`` directory, each process stops at the first epoch end after the
    deadline, with ``BackupAndRestore`` backups and the per-epoch history (with each
    epoch's seconds) in ``work``, and the same command continues it."""

    def __init__(self, work: Path | None, epochs: int, best, patience: int = 0):
        self.work, self.epochs, self.best = work, epochs, best
        self.plateau = text_common.PlateauStop(best, patience)

    def history(self) -> list[dict]:
        """The logs of the epochs done so far (the last row of an epoch done twice)."""
        path = self.work / "history.csv"
        if not path.exists():
            return []
        with open(path) as f:
            rows = {int(r["epoch"]): r for r in csv.DictReader(f)}
        return [{k: float(v) for k, v in rows[e].items() if k != "epoch"} for e in sorted(rows)]

    def done(self, logs: list[dict]) -> bool:
        return len(logs) >= self.epochs or (bool(logs) and self.plateau.plateaued(len(logs) - 1))

    def fit(self, model, train_data, valid_data, callbacks, deadline):
        """Returns (epoch logs, training seconds) once the stage is done; exits otherwise."""
        if self.work is not None and self.done(self.history()):
            return self._finished()
        callbacks = [*callbacks, self.best, self.plateau]
        if self.work is not None:
            self.work.mkdir(parents=True, exist_ok=True)
            callbacks = [
                text_common.StopAfter(max(deadline - time.perf_counter(), 0.0)),
                *callbacks,
                text_common.EpochSeconds(),  # logged by the CSVLogger after it
                keras.callbacks.BackupAndRestore(
                    str(self.work / "backup"), delete_checkpoint=False
                ),
                keras.callbacks.CSVLogger(str(self.work / "history.csv"), append=True),
            ]
        # BackupAndRestore leaves the epoch it resumed from on the model, and fit starts from
        # it: clear what an earlier stage's resume left.
        model._initial_epoch = None
        started = time.perf_counter()
        history = model.fit(
            train_data,
            epochs=self.epochs,
            validation_data=valid_data,
            callbacks=callbacks,
            verbose=2,
        )
        if self.work is None:
            logs = [
                {k: v[i] for k, v in history.history.items()} for i in range(len(history.epoch))
            ]
            return logs, time.perf_counter() - started
        if not self.done(self.history()):
            raise SystemExit(
                f"stopped after epoch {len(self.history())} of {self.epochs} in {self.work} "
                "(--minutes); run the same command again to resume"
            )
        return self._finished()

    def _finished(self):
        logs = self.history()
        return logs, sum(epoch.pop("seconds") for epoch in logs)


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
    parser.add_argument(
        "--tie-embeddings",
        action="store_true",
        help="the softmax reuses the decoder's embedding matrix (Press & Wolf 2017)",
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
    parser.add_argument(
        "--patience",
        type=int,
        default=0,
        help="with --epochs: end the stage once the validation loss has not improved for "
        "this many epochs (0: never)",
    )
    parser.add_argument(
        "--finetune-epochs",
        type=int,
        default=0,
        help="a second stage from the best weights: KL weight 1, --finetune-free-bits, a "
        "fresh Adam at --finetune-lr decaying linearly to 5%% over these epochs",
    )
    parser.add_argument("--finetune-free-bits", type=float, default=0.04)
    parser.add_argument("--finetune-lr", type=float, default=3e-4)
    parser.add_argument(
        "--finetune-ema",
        type=float,
        default=0.0,
        help="second stage: keep an EMA of the weights with this momentum (Polyak "
        "averaging) and validate, keep and evaluate the averaged weights (0: off)",
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
        tie_embeddings=args.tie_embeddings,
        seed=0,
    )
    train_data = pipeline.length_bucketed_dataset(x, batch_size=args.batch_size, seed=0)
    valid_data = pipeline.length_bucketed_dataset(vx, batch_size=100, seed=1)
    work = args.checkpoint_dir
    best = text_common.BestWeights("val_loss", directory=work)
    callbacks = [KLAnnealing(args.anneal_steps, shape="sigmoid")]
    if args.epochs is None:  # a wall-time budget: the decay runs on elapsed time
        model.compile(optimizer=keras.optimizers.Adam(args.lr, global_clipnorm=5.0))
        budget = text_common.TimeBudget(args.minutes * 60)
        lr_decay = text_common.TimeCosineDecay(budget, start=args.decay_start)
        callbacks = [budget, lr_decay, *callbacks]
        epochs = 1000
    else:  # a number of epochs: the decay runs on the optimizer's step, so it resumes
        lr = _decaying(args.lr, args.decay_start, args.epochs * math.ceil(len(x) / args.batch_size))
        model.compile(optimizer=keras.optimizers.Adam(lr, global_clipnorm=5.0))
        epochs = args.epochs
    deadline = time.perf_counter() + args.minutes * 60
    stage = _Stage(work, epochs, best, args.patience)
    epoch_logs, train_s = stage.fit(model, train_data, valid_data, callbacks, deadline)
    _build(model, valid_data)  # when every epoch ran in earlier processes
    best.restore(model)  # the epoch with the lowest validation loss (an ELBO bound)
    best_epoch = best.best_epoch
    finetune_logs, finetune_s = [], 0.0
    if args.finetune_epochs:
        # Stage 2: the annealed KL weight (1) and a lower free-bits floor, from the best
        # weights with a fresh optimizer; compile() retraces with the new floor.
        model.beta, model.free_bits = 1.0, args.finetune_free_bits
        steps = args.finetune_epochs * math.ceil(len(x) / args.batch_size)
        lr = _decaying(args.finetune_lr, 0.0, steps)
        optimizer = keras.optimizers.Adam(lr, global_clipnorm=5.0)
        ema, stage2_callbacks = None, []
        if args.finetune_ema:  # validate and keep the averaged weights
            optimizer = ema = kgo.EMA(optimizer, momentum=args.finetune_ema)
            stage2_callbacks = [keras.callbacks.SwapEMAWeights(swap_on_epoch=False)]
        model.compile(optimizer=optimizer)
        # One directory per second-stage setting: several can start from one first stage.
        tuned_dir = None
        if work is not None:
            setting = (
                f"fb{args.finetune_free_bits:g}-lr{args.finetune_lr:g}-e{args.finetune_epochs}"
            )
            setting += f"-ema{args.finetune_ema:g}" if args.finetune_ema else ""
            tuned_dir = work / f"finetune-{setting}"
        tuned = text_common.BestWeights("val_loss", directory=tuned_dir, ema=ema)
        stage2 = _Stage(tuned_dir, args.finetune_epochs, tuned)
        finetune_logs, finetune_s = stage2.fit(
            model, train_data, valid_data, stage2_callbacks, deadline
        )
        tuned.restore(model)
        best_epoch = tuned.best_epoch
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
    kl = elbo_terms["kl"]
    elbo = elbo_terms["reconstruction"] + kl  # the loss adds what free bits floor
    elbo_ppl = float(np.exp(elbo * len(tx) / tokens))
    samples = model.generate(5, seed=0, max_length=30)
    sampled = model.generate(5, seed=0, max_length=30, temperature=1.0)
    interp = model.interpolate(test[0], test[5], steps=5, max_length=30)
    meets = ppl <= 110 and kl >= 1
    decay = (
        f"cosine decay to 5% after {args.decay_start:.0%} of the time budget"
        if args.epochs is None
        else f"linear decay to 5% from {args.decay_start:.0%} of the {args.epochs} epochs' steps"
    )
    if args.patience:
        decay += f"; stopped once the validation loss did not improve for {args.patience} epochs"
    if work is not None:
        decay += f"; checkpointed every epoch to {work}, resumable by running it again"
    ema_text = (
        f", averaging the weights (EMA, momentum {args.finetune_ema:g}; validated, kept and "
        "evaluated averaged)"
        if args.finetune_ema
        else ""
    )
    finetune = (
        f" Then {len(finetune_logs)} epoch(s) from those weights with KL weight 1 and free bits "
        f"{args.finetune_free_bits} (a fresh Adam {args.finetune_lr:g}, clipnorm 5, decaying "
        f"linearly to 5%; {finetune_s:.0f} s){ema_text}, keeping the epoch with the lowest validation loss ({best_epoch + 1})."
        if args.finetune_epochs
        else ""
    )
    lines = [
        f"- Command: `{common.command_line()}`",
        *common.machine_lines(),
        f"- Load average before/after: {load_before} / {common.load_average()} (2 cores, shared)",
        f"- TextVAE: LSTM {args.hidden_dim}, embedding 256, latent {args.latent_dim}, "
        f"{'tied input/output embeddings, ' if args.tie_embeddings else ''}dropout {args.dropout}, word "
        f"dropout {args.word_dropout}, free bits {args.free_bits}, KL weight 0 -> 1 (sigmoid) "
        f"over {args.anneal_steps} steps, Adam {args.lr:g} (global clipnorm 5; {decay}), batch "
        f"{args.batch_size} sentences of similar lengths; vocabulary {vocab.size} (with the 4 "
        f"special ids). Training: {len(epoch_logs)} epoch(s) in "
        f"{train_s:.0f} s, weights of epoch {best.best_epoch + 1} (lowest validation loss).{finetune} "
        f"Training {train_s + finetune_s:.0f} s in all, evaluation {eval_s:.0f} s; total wall "
        "time "
        f"{time.perf_counter() - started:.0f} s.",
        f"- Test: {len(tx)} sentences, {tokens} tokens (end tokens included).",
        "",
        f"| test NLL (IS, k={args.num_samples}) | PPL (IS) | ELBO NLL bound | PPL bound (ELBO) "
        "| KL (nats) |",
        "|---|---|---|---|---|",
        f"| {nll:.2f} | {ppl:.1f} | {elbo:.2f} | {elbo_ppl:.1f} | {kl:.2f} |",
        "",
        f"- Target PPL <= 110 with KL >= 1: {'met' if meets else 'NOT met'} (texar's reference "
        "after full training: PPL 105.5, NLL 102.1).",
        f"- History (per epoch): {_rounded(epoch_logs)}",
        *([f"- Second stage (per epoch): {_rounded(finetune_logs)}"] if finetune_logs else []),
        "- Samples (z ~ N(0, I), greedy): " + " | ".join(samples),
        "- Samples (z ~ N(0, I), words sampled at temperature 1): " + " | ".join(sampled),
        "- Interpolation between two test sentences: " + " | ".join(interp),
    ]
    print("\n".join(lines))
    if not args.no_results:
        common.append_results("Sentence VAE on PTB (TextVAE, LSTM)", lines)


if __name__ == "__main__":
    main()
