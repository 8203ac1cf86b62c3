"""What went wrong when TFDS could not prepare a data set, in one line.

TFDS fails in many ways: no network (requests, urllib3, socket errors), a package it
imports but the install lacks (``No module named 'importlib_resources'``), a bad
checksum, a full disk. The message names the real cause, with the exception's own
text; it says "no network?" only for a network error.

>>> import socket
>>> err = ConnectionError("Failed to resolve 'storage.googleapis.com'")
>>> is_network_error(err), is_network_error(ModuleNotFoundError("No module named 'x'"))
(True, False)
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
from collections.abc import Iterator

_NETWORK_TYPES = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    urllib.error.URLError,
    http.client.HTTPException,
    ssl.SSLError,
)
# Libraries whose exceptions are all about the network (requests' are OSErrors, not
# ConnectionErrors).
_NETWORK_PACKAGES = ("requests", "urllib3", "aiohttp")


def _chain(err: BaseException | None) -> Iterator[BaseException]:
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def is_network_error(err: BaseException) -> bool:
    """Whether ``err`` or an exception it was raised from is a network error."""
    for e in _chain(err):
        if isinstance(e, _NETWORK_TYPES):
            return True
        if type(e).__module__.split(".")[0] in _NETWORK_PACKAGES:
            return True
    return False


def describe(err: BaseException, limit: int = 300) -> str:
    """``Type: text`` of an exception on one line, at most about ``limit`` characters."""
    text = " ".join(str(err).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def tfds_failure(name: str, err: BaseException, local_formats: str) -> str:
    """The message for a TFDS data set that could not be downloaded or prepared.

    >>> msg = tfds_failure("mnist", ModuleNotFoundError(
    ...     "No module named 'importlib_resources'", name="importlib_resources"), "...")
    >>> "No module named 'importlib_resources'" in msg, "no network" in msg
    (True, False)
    """
    instead = (
        f"Point at local files instead: {local_formats}; or pass data_dir= (--data-dir) a "
        "TFDS data directory that already holds the prepared data set"
    )
    if is_network_error(err):
        cause = f"no network? {describe(err)}"
        return f"could not download the TFDS data set {name!r} ({cause}). {instead}"
    missing = next((e for e in _chain(err) if isinstance(e, ImportError)), None)
    if missing is not None:
        package = (missing.name or "").split(".")[0].replace("_", "-")
        fix = f"install it (pip install {package})" if package else "reinstall keras-gen"
        return (
            f"could not prepare the TFDS data set {name!r}: tensorflow_datasets needs a "
            f"package that is not installed ({describe(missing)}); {fix}"
        )
    return f"could not prepare the TFDS data set {name!r} ({describe(err)}). {instead}"
