"""Progress that suits where it goes: a terminal, or a log file.

On a terminal, ``keras-gen train`` shows Keras' progress bar, updated within each epoch,
and ``keras-gen evaluate`` rewrites one status line on stderr while the NLL runs. In a
file or a pipe there are no carriage returns: training prints one line per epoch (Keras'
``verbose=2``) and, within an epoch longer than a minute, a plain line each minute
(:class:`LongEpochLines`), so that a log shows a long epoch is running.

>>> format_duration(75.4), format_duration(3725)
('1:15', '1:02:05')
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TextIO

import keras

from keras_gen.metrics.likelihood import report_progress


def format_duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class LongEpochLines(keras.callbacks.Callback):
    """A plain line every ``interval`` seconds within an epoch, for logs.

    Keras' ``verbose=2`` prints an epoch's line when the epoch ends; this adds
    ``epoch 3: step 400/1250 - 2:00 - loss: 3.21`` lines meanwhile (none for epochs
    shorter than ``interval``).

    >>> import io, numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> out = io.StringIO()
    >>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, verbose=0,
    ...               callbacks=[LongEpochLines(interval=0, stream=out)])
    >>> out.getvalue().splitlines()[0][:20]
    'epoch 1: step 1/2 - '
    """

    def __init__(self, interval: float = 60.0, stream: TextIO | None = None):
        super().__init__()
        self.interval = float(interval)
        self.stream = stream
        self._epoch, self._start, self._last = 0, 0.0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._start = self._last = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        steps = (self.params or {}).get("steps")
        step = f"{batch + 1}/{steps}" if steps else f"{batch + 1}"
        values = []
        for name, value in (logs or {}).items():
            try:
                values.append(f"{name}: {float(value):.4f}")
            except (TypeError, ValueError):
                continue
        line = f"epoch {self._epoch + 1}: step {step} - {format_duration(now - self._start)}"
        print(" - ".join([line, *values]), file=self.stream or sys.stdout, flush=True)


class StatusLine:
    """``label: done/total unit (p%), elapsed, about ... left`` on ``stream``.

    On a terminal the line is rewritten in place (``\\r``); elsewhere a new line is
    written at most every ``interval`` seconds, and always the last one.
    """

    def __init__(self, label: str, unit: str, stream: TextIO | None = None, interval=None):
        self.label, self.unit = label, unit
        self.stream = stream or sys.stderr
        self.dynamic = is_terminal(self.stream)
        self.interval = (0.1 if self.dynamic else 30.0) if interval is None else interval
        self._start = time.monotonic()
        self._last = -float("inf")
        self._width = 0

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        final = done >= total
        if not final and now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self._start
        text = f"{self.label}: {done}/{total} {self.unit} ({100 * done // max(total, 1)}%)"
        text += f", {format_duration(elapsed)}"
        if 0 < done < total:
            text += f", about {format_duration(elapsed * (total - done) / done)} left"
        if self.dynamic:
            self.stream.write("\r" + text.ljust(self._width) + ("\n" if final else ""))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


@contextlib.contextmanager
def nll_progress(enabled: bool, stream: TextIO | None = None) -> Iterator[None]:
    """Within the block, the importance-sampled NLL reports its progress (if ``enabled``)."""
    if not enabled:
        yield
        return
    line = StatusLine("NLL", "examples", stream)
    with report_progress(line.update):
        yield
