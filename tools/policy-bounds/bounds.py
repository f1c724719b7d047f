#!/usr/bin/env python3
"""Bounds for keep-alive policies on a day of the Azure Functions 2019 trace: a model, not the project's simulator.

Draws the day's calls as the simulator does (each minute's calls spread uniformly in the minute, durations from the
function's percentiles, memory = the app's average), then, per function:
  * fixed keep-alive 10 min, per instance, most recently used first (checks the model against the simulator);
  * the minute oracle: each minute's peak concurrency loaded for the whole minute, known in advance (what a policy
    that knew the next minute's peak, but not where in the minute its calls fall, would hold);
  * "hold the last k minutes' peak": what any policy that only looks at recent concurrency can do;
  * the same plus recurring-burst echoes (the peak at the same minute, +-1, of each of the last 2 hours / half-hours).
Minute-level rows count a cold start per level of a minute's peak above what was held, and idle as held x 60 s minus
busy time. Python 3, standard library only; one run takes about 2 minutes.

    python3 tools/policy-bounds/bounds.py ../shared/traces/azure2019-day-500fn
"""
import csv, heapq, os, random, sys

P = [0, 1, 25, 50, 75, 99, 100]
M = 1440


def read(directory):
    mem = {}
    for r in csv.DictReader(open(os.path.join(directory, 'app_memory_percentiles.anon.d01.csv'))):
        mem[(r['HashOwner'], r['HashApp'])] = max(1, round(float(r['AverageAllocatedMb'])))
    dur = {}
    for r in csv.DictReader(open(os.path.join(directory, 'function_durations_percentiles.anon.d01.csv'))):
        dur[(r['HashOwner'], r['HashApp'], r['HashFunction'])] = [float(r['percentile_Average_%d' % p]) for p in P]

    def sample(vals, u):
        u *= 100
        for i in range(1, len(P)):
            if u <= P[i]:
                span = P[i] - P[i - 1]
                f = 0 if span <= 0 else (u - P[i - 1]) / span
                return vals[i - 1] + f * (vals[i] - vals[i - 1])
        return vals[-1]

    rng = random.Random(1)
    funcs = []
    rows = csv.reader(open(os.path.join(directory, 'invocations_per_function_md.anon.d01.csv')))
    next(rows)
    for r in rows:
        gb = mem.get((r[0], r[1]), 256) / 1024.0
        dv = dur.get((r[0], r[1], r[2]), [1000] * 7)
        ev = []
        for i, c in enumerate(int(x) for x in r[4:4 + M]):
            for _ in range(c):
                s = i * 60 + rng.random() * 60
                ev.append((s, s + sample(dv, rng.random()) / 1000.0))
        if ev:
            ev.sort()
            funcs.append((gb, ev, peaks(ev)))
    return funcs


def peaks(ev):
    """Peak concurrency and busy seconds per minute."""
    pts = sorted([(s, 1) for s, _ in ev] + [(min(e, M * 60 - 1e-6), -1) for _, e in ev], key=lambda x: (x[0], x[1]))
    peak, busy, cur, last = [0] * M, [0.0] * M, 0, 0.0
    for t, d in pts:
        a = last
        while a < t:
            mi = int(a // 60)
            b = min(t, (mi + 1) * 60)
            busy[mi] += cur * (b - a)
            peak[mi] = max(peak[mi], cur)
            a = b
        last, cur = t, cur + d
        mi = int(t // 60)
        if mi < M and cur > peak[mi]:
            peak[mi] = cur
    return peak, busy


def fixed(funcs, keep):
    idle_gbs, cold, calls, rates = 0.0, 0, 0, []
    for gb, ev, _ in funcs:
        idle, busy, f, c = [], [], 0.0, 0
        for s, e in ev:
            while busy and busy[0] <= s:
                idle.append(heapq.heappop(busy))
            idle.sort()
            kept = []
            for fs in idle:
                if s - fs > keep:
                    f += keep
                else:
                    kept.append(fs)
            idle = kept
            if idle:
                f += s - idle.pop()
            else:
                c += 1
            heapq.heappush(busy, e)
        for fs in idle + busy:
            f += min(keep, max(0, M * 60 - fs))
        idle_gbs += f * gb
        cold, calls = cold + c, calls + len(ev)
        rates.append(c / len(ev))
    return summary(cold, calls, rates, idle_gbs)


def minute_rows(funcs, target):
    idle_gbs, cold, calls, rates = 0.0, 0, 0, []
    for gb, ev, (peak, busy) in funcs:
        c, f = 0, 0.0
        for mi in range(M):
            held = target(peak, mi)
            c += max(0, peak[mi] - held)
            f += max(held, peak[mi]) * 60 - busy[mi]
        idle_gbs += f * gb
        cold, calls = cold + c, calls + len(ev)
        rates.append(min(1.0, c / len(ev)))
    return summary(cold, calls, rates, idle_gbs)


def recent(k):
    return lambda peak, mi: max(peak[max(0, mi - k):mi], default=0)


def echo(k, periods, confirmations=2, tolerance=1):
    def target(peak, mi):
        held = max(peak[max(0, mi - k):mi], default=0)
        for p in periods:
            seen = []
            for r in range(1, confirmations + 1):
                j = mi - p * r
                if j - tolerance < 0:
                    seen = None
                    break
                seen.append(max(peak[j - tolerance:j + tolerance + 1]))
            if seen:
                held = max(held, min(seen))
        return held
    return target


def summary(cold, calls, rates, idle_gbs):
    rates.sort()
    q = lambda p: rates[min(len(rates) - 1, int(p * len(rates)))] * 100
    return cold / calls * 100, q(0.5), q(0.75), idle_gbs


def main():
    funcs = read(sys.argv[1] if len(sys.argv) > 1 else '../shared/traces/azure2019-day-500fn')
    base = fixed(funcs, 600)
    rows = [('fixed 10 min, per instance (checks the model)', base)]
    rows.append(('minute oracle: each minute\'s peak, known ahead', minute_rows(funcs, lambda peak, mi: peak[mi])))
    for k in (1, 2, 5, 10, 20):
        rows.append((f'hold the last {k} min\'s peak', minute_rows(funcs, recent(k))))
    for k, periods in ((1, (60, 30)), (2, (60, 30)), (3, (60, 30))):
        rows.append((f'last {k} min\'s peak + echoes of {periods} min', minute_rows(funcs, echo(k, periods))))
    print('| model | cold % | per-function p50 | p75 | idle GB-s | vs fixed 10 |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for name, (cold, p50, p75, idle) in rows:
        print(f'| {name} | {cold:.2f} | {p50:.1f} | {p75:.1f} | {idle / 1e6:.1f} M | {idle / base[3]:.2f}x |', flush=True)


if __name__ == '__main__':
    main()
