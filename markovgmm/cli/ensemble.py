"""``markovgmm ensemble``: seed 004's mixture-model ensembling, checked exactly (docs/model.md 5).

Computes, for an ensemble of small table models (the built-in example or a
``--models`` JSON file, format in :mod:`markovgmm.ensemble`), the exact
sequence laws of the averaged ensemble, of token-level random selection
(ME) and of sequence-level selection over all sequences up to ``--length``
tokens, their exact total variation distances to the ensemble, and the model
evaluations per generated token.  With ``--samples`` it also draws that many
sequences with each method (seeded) and reports the counted evaluations and a
chi-square test against the exact ensemble law.
"""

from __future__ import annotations

import json

from ..ensemble import DEFAULT_MODELS, METHODS, chi_square, compare, default_example, ensemble_law, read_models, sample
from ..errors import InputError
from ..numbers import fraction_str
from ..ensemble import MAX_LENGTH, MAX_SAMPLE_TOKENS
from ._options import check_seed, print_json

__all__ = ["register", "run", "MODELS_HELP"]

MODELS_HELP = (
    "JSON models file: {\"vocabulary\": [\"a\", \"b\", \"<end>\"], \"end\": \"<end>\" (optional), "
    "\"length\": 3 (optional), \"weights\": [\"2/3\", \"1/3\"] (optional, default uniform), "
    "\"models\": [{\"name\": \"A\", \"table\": {\"\": [\"1/2\", \"1/2\", \"0\"], \"a\": {\"a\": \"1/4\", \"<end>\": \"3/4\"}}}, ...]}. "
    "A table maps a context (tokens separated by spaces; \"\" = empty context, required) to the next-token law "
    "(a list in vocabulary order or an object token -> probability; exact: \"1/3\", \"0.25\"); the law after a "
    "prefix is the row of its longest listed suffix. Rows must be >= 0 and sum to 1. Default: a built-in "
    "example of two bigram models."
)


def register(subparsers):
    parser = subparsers.add_parser(
        "ensemble",
        help="exact laws of ensemble vs token-level (ME) vs sequence-level selection (seed 004)",
        description=(
            "Seed 004 / docs/model.md 5: sampling every token from a model drawn with weights lambda has exactly the "
            "law of the averaged ensemble (TV 0) at one model evaluation per token instead of M; one model per "
            "sequence does not. All laws and distances are exact rationals."
        ),
    )
    parser.add_argument("--models", metavar="FILE", default=None, help=MODELS_HELP)
    parser.add_argument(
        "--length", "-L", type=int, default=None, help="maximum sequence length L (default: the file's 'length', else 3)"
    )
    parser.add_argument("--samples", type=int, default=0, help="also draw this many sequences per method (default 0 = none)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samplers (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--print-example", action="store_true", help="print the built-in example as a models FILE (a template) and exit"
    )
    parser.add_argument("--quiet", action="store_true", help="accepted for symmetry with other commands (the exact enumeration is capped at about 10 s, so there is no progress bar)")
    parser.set_defaults(func=run)


def run(args):
    if args.print_example:
        print(json.dumps(DEFAULT_MODELS, indent=2))
        return 0
    if args.models is None:
        ensemble, file_length = default_example(), 3
    else:
        ensemble, file_length = read_models(args.models)
    length = args.length if args.length is not None else (file_length if file_length is not None else 3)
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_LENGTH:
        raise InputError(f"length must be an integer from 1 to {MAX_LENGTH:,}, got {length!r}")
    check_seed(args.seed)
    if args.samples < 0 or args.samples * length > MAX_SAMPLE_TOKENS:
        raise InputError(
            f"samples must be an integer from 0 with samples x length <= {MAX_SAMPLE_TOKENS:,}, got {args.samples:,} (length {length})"
        )
    report = compare(ensemble, length)
    if args.samples:
        exact = ensemble_law(ensemble, length)
        sampling = {"samples": args.samples, "seed": args.seed, "methods": {}}
        for offset, method in enumerate(METHODS):
            result = sample(ensemble, length, method, args.samples, seed=[args.seed, offset])
            statistic, p_value = chi_square(result, exact)
            sampling["methods"][method] = {
                "tokens": result.tokens,
                "evaluations": result.evaluations,
                "evaluations_per_token": result.evaluations_per_token,
                "chi_square_vs_ensemble": statistic,
                "p_value_vs_ensemble": p_value,
            }
        report["sampling"] = sampling
    if args.json:
        print_json(report)
        return 0
    _print_text(report)
    return 0


def _print_text(report):
    names = ", ".join(f"{name} ({fraction_str(w)})" for name, w in zip(report["models"], report["weights"]))
    print(f"models      {names}")
    end = report["end"] if report["end"] is not None else "none (fixed length)"
    print(f"vocabulary  {' '.join(report['vocabulary'])}   end token: {end}   length <= {report['length']}")
    print(f"sequences   {report['sequences']}")
    print(f"TV(token-level, ensemble)     {fraction_str(report['tv_token_level'])}")
    tv = report["tv_sequence_level"]
    print(f"TV(sequence-level, ensemble)  {float(tv):.12g}  [{fraction_str(tv)}]")
    print("evaluations per token: " + ", ".join(f"{m} {fraction_str(report['evaluations_per_token'][m])}" for m in METHODS))
    width = max([8] + [len(" ".join(row["sequence"])) for row in report["table"]])
    print(f"  {'sequence':<{width}}  {'ensemble':>14}  {'token-level':>14}  {'sequence-level':>14}")
    for row in report["table"]:
        values = "  ".join(f"{float(row[m]):>14.10f}" for m in METHODS)
        print(f"  {' '.join(row['sequence']):<{width}}  {values}")
    if "sampling" in report:
        sampling = report["sampling"]
        print(f"sampling    {sampling['samples']} sequences per method, seed {sampling['seed']}")
        for method, result in sampling["methods"].items():
            print(
                f"  {method:<15} evaluations/token {fraction_str(result['evaluations_per_token']):<6} "
                f"chi-square vs ensemble law: p = {result['p_value_vs_ensemble']:.3g}"
            )
