"""Command line: python3 -m icl_analysis report FILE.h5 -o DIR | sweep FILE.h5 [--predictor P]"""
import argparse
import sys

from .load import SchemaError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="icl_analysis")
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="write report.md/.html, rates.csv, agreement.csv, figures")
    report.add_argument("file", help="result file (HDF5) written by icl-study")
    report.add_argument("-o", "--output", required=True, help="output folder")
    sweep = sub.add_parser("sweep", help="test risk of each group's winner by validation loss "
                           "(mean, spread and bootstrap interval over replicates), CSV to stdout")
    sweep.add_argument("file", help="result file (HDF5) of a training sweep")
    sweep.add_argument("--predictor", default="lsa", help="the predictor whose risk is reported")
    args = parser.parse_args(argv)
    if args.command == "sweep":
        return _sweep(args.file, args.predictor)
    from .report import write_report
    try:
        path = write_report(args.file, args.output)
    except SchemaError as error:
        print(f"icl_analysis: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"icl_analysis: {error}", file=sys.stderr)
        return 3
    print(path)
    return 0


def _sweep(path, predictor):
    import csv
    from .sweep import winners
    try:
        rows = winners(path, predictor)
    except (SchemaError, ValueError, KeyError) as error:
        print(f"icl_analysis: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"icl_analysis: {error}", file=sys.stderr)
        return 3
    fields = ("d", "N", "M", "shift", "covariance", "task", "model", "training", "predictor",
              "replicates", "mean", "spread", "low", "high")
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # Four significant digits: the spread over replicates makes more meaningless.
        writer.writerow({key: f"{value:.4g}" if isinstance(value, float) else value
                         for key, value in row.items()})
    return 0


def report_main():
    """The console script icl-report FILE.h5 -o DIR (pyproject.toml, cmake --install)."""
    return main(["report", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
