using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Simulation;

sealed class SimTime : TimeProvider
{
    public long Now;
    public readonly PriorityQueue<(SimTimer T, long V), long> Queue = new();
    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(Now);
    public override long GetTimestamp() => Now;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new SimTimer(this, callback, state);
        t.Change(dueTime, period);
        return t;
    }
}

sealed class SimTimer(SimTime time, TimerCallback cb, object? state) : ITimer
{
    public long Version;
    public long Period;
    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        Version++;
        Period = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
        if (dueTime != Timeout.InfiniteTimeSpan) time.Queue.Enqueue((this, Version), time.Now + dueTime.Ticks);
        return true;
    }
    public void Fire(long at)
    {
        if (Period > 0) { Version++; time.Queue.Enqueue((this, Version), at + Period); }
        cb(state);
    }
    public void Dispose() => Version++;
    public ValueTask DisposeAsync() { Version++; return default; }
}

sealed class Idle { public string Fn = ""; public long Released; public long Expiry; public double Gb; public bool Preloaded; }

sealed class FakePools(SimTime time) : IInstancePoolManager
{
    public readonly Dictionary<(TenantId, string), List<Idle>> IdleByKey = new();
    public double IdleGbs; public Dictionary<string,double> PerFn = new(); public void Acc(Idle i, long until) { var g = (until - i.Released) / 1e7 * i.Gb; IdleGbs += g; PerFn[i.Fn] = PerFn.GetValueOrDefault(i.Fn) + g; } public long Created; public long Preloads;
    public IInstanceProvider Provider => throw new NotSupportedException();
    public int WarmingPoolTarget { get; set; }
    public PoolSnapshot GetSnapshot() => throw new NotSupportedException();
    public IReadOnlyList<ActivePoolCounts> GetActivePools() => throw new NotSupportedException();
    public ValueTask PrewarmAsync(CancellationToken c = default) => default;
    public ValueTask RunMaintenanceAsync(CancellationToken c = default) => default;
    public List<Idle> List((TenantId, string) key)
    {
        if (!IdleByKey.TryGetValue(key, out var l)) IdleByKey[key] = l = new();
        // drop expired
        for (var i = l.Count - 1; i >= 0; i--)
            if (l[i].Expiry <= time.Now) { Acc(l[i], l[i].Expiry); l.RemoveAt(i); }
        return l;
    }
    public ValueTask<int> PreloadAsync(FunctionDefinition d, TenantId t, int count, TimeSpan keepAlive, CancellationToken c = default)
    {
        var l = List((t, d.Name));
        var n = 0;
        if (Environment.GetEnvironmentVariable("ONLY") is not null && time.Now > TimeSpan.FromHours(16).Ticks && time.Now < TimeSpan.FromHours(16.02).Ticks) Console.WriteLine($"{time.Now / 1e7:0.0} PRELOAD {count} keep {keepAlive.TotalSeconds:0} have {l.Count}");
        while (l.Count < count)
        {
            Created++; Preloads++; n++;
            l.Insert(0, new Idle { Fn = d.Name, Released = time.Now, Expiry = keepAlive == Timeout.InfiniteTimeSpan ? long.MaxValue / 2 : time.Now + keepAlive.Ticks, Gb = Math.Max(d.MemoryMb ?? 0, 256) / 1024.0, Preloaded = true });
        }
        return ValueTask.FromResult(n);
    }
    public void Finish(long end)
    {
        foreach (var l in IdleByKey.Values) foreach (var i in l) Acc(i, Math.Min(i.Expiry, end));
    }
}

