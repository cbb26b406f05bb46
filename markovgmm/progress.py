"""Progress bars for long work: tqdm on a terminal, silent otherwise."""

import sys

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(total, desc, quiet=False, unit="it"):
    """A tqdm bar on stderr, disabled when ``quiet`` or stderr is not a terminal."""
    return tqdm(total=total, desc=desc, unit=unit, disable=quiet or not sys.stderr.isatty(), leave=False, file=sys.stderr)
