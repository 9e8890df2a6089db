"""Command line: python3 -m icl_analysis report FILE.h5 -o DIR"""
import argparse
import sys

from .load import SchemaError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="icl_analysis")
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="write report.md/.html, rates.csv, agreement.csv, figures")
    report.add_argument("file", help="result file (HDF5) written by icl-study")
    report.add_argument("-o", "--output", required=True, help="output folder")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
