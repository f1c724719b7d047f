namespace OnDemandExecution;

/// <summary>
/// What <see cref="AdaptiveCapacityPolicy"/> does with one instance level of one function when that instance goes idle:
/// keep it for <see cref="KeepAlive"/>; then, when <see cref="HasWindow"/>, load one again from <see cref="PreloadAt"/>
/// until <see cref="PreloadUntil"/> (all measured from the moment it went idle).
/// </summary>
/// <param name="KeepAlive">How long the instance stays loaded after its call ends.</param>
/// <param name="PreloadAt">When an instance is loaded again (zero: no pre-load).</param>
/// <param name="PreloadUntil">Until when the pre-loaded instance waits.</param>
/// <param name="ExpectedCost">The plan's expected cost per idle gap, in GB-seconds (cold starts priced by the knob).</param>
/// <param name="Samples">The (decayed) number of idle gaps the plan was fitted to.</param>
public readonly record struct CapacityPlan(TimeSpan KeepAlive, TimeSpan PreloadAt, TimeSpan PreloadUntil, double ExpectedCost, double Samples)
{
    /// <summary>True when the plan unloads the instance and loads one again before the next expected arrival.</summary>
    public bool HasWindow => PreloadUntil > PreloadAt && PreloadAt > TimeSpan.Zero;
}

/// <summary>
/// A decaying histogram of idle gaps on log-spaced bins (0 to 1 s, then x1.2 per bin up to about 5 h, then one
/// overflow bin), and the cost-optimal plan for it. Not thread-safe (the policy locks per function).
/// </summary>
/// <remarks>
/// <para>The plan minimizes the expected cost of one idle gap g (counted in GB-seconds, m = the instance's memory in GB,
/// C = the price of a cold start, P = the price of a pre-load) over a keep-alive T and an optional pre-load window
/// [S, E) with T &lt; S:</para>
/// <list type="bullet">
/// <item><description>g &lt; T: warm, m g;</description></item>
/// <item><description>T &lt;= g &lt; S: cold, C + m T;</description></item>
/// <item><description>S &lt;= g &lt; E: warm from the pre-load, m T + m (g - S) + P;</description></item>
/// <item><description>g &gt;= E: cold, C + m T + m (E - S) + P.</description></item>
/// </list>
/// <para>With prefix sums of counts and of count x gap per bin the cost splits into U(T) + W(S, E), so the search over
/// every bin edge is O(B^2) for B bins (a few thousand additions for B = 56), run only after the histogram has
/// changed by an eighth of its mass. Memory: 2 B doubles.</para>
/// </remarks>
internal sealed class IdleGapHistogram
{
    /// <summary>The number of bins: [0, 1 s), 54 bins of ratio 1.2 up to about 5.3 h, and the overflow.</summary>
    public const int BinCount = 56;

    private const double Ratio = 1.2;
    private static readonly double LogRatio = Math.Log(Ratio);
    private static readonly double[] Edges = BuildEdges();
    private static readonly double[] Representative = BuildRepresentatives();

    private readonly double[] _counts = new double[BinCount];
    private readonly double[] _cumulative = new double[BinCount + 1];
    private readonly double[] _weighted = new double[BinCount + 1];
    private readonly double[] _bestU = new double[BinCount];
    private readonly int[] _bestUBin = new int[BinCount];
    private double _total;
    private double _sinceFit = double.PositiveInfinity;
    private CapacityPlan _plan;
    private double _planMemory = -1;
    private bool _planWindows;

    /// <summary>The (decayed) number of gaps recorded.</summary>
    public double Total => _total;

    /// <summary>The lower edge of bin <paramref name="bin"/>, in seconds (bin <see cref="BinCount"/> is infinite).</summary>
    public static double Edge(int bin) => bin >= BinCount ? double.PositiveInfinity : Edges[bin];

    /// <summary>The bin a gap falls in.</summary>
    public static int BinOf(double seconds)
    {
        if (!(seconds >= 1))
        {
            return 0;
        }

        var bin = 1 + (int)(Math.Log(seconds) / LogRatio);
        return bin >= BinCount ? BinCount - 1 : bin;
    }

    /// <summary>Records one idle gap; halves every count once the total reaches twice <paramref name="halfLife"/>.</summary>
    public void Add(double seconds, int halfLife)
    {
        _counts[BinOf(seconds)] += 1;
        _total += 1;
        _sinceFit += 1;
        if (_total >= 2 * halfLife)
        {
            for (var i = 0; i < BinCount; i++)
            {
                _counts[i] *= 0.5;
            }

            _total *= 0.5;
        }
    }

