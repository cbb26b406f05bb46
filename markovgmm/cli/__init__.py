"""The ``markovgmm`` command: a thin layer over the library's functions.

Each subcommand lives in its own module in this package and defines
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed arguments and returning an exit code).  :data:`COMMANDS` is
the static table of command names, modules and one-line helps: ``markovgmm
--help`` is built from it alone, and a command imports only its own module, so
start-up never pays for the other commands' dependencies (numpy, scipy,
networkx, ...).  A new command adds one row (a test checks the table against
the modules).  Input errors (:class:`~markovgmm.errors.InputError`) are printed
as one line, exit code 2; Ctrl-C, also during imports, as one line, exit 130.

CLI defaults follow one rule: every command computes with float64 unless it
says otherwise (``--exact`` / ``--certified`` ask for rational arithmetic or
proven intervals); the float path states its error (``absorb`` checks its
answer exactly and falls back to a certified value where float64 cannot
vouch for it).  Commands whose subject is exactness (``claims``, ``verify``,
``bounds``, ``demo``) are exact by construction and say so in their help.
"""

import argparse
import importlib
import sys

__all__ = ["main", "build_parser", "COMMANDS"]

#: name -> (module in this package, one-line help shown by ``markovgmm --help``).
COMMANDS = {
    "absorb": ("absorb", "P(polarisation), P(consensus), closed classes and absorption time from a start state"),
    "bounds": ("bounds", "lower bounds LB1-LB3 on P(polarisation) against the exact value"),
    "claims": ("claims", "check the convergence claims A1-A3 (one-step identity, iterated identity, limit of E||D_t||_F)"),
    "demo": ("demo", "polarisation table of a small built-in family (exact and float side by side)"),
    "ensemble": ("ensemble", "exact laws of ensemble vs token-level (ME) vs sequence-level selection (seed 004)"),
    "llm": ("llm", "real LLM mirroring runs: silos, embedding metric, comparison with the GMM proxy and the chain"),
    "simulate": (
        "simulate",
        "simulate the continuous interacting-GMM system (seed 002, ||D_t||_F) or the mirroring network (seed 000, silos)",
    ),
    "simulate-chain": ("simulate_chain", "Monte Carlo of the chain by actual draws: polarisation/consensus frequencies with intervals"),
    "sweep": ("sweep", "run a grid of systems (agents, memory, graphs, ownership, starts) on Dask into one CSV table"),
    "verify": ("verify", "check claims A1-A3 and bounds LB1-LB3 over a family of systems"),
}


def _version():
    from .. import __version__

    return __version__


def build_parser(commands=None):
    """The argument parser; ``commands``: the names whose module is imported
    and registered in full (default: all).  The others get a placeholder
    parser that carries their help only."""
    parser = argparse.ArgumentParser(
        prog="markovgmm",
        description="Exact analysis of the interacting-GMM memory-replacement Markov chain.",
    )
    parser.add_argument("--version", action="version", version=f"markovgmm {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    full = set(COMMANDS) if commands is None else set(commands)
    for name, (module_name, help_text) in COMMANDS.items():
        if name in full:
            importlib.import_module(f"{__name__}.{module_name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def _requested(argv):
    """The command named in ``argv`` (the first word that is not an option), or None."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _requested(argv)
    try:
        parser = build_parser([command] if command else [])
        args = parser.parse_args(argv)
        return args.func(args) or 0
    except KeyboardInterrupt:
        print(f"markovgmm{' ' + command if command else ''}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as err:
        from ..errors import InputError

        if isinstance(err, InputError):
            print(f"markovgmm {command}: error: {err}", file=sys.stderr)
            return 2
        raise
