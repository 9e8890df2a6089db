"""Training steps per second of every model kind beside a PyTorch implementation of the same model
(README "Performance", issue 21.3).

    jobs/setup.sh --bench        # once: installs python3-torch
    /usr/bin/python3 tests/bench/torch_compare.py [build/bench/bench_training]

Both sides: d = 20, N = 40, Adam at rate 1e-4, batch 256, float64, one thread, fresh prompts drawn
every step (x ~ N(0, I), w ~ N(0, I), y = wᵀx), the same embedding, masking and sign as the C++
models (docs/mathematics.md). Three rounds, each running the C++ benchmark (model_steps in
tests/bench/bench_training.cpp) and then the PyTorch loops; the medians are compared. Also prints
the share of the core's measured floating-point peak that each side reaches, with the flops per
prompt counted from the model by the C++ benchmark."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import subprocess
import sys
import time

import numpy as np

D, N, BATCH, RATE, ROUNDS = 20, 40, 256, 1e-4, 3
# (kind, L, H) as in bench_training's model_steps: 0 ZFB's one layer (compressed prompts), 3 the
# same on whole prompts, 1 lsa-L, 2 softmax-L-H. PyTorch draws whole prompts for both one-layer
# rows (the same law of every step: docs/mathematics.md section 8).
MODELS = {(0, 1, 1): "lsa (one layer)", (3, 1, 1): "  whole prompts", (1, 2, 1): "lsa-2", (1, 4, 1): "lsa-4",
          (2, 1, 1): "softmax-1-1", (2, 2, 4): "softmax-2-4"}


def torch_steps_per_second(kind, depth, heads, seconds=1.5):
    import torch
    kind = 0 if kind == 3 else kind
    torch.set_num_threads(1)
    torch.manual_seed(0)
    dtype = torch.float64
    p, n = D + 1, N
    blocks = 1 if kind == 0 else depth * heads
    pv = (0.05 * torch.randn(blocks, p, p, dtype=dtype)).requires_grad_()
    kq = (0.05 * torch.randn(blocks, p, p, dtype=dtype)).requires_grad_()
    optimiser = torch.optim.Adam([pv, kq], lr=RATE)

    def batch():
        x = torch.randn(BATCH, D, n, dtype=dtype)
        w = torch.randn(BATCH, D, dtype=dtype)
        query = torch.randn(BATCH, D, dtype=dtype)
        z = torch.zeros(BATCH, p, n + 1, dtype=dtype)
        z[:, :D, :n] = x
        z[:, :D, n] = query
        z[:, D, :n] = torch.einsum("bd,bdn->bn", w, x)
        return z, (w * query).sum(1)

    def predict(z):
        if kind == 0:  # ZFB: ŷ = e_pᵀ W^PV (Z M Zᵀ / n) W^KQ z_q, only the query column
            keys = z[:, :, :n]
            gram = keys @ keys.transpose(1, 2) / n
            return (pv[0][-1] @ (gram @ (kq[0] @ z[:, :, n:]))).reshape(-1)
        for layer in range(depth):
            keys = z[:, :, :n]
            update = 0
            for head in range(heads):
                b = layer * heads + head
                if kind == 1:
                    update = update + pv[b] @ ((keys @ keys.transpose(1, 2) / n) @ (kq[b] @ z))
                else:
                    scores = keys.transpose(1, 2) @ (kq[b] @ z)
                    update = update + pv[b] @ (keys @ torch.softmax(scores, dim=1))
            z = z + update
        return -z[:, D, n]

    def step():
        z, label = batch()
        loss = 0.5 * ((predict(z) - label) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    for _ in range(2):
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += 1
    return done / (time.perf_counter() - start)


def cpp_rates(binary):
    out = subprocess.run([binary, "--benchmark_filter=model_steps", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    rates = {}
    for row in json.loads(out[out.index("{"):])["benchmarks"]:
        # model_steps/kind:1/L:2/H:1/real_time
        fields = dict(part.split(":") for part in row["name"].split("/")[1:4])
        key = (int(fields["kind"]), int(fields["L"]), int(fields["H"]))
        rates[key] = (row["steps_per_s"], row["flops_per_prompt"],
                      row["executed_flops_per_prompt"], row["peak_flops_per_s"])
    return rates


def main(binary):
    ours = {key: [] for key in MODELS}
    theirs = {key: [] for key in MODELS}
    flops, executed, peak = {}, {}, []
    for _ in range(ROUNDS):
        for key, (rate, per_prompt, executed_per_prompt, core_peak) in cpp_rates(binary).items():
            ours[key].append(rate)
            flops[key] = per_prompt
            executed[key] = executed_per_prompt
            peak.append(core_peak)
        for key in MODELS:
            theirs[key].append(torch_steps_per_second(*key))
    core_peak = float(np.median(peak))
    print(f"d = {D}, N = {N}, batch {BATCH}, Adam, float64, one thread; median of {ROUNDS} rounds; "
          f"core peak {core_peak / 1e9:.1f} Gflop/s (measured)")
    print("model flops: what the model's definition (and PyTorch) computes per prompt; executed: "
          "what icl-study's kernels compute (the last layer's shortcut, no input gradient at the "
          "first); each side's share of the peak from its own count")
    print(f"{'model':18s} {'icl-study steps/s':>18s} {'PyTorch steps/s':>16s} {'ratio':>7s} "
          f"{'model flops':>12s} {'executed':>9s} {'icl % peak':>10s} {'torch % peak':>12s}")
    for key, name in MODELS.items():
        a, b = float(np.median(ours[key])), float(np.median(theirs[key]))
        share = lambda rate, per_prompt: 100 * rate * BATCH * per_prompt / core_peak
        print(f"{name:18s} {a:18.1f} {b:16.1f} {a / b:6.1f}x {flops[key]:12.3g} "
              f"{executed[key]:9.3g} {share(a, executed[key]):9.1f}% "
              f"{share(b, flops[key]):11.1f}%")
    fit_cost_model(ours, executed)


def fit_cost_model(ours, executed):
    """The training cost model (training_cost in src/training/setting_training.cpp): seconds per
    prompt = a * d(N + 2) + b * multiply-adds, fitted to the stacks' measured rates by least
    squares on relative error."""
    stacks = [key for key in MODELS if key[0] in (1, 2)]
    seconds = np.array([1 / (np.median(ours[key]) * BATCH) for key in stacks])
    design = np.array([[D * (N + 2), executed[key] / 2] for key in stacks])
    weight = 1 / seconds
    (a, b), *_ = np.linalg.lstsq(design * weight[:, None], seconds * weight, rcond=None)
    ratios = design @ np.array([a, b]) / seconds
    print(f"cost model fit: {a * 1e9:.2f} ns per normal, {b * 1e12:.1f} ps per multiply-add "
          f"(src: 7.3 ns, 53 ps); fitted/measured {', '.join(f'{r:.2f}' for r in ratios)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench/bench_training")
