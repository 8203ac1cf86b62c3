"""Loaders for the text formats of the shared data folder (and any user file in the same format).

The shared data folder is ``$KERAS_GEN_DATA`` (or a ``data_dir``), else ``../shared/data``
beside a source checkout: see :func:`shared_data_dir`.

- couplets: one pair a line, ``first\\t=>\\tsecond`` (characters may be space-separated),
  or a folder holding ``in.txt`` and ``out.txt`` whose line i pair up;
- titles: ``title\\tbody`` a line (LCSTS, CSL), or ``body\\ttitle`` with ``order="body_title"``;
- PTB: one sentence a line, plain or ``.gz``.

Errors name the file and line: an empty line, a line that is not a pair, two files of
different lengths, a file that is not UTF-8.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

# The shared data sets sit next to a source checkout (../shared/data from its root); an
# installed package finds them through $KERAS_GEN_DATA or a data_dir (--data-dir).
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DATA_ENV = "KERAS_GEN_DATA"
# Where the folders of the shared data come from (their README has sizes and licences).
ORIGINS = {
    "couplets": "zijianzhao/: ZiJianZhao/Couplet-Machine data/final; wb14123_test/: "
    "v-zich/couplet-clean-dataset",
    "zh_titles": "lcsts/: the LCSTS sample of CLUEbenchmark/CLGE; csl/: ydli-ai/CSL",
    "ptb": "Penn Treebank in Mikolov's split, ptb.{train,valid,test}.txt.gz",
}
COUPLET_SEPARATOR = "=>"


def _read_lines(path: Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{path} is not UTF-8 text: invalid byte {raw[err.start : err.start + 1]!r} "
            f"on line {line}; convert it, e.g. `iconv -f GBK -t UTF-8`"
        ) from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # a trailing newline or blank tail is fine
        lines.pop()
    return [line.lstrip("\ufeff") if i == 0 else line for i, line in enumerate(lines)]


def _check_not_empty(text: str, path: Path, number: int, what: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError(f"{path}, line {number}: empty {what}; remove the line or fill it in")
    return text


def _squash(text: str) -> str:
    """Drop the spaces between characters (the couplet files separate them in some files)."""
    return "".join(text.split())


def load_couplets(paths: str | Path | Iterable[str | Path]) -> tuple[list[str], list[str]]:
    """(first lines, second lines) from couplet files or ``in.txt``/``out.txt`` folders.

    Spaces between characters are removed.

    >>> from keras_gen.text import loaders
    >>> first, second = loaders.load_couplets(
    ...     loaders.SHARED_DATA / "couplets/zijianzhao/test.txt")  # doctest: +SKIP
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    firsts, seconds = [], []
    for path in map(Path, paths):
        if path.is_dir():
            ins, outs = _read_lines(path / "in.txt"), _read_lines(path / "out.txt")
            if len(ins) != len(outs):
                raise ValueError(
                    f"{path}: in.txt has {len(ins)} lines but out.txt has {len(outs)}; "
                    "line i of in.txt must pair with line i of out.txt"
                )
            for i, (a, b) in enumerate(zip(ins, outs), 1):
                firsts.append(_squash(_check_not_empty(a, path / "in.txt", i, "first line")))
                seconds.append(_squash(_check_not_empty(b, path / "out.txt", i, "second line")))
            continue
        for i, line in enumerate(_read_lines(path), 1):
            _check_not_empty(line, path, i, "line")
            parts = line.split("\t")
            parts = (
                [p for p in parts if p.strip() != COUPLET_SEPARATOR] if len(parts) > 2 else parts
            )
            if len(parts) != 2:
                raise ValueError(
                    f"{path}, line {i}: expected a pair 'first\\t=>\\tsecond', got {line[:60]!r}"
                )
            firsts.append(_squash(_check_not_empty(parts[0], path, i, "first line")))
            seconds.append(_squash(_check_not_empty(parts[1], path, i, "second line")))
    return firsts, seconds


def load_titles(
    path: str | Path, order: str = "title_body", skip_columns: int = 0
) -> tuple[list[str], list[str]]:
    """(bodies, titles) from a tab-separated file of ``title\\tbody`` (or ``body\\ttitle``).

    ``skip_columns`` drops leading columns (CSL's ``ts_*.tsv`` start with a prompt).
    """
    if order not in ("title_body", "body_title"):
        raise ValueError(f"order must be 'title_body' or 'body_title'; got {order!r}")
    path = Path(path)
    bodies, titles = [], []
    for i, line in enumerate(_read_lines(path), 1):
        _check_not_empty(line, path, i, "line")
        parts = line.split("\t")[skip_columns:]
        if len(parts) != 2:
            raise ValueError(
                f"{path}, line {i}: expected 2 tab-separated columns ({order.replace('_', ', ')}), "
                f"got {len(parts)}: {line[:60]!r}"
            )
        title, body = parts if order == "title_body" else parts[::-1]
        titles.append(_check_not_empty(title, path, i, "title"))
        bodies.append(_check_not_empty(body, path, i, "body"))
    return bodies, titles


def load_sentences(path: str | Path, allow_empty: bool = False) -> list[str]:
    """Sentences, one a line (Penn Treebank's ``ptb.*.txt`` or ``.txt.gz``)."""
    path = Path(path)
    out = []
    for i, line in enumerate(_read_lines(path), 1):
        if not line.strip() and allow_empty:
            continue
        out.append(" ".join(_check_not_empty(line, path, i, "sentence").split()))
    return out


def shared_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The shared data folder: ``data_dir``, else ``$KERAS_GEN_DATA``, else
    ``../shared/data`` beside a source checkout."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    return SHARED_DATA


def shared_path(*parts: str, data_dir: str | os.PathLike | None = None) -> Path:
    """A path under the shared data folder (:func:`shared_data_dir`); a one-line error that
    says what to set, and where the data comes from, when it is missing.

    >>> shared_path("ptb", "no-such-file", data_dir="/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: ptb/no-such-file not found in the shared data folder /nonexistent (...
    """
    root = shared_data_dir(data_dir)
    path = root.joinpath(*parts)
    if not path.exists():
        if data_dir:
            given = "from --data-dir / data_dir"
        elif os.environ.get(DATA_ENV):
            given = f"from ${DATA_ENV}"
        else:
            given = (
                f"${DATA_ENV} is not set; the default is ../shared/data beside a source checkout"
            )
        origin = ORIGINS.get(parts[0]) if parts else None
        raise FileNotFoundError(
            f"{'/'.join(parts)} not found in the shared data folder {root} ({given}): set "
            f"{DATA_ENV}=DIR or pass --data-dir DIR, a folder holding "
            f"{parts[0] if parts else ''}/"
            + (f" ({origin})" if origin else "")
            + ", or pass your own files with --data"
        )
    return path


ZIJIANZHAO_TRAIN = (
    "cldldq+zgdl+zgdldq+zgdlw.txt",
    "mannual.txt",
    "valid.txt",
    "qts_for_duilian.txt",
    "long.txt",
    "repeat.txt",
    "lwdy+slqm+xmpj.txt",
)


def couplet_train_files(data_dir: str | os.PathLike | None = None) -> Sequence[Path]:
    """The zijianzhao files except ``test.txt`` (the benchmark's training split)."""
    return [
        shared_path("couplets", "zijianzhao", name, data_dir=data_dir) for name in ZIJIANZHAO_TRAIN
    ]
