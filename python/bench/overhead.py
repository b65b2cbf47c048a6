"""Per-call overhead of the Python layer over the C call (issue 13).

    python3 python/bench/overhead.py BUILD/python/bench_overhead_c [ITERS] [REPS]

At one rank: microseconds per 1-element dtensor.zeros(1), t.clone() and
a + b (the result dropped each time), median of REPS runs of ITERS calls,
beside the same calls in C (dt_zeros / dt_clone / dt_add + destroy, the
program given). Prints one line per call and the difference (the target is
at most 1.5 us). A benchmark, not a test: timings on a loaded machine are
noise; rerun and compare medians.
"""
import statistics
import subprocess
import sys
import time

import dtensor as dt


def per_call(fn, iters, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        out.append((time.perf_counter() - t0) / iters * 1e6)
    return statistics.median(out)


def main(argv):
    cbin = argv[0]
    iters = int(argv[1]) if len(argv) > 1 else 20000
    reps = int(argv[2]) if len(argv) > 2 else 7
    a = dt.zeros(1)
    b = dt.ones(1)
    py = {"zeros": per_call(lambda: dt.zeros(1), iters, reps),
          "clone": per_call(a.clone, iters, reps),
          "add": per_call(lambda: a + b, iters, reps)}
    res = subprocess.run([cbin, str(iters), str(reps)], check=True,
                         capture_output=True, text=True).stdout.split()
    c = {res[i]: float(res[i + 1]) for i in range(0, len(res), 2)}
    print("%-6s %10s %10s %10s" % ("call", "python us", "C us", "overhead"))
    for k in ("zeros", "clone", "add"):
        print("%-6s %10.3f %10.3f %10.3f" % (k, py[k], c[k], py[k] - c[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