static class Fast
{
    public static int[] ColdHours = new int[25];
    static bool Dbg(SimTime t) => Environment.GetEnvironmentVariable("ONLY") is not null && t.Now > TimeSpan.FromHours(16).Ticks && t.Now < TimeSpan.FromHours(16.02).Ticks;
    public static void Run(Trace trace, string name, Func<SimTime, FakePools, IKeepAlivePolicy> make)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var time = new SimTime();
        var pools = new FakePools(time);
        var policy = make(time, pools);
        var defs = new Dictionary<string, FunctionDefinition>();
        foreach (var f in trace.Functions.Values)
            defs[f.Function] = new FunctionDefinition(f.Function, new DelegateFunctionCode((_, _) => default)) { MemoryMb = f.MemoryMb is { } mb && mb > 256 ? mb : null };
        var completions = new PriorityQueue<(string F, string T), long>();
        var cold = new Dictionary<string, (long Cold, long Total)>();
        long coldAll = 0;
        var inv = trace.Invocations;
        var next = 0;
        while (true)
        {
            long tArr = next < inv.Count ? inv[next].Time.Ticks : long.MaxValue;
            long tComp = completions.TryPeek(out _, out var pc) ? pc : long.MaxValue;
            long tTim = time.Queue.TryPeek(out _, out var pt) ? pt : long.MaxValue;
            var m = Math.Min(tArr, Math.Min(tComp, tTim));
            if (m == long.MaxValue || (tArr == long.MaxValue && tComp == long.MaxValue && m > trace.Duration.Ticks)) break;
            time.Now = Math.Max(time.Now, m);
            if (tComp == m)
            {
                var (f, t) = completions.Dequeue();
                var keep = policy.OnCompleted(defs[f], new TenantId(t));
                if (Dbg(time)) Console.WriteLine($"{time.Now / 1e7:0.0} done keep {keep.TotalSeconds:0}");
                if (keep != TimeSpan.Zero)
                {
                    var l = pools.List((new TenantId(t), f));
                    l.Add(new Idle { Fn = f, Released = time.Now, Expiry = keep == Timeout.InfiniteTimeSpan ? long.MaxValue / 2 : time.Now + keep.Ticks, Gb = Math.Max(defs[f].MemoryMb ?? 0, 256) / 1024.0 });
                }
            }
            else if (tTim == m)
            {
                var (timer, v) = time.Queue.Dequeue();
                if (timer.Version == v) timer.Fire(m);
            }
            else
            {
                var i = inv[next++];
                var tenant = new TenantId(i.Tenant);
                var d = defs[i.Function];
                policy.OnInvocation(d, tenant);
                var l = pools.List((tenant, i.Function));
                bool isCold;
                if (l.Count > 0)
                {
                    var idle = l[^1]; l.RemoveAt(l.Count - 1);
                    pools.Acc(idle, time.Now);
                    isCold = false;
                }
                else { isCold = true; pools.Created++; }
                cold.TryGetValue(i.Function, out var c);
                cold[i.Function] = (c.Cold + (isCold ? 1 : 0), c.Total + 1);
                if (isCold) { coldAll++; if (Environment.GetEnvironmentVariable("ONLY") is not null) ColdHours[(int)(time.Now / TimeSpan.TicksPerHour)]++; }
                if (Dbg(time)) Console.WriteLine($"{time.Now / 1e7:0.0} arrive {(isCold ? "COLD" : "warm")} idleLeft {l.Count}");
                completions.Enqueue((i.Function, i.Tenant), time.Now + i.Duration.Ticks + (isCold ? TimeSpan.FromMilliseconds(550).Ticks : 0));
            }
        }
        pools.Finish(Math.Max(time.Now, trace.Duration.Ticks));
        var pf = cold.Values.Select(c => 100.0 * c.Cold / c.Total).Order().ToList();
        double P(double p) => pf[Math.Clamp((int)Math.Ceiling(p * pf.Count) - 1, 0, pf.Count - 1)];
        Console.WriteLine($"{name,-22} cold% {100.0 * coldAll / inv.Count:0.000} p50 {P(0.5):0.0} p75 {P(0.75):0.0} p99 {P(0.99):0.0} idleGBs {pools.IdleGbs:N0} created {pools.Created:N0} preloads {pools.Preloads:N0} wall {sw.Elapsed.TotalSeconds:0.0}s");
        if (Environment.GetEnvironmentVariable("DUMP") is { } dump)
            File.WriteAllLines(dump + "." + name, cold.Select(kv => $"{kv.Key} {kv.Value.Cold} {kv.Value.Total} {pools.PerFn.GetValueOrDefault(kv.Key):0}"));
        if (policy is AdaptiveCapacityPolicy ap && Environment.GetEnvironmentVariable("ONLY") is { } only)
        {
            var fn = trace.Functions.Keys.First(); var tn = new TenantId(trace.Invocations[0].Tenant);
            Console.WriteLine($"periodic {ap.IsPeriodic(fn, tn)} cold by hour {string.Join(",", ColdHours)}");
            for (var lv = 1; lv <= 20; lv++) Console.WriteLine($"L{lv}: {ap.GetPlan(fn, tn, lv)}");
        }
        (policy as IDisposable)?.Dispose();
    }
}