    /// <summary>The cost-optimal plan, refitted when an eighth of the mass is new or the prices changed.</summary>
    /// <param name="memoryGb">The instance's memory, in GB.</param>
    /// <param name="coldCost">The price of a cold start, in GB-seconds.</param>
    /// <param name="preloadCost">The price of a pre-load, in GB-seconds.</param>
    /// <param name="maxKeepAlive">The longest keep-alive or pre-load window end, in seconds.</param>
    /// <param name="minimumGap">The shortest unloaded time between the keep-alive and the pre-load, in seconds.</param>
    /// <param name="windows">Whether plans with a pre-load window are considered (else keep-alives only).</param>
    /// <returns>The plan.</returns>
    public CapacityPlan Plan(double memoryGb, double coldCost, double preloadCost, double maxKeepAlive, double minimumGap, bool windows)
    {
        if (_sinceFit < Math.Max(1, _total / 8) && memoryGb == _planMemory && windows == _planWindows)
        {
            return _plan;
        }

        _sinceFit = 0;
        _planMemory = memoryGb;
        _planWindows = windows;
        _plan = Fit(memoryGb, coldCost, preloadCost, windows ? maxKeepAlive : 0, maxKeepAlive, minimumGap);
        return _plan;
    }

    private CapacityPlan Fit(double m, double c, double p, double maxWindowEnd, double maxKeepAlive, double minimumGap)
    {
        // Prefix sums: N(k) = gaps below edge k, G(k) = their summed length.
        for (var i = 0; i < BinCount; i++)
        {
            _cumulative[i + 1] = _cumulative[i] + _counts[i];
            _weighted[i + 1] = _weighted[i] + (i == BinCount - 1 ? 0 : _counts[i] * Representative[i]);
        }

        var n = _cumulative[BinCount];
        if (n <= 0)
        {
            return default;
        }

        // Keep-alive only: T = edge k, warm below it. The overflow bin (beyond about 5 h) is never kept for.
        var last = BinCount - 1;
        while (last > 0 && Edges[last] > maxKeepAlive)
        {
            last--;
        }

        var bestCost = double.PositiveInfinity;
        int bestKeep = 0, bestStart = -1, bestEnd = -1;
        var runningCost = double.PositiveInfinity;
        var runningBin = 0;
        for (var k = 0; k <= last; k++)
        {
            var t = Edges[k];
            var keepOnly = (m * _weighted[k]) + ((n - _cumulative[k]) * (c + (m * t)));
            if (keepOnly < bestCost)
            {
                bestCost = keepOnly;
                bestKeep = k;
            }

            // U(T) for windows: every gap from T on pays m T; the ones below T are warm.
            var u = (m * _weighted[k]) + ((n - _cumulative[k]) * m * t) - (c * _cumulative[k]);
            if (u < runningCost)
            {
                runningCost = u;
                runningBin = k;
            }

            _bestU[k] = runningCost;
            _bestUBin[k] = runningBin;
        }

        // Windows: W(S, E) = C N(S) + C (n - N(E)) + m (G(E) - G(S)) - m S (N(E) - N(S)) + P (n - N(S)) + m (n - N(E)) (E - S).
        for (var s = 1; s <= last && Edges[s] < maxWindowEnd; s++)
        {
            var start = Edges[s];

            // The keep-alive ends at least minimumGap before the pre-load (else keeping is the plan).
            var keepBin = s - 1;
            while (keepBin >= 0 && Edges[keepBin] > start - minimumGap)
            {
                keepBin--;
            }

            if (keepBin < 0)
            {
                continue;
            }

            var u = _bestU[keepBin];
            var keep = _bestUBin[keepBin];
            var ns = _cumulative[s];
            var gs = _weighted[s];
            for (var e = s + 1; e <= last + 1 && e < BinCount; e++)
            {
                var end = Edges[e];
                if (end > maxKeepAlive)
                {
                    break;
                }

                var ne = _cumulative[e];
                var w = (c * ns) + (c * (n - ne)) + (m * (_weighted[e] - gs)) - (m * start * (ne - ns)) + (p * (n - ns)) + (m * (n - ne) * (end - start));
                if (u + w < bestCost)
                {
                    bestCost = u + w;
                    bestKeep = keep;
                    bestStart = s;
                    bestEnd = e;
                }
            }
        }

        var keepAlive = TimeSpan.FromSeconds(Edges[bestKeep]);
        return bestStart < 0
            ? new CapacityPlan(keepAlive, TimeSpan.Zero, TimeSpan.Zero, bestCost / n, n)
            : new CapacityPlan(keepAlive, TimeSpan.FromSeconds(Edges[bestStart]), TimeSpan.FromSeconds(Edges[bestEnd]), bestCost / n, n);
    }

    private static double[] BuildEdges()
    {
        var edges = new double[BinCount];
        edges[0] = 0;
        for (var i = 1; i < BinCount; i++)
        {
            edges[i] = Math.Pow(Ratio, i - 1);
        }

        return edges;
    }

    private static double[] BuildRepresentatives()
    {
        var values = new double[BinCount];
        for (var i = 0; i < BinCount - 1; i++)
        {
            values[i] = (Edges[i] + Edges[i + 1]) / 2;
        }

        values[BinCount - 1] = Edges[BinCount - 1];
        return values;
    }
}
