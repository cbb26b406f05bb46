"""The ``markovgmm`` command: a thin layer over the library's functions.

Each subcommand lives in its own module in this package and defines
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed arguments and returning an exit code).  Modules are found
automatically, so adding a command touches no shared file.  Input errors
(:class:`~markovgmm.errors.InputError`) are printed as one line, exit code 2.
"""

import argparse
import importlib
import pkgutil
import sys

from ..errors import InputError

__all__ = ["main", "build_parser"]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="markovgmm",
        description="Exact analysis of the interacting-GMM memory-replacement Markov chain.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except InputError as err:
        print(f"markovgmm {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"markovgmm {args.command}: interrupted", file=sys.stderr)
        return 130
