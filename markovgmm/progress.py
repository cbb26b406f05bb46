"""Progress bars for long work: a bar with total and ETA on a terminal, silent otherwise.

tqdm is imported only when a bar is shown.  ``tqdm.auto`` (a Jupyter widget)
is used only inside a Jupyter kernel with ipywidgets installed, where it
works; everywhere else the plain text bar (``tqdm.std``) on stderr.  Off a
terminal (pipes, files, CI) and with ``quiet`` the bar is a silent stand-in
that imports nothing.
"""

import sys

__all__ = ["progress_bar", "NullBar"]


class NullBar:
    """The interface of a tqdm bar that the commands use, doing nothing."""

    def __init__(self, total=None):
        self.total = total
        self.n = 0

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, *args, **kwargs):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _in_notebook():
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:  # pragma: no cover - IPython without a shell
        return False
    if ip is None or type(ip).__name__ != "ZMQInteractiveShell":
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def progress_bar(total, desc, quiet=False, unit="it"):
    """A bar with ``total`` (ETA shown when known) on stderr; a silent
    :class:`NullBar` when ``quiet`` or stderr is not a terminal (and not a
    notebook)."""
    notebook = _in_notebook()
    if quiet or not (notebook or sys.stderr.isatty()):
        return NullBar(total)
    if notebook:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
