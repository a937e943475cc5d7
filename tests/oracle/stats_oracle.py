#!/usr/bin/python3
"""Independent values for tests/test_stats.c (Holm adjustment, bootstrap
median interval, smallest detectable difference), computed with numpy.
Run: /usr/bin/python3 tests/oracle/stats_oracle.py; the printed numbers are
pasted into the tests."""
import math
import numpy as np

M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def holm(p):
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * p[i]))
        adj[i] = running
    return adj


def bootstrap(d, b, seed):
    d = np.asarray(d, dtype=float)
    n = len(d)
    state = seed
    med = np.empty(b)
    for k in range(b):
        idx = []
        for _ in range(n):
            state, r = splitmix64(state)
            idx.append(r % n)
        med[k] = np.median(d[idx])
    return np.median(d), np.quantile(med, 0.025), np.quantile(med, 0.975)


def mdd(n, sd):
    if 2.0 / 2 ** n >= 0.05:
        return float("nan")
    za, zb = 1.959963984540054, 0.8416212335729143
    return (za + zb) * sd / math.sqrt(n * 3 / math.pi)


print("holm [0.01,0.04,0.03,0.005] ->", ["%.17g" % v for v in holm([0.01, 0.04, 0.03, 0.005])])
print("holm [0.2,0.5,0.9] ->", ["%.17g" % v for v in holm([0.2, 0.5, 0.9])])
print("holm [0.02,0.02,0.02] ->", ["%.17g" % v for v in holm([0.02, 0.02, 0.02])])
d5 = [0.012, -0.004, 0.020, 0.007, 0.015]
print("bootstrap d5 B=10000 seed=20240601 ->", ["%.17g" % v for v in bootstrap(d5, 10000, 20240601)])
d8 = [0.03, 0.01, -0.02, 0.05, 0.01, 0.00, 0.04, 0.02]
print("bootstrap d8 B=2000 seed=7 ->", ["%.17g" % v for v in bootstrap(d8, 2000, 7)])
print("mdd n=5 ->", mdd(5, 0.01))
print("mdd n=6 sd=0.01 -> %.17g" % mdd(6, 0.01))
print("mdd n=10 sd=0.025 -> %.17g" % mdd(10, 0.025))
print("sd d5 -> %.17g" % np.std(d5, ddof=1), "mdd(5) nan; mdd(6, sd d5) %.17g" % mdd(6, np.std(d5, ddof=1)))
print("bootstrap d8 B=7 seed=3 (interpolated quantiles) ->", ["%.17g" % v for v in bootstrap(d8, 7, 3)])
print("bootstrap [0.01,0.03] B=10000 seed=20240601 ->", ["%.17g" % v for v in bootstrap([0.01, 0.03], 10000, 20240601)])

# tests/test_report.c, report_numbers: fake experiment, 6 seeds
raw = np.array([0.50, 0.52, 0.48, 0.51, 0.49, 0.50])
mean = np.array([0.512, 0.516, 0.500, 0.517, 0.505, 0.510])
d = mean - raw
med, lo, hi = bootstrap(d, 10000, 20240601)
sd = np.std(d, ddof=1)
print("report mean-raw pp: median %.12g lo %.12g hi %.12g sd %.12g mdd %.12g"
      % (100 * med, 100 * lo, 100 * hi, 100 * sd, 100 * mdd(6, sd)))
