"""The benchmarks' warm-up rule (bench/settle.ts) for the Python peers (bench/torch_peer.py):
warm-up runs until the times settle, the median of the last WINDOW runs within TOLERANCE of the
median of the WINDOW before, after at least min_rounds runs and min_s seconds, at most max_rounds
runs and budget_s seconds; then the timed runs' median and quartiles. No torch here, so the rule
can be tested where torch is not installed (test/bench/settle.test.ts runs it beside the
TypeScript one)."""
import statistics
import time

WINDOW = 3
TOLERANCE = 0.05


def has_settled(times, window=WINDOW, tolerance=TOLERANCE):
    if len(times) < 2 * window:
        return False
    last = statistics.median(times[-window:])
    before = statistics.median(times[-2 * window:-window])
    return abs(last - before) <= tolerance * before


def warm_up(run, min_rounds=1, min_s=1.0, max_rounds=1000, budget_s=10.0, clock=time.perf_counter):
    """Calls run() (it returns its time in ms) until its times settle. Returns (rounds, settled):
    settled is False where the round cap or the budget stopped it."""
    t0 = clock()
    times = []
    while True:
        if len(times) >= min_rounds:
            elapsed = clock() - t0
            if elapsed >= min_s and has_settled(times):
                return len(times), True
            if len(times) >= max_rounds or elapsed >= budget_s:
                return len(times), False
        times.append(run())


def quantile(xs, q):
    """The quantile q of xs, interpolating linearly between the sorted values (as bench/settle.ts)."""
    s = sorted(xs)
    at = q * (len(s) - 1)
    lo = int(at)
    return s[lo] + (at - lo) * (s[lo + 1] - s[lo]) if lo + 1 < len(s) else s[lo]


def summary(samples, rounds, settled):
    """A row's timing fields, as the Node benchmarks write them."""
    return {'medianMs': round(statistics.median(samples), 3), 'p25Ms': round(quantile(samples, 0.25), 3),
            'p75Ms': round(quantile(samples, 0.75), 3), 'samplesMs': [round(t, 3) for t in samples],
            'warmupRounds': rounds, 'settled': settled}
