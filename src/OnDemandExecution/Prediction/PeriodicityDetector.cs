namespace OnDemandExecution;

/// <summary>
/// Estimates, from a stream of arrival times, whether the arrivals follow a clock: the period, where the beats fall,
/// and a degree of periodicity in [0, 1]. Streaming with bounded memory: it keeps the last
/// <see cref="WindowSize"/> arrivals and a few numbers.
/// </summary>
/// <remarks>
/// <para><b>Method.</b> On every observation the window is refitted:</para>
/// <list type="number">
/// <item><description><b>Bursts.</b> The inter-arrival gaps are sorted and split at the largest ratio between
/// consecutive gaps when that ratio is at least 4 and at least two gaps lie above it: gaps below the split are inside a
/// burst, so a burst of several requests per period counts as one <i>beat</i> (its first arrival). A split whose bursts
/// spread over more than a quarter of the beat gaps is rejected (every arrival is then a beat).</description></item>
/// <item><description><b>Period.</b> A first guess is the 30th percentile of the gaps between beats (robust to missed
/// beats, which make gaps of 2, 3... periods, and to jitter). Each beat gap is rounded to a whole number k of guesses;
/// the gaps within a quarter period of a whole number give the ratio estimate sum(gap) / sum(k). Every beat then gets a
/// global index round((t - t0) / P), and a least-squares line t = anchor + P * index, fitted twice over the beats that
/// lie within a quarter period of it, gives the period, the anchor and the jitter (the residuals' standard
/// deviation). Missed beats only leave holes in the indices; an extra beat between two others is an outlier the fit
/// drops.</description></item>
/// <item><description><b>Degree.</b> The vector strength of all arrivals in the window at the fitted period,
/// |mean(exp(2 pi i (t - anchor) / P))|, times the share of beat gaps that are whole multiples of P (within a quarter
/// period). The first is 1 for a perfect clock, exp(-2 pi^2 s^2 / P^2) for Gaussian jitter s, barely lowered by missed
/// beats or tight bursts, and about 1/sqrt(n) for Poisson arrivals; the second guards against a period fitted to a
/// chance alignment of few random arrivals.</description></item>
/// <item><description><b>Period changes.</b> Once the degree is at least 0.5, the gap of each new beat from the last is
/// checked against the period; three beats in a row whose gap is not a whole number of periods drop the window to the
/// arrivals since the change, so the new period is re-detected four beats after the change. A period that becomes a
/// whole multiple of the old one looks like missed beats; it is re-detected when such gaps make up most of the
/// window.</description></item>
/// </list>
/// <para><b>Cost.</b> Memory: W longs for the arrivals and three scratch arrays of W doubles (about 32 W bytes; W = 64
/// by default, 2 KiB). Time per observation: O(W log W) for the refit (a sort of W gaps, two linear passes and W
/// sines and cosines), a few microseconds for W = 64, independent of how many arrivals were seen.</para>
/// <para>Not thread-safe: callers serialize <see cref="Observe"/> (the keep-alive policies lock per function).</para>
/// </remarks>
public sealed class PeriodicityDetector
{
    /// <summary>The default number of arrivals kept.</summary>
    public const int DefaultWindowSize = 64;

    private const int MinimumArrivals = 4;
    private const int MinimumBeats = 4;
    private const double BurstRatio = 4.0;
    private const double Tolerance = 0.25;
    private const int ChangeConfirmations = 3;
    private const double ChangeDetectionDegree = 0.5;

    private readonly long[] _ring;
    private readonly double[] _times;
    private readonly double[] _gaps;
    private readonly double[] _scratch;
    private int _start;
    private int _count;
    private long _burstThresholdTicks;
    private int _deviants;
    private long _cutTicks;
    private long _lastBeatTicks;

    /// <summary>Creates a detector.</summary>
    /// <param name="windowSize">How many recent arrivals to keep, 8 to 4096.</param>
    public PeriodicityDetector(int windowSize = DefaultWindowSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSize, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(windowSize, 4096);
        _ring = new long[windowSize];
        _times = new double[windowSize];
        _gaps = new double[windowSize];
        _scratch = new double[windowSize];
    }

    /// <summary>How many recent arrivals the detector keeps.</summary>
    public int WindowSize => _ring.Length;

    /// <summary>How many arrivals the window holds now.</summary>
    public int Count => _count;

    /// <summary>The current estimate (no period until enough beats were seen).</summary>
    public PeriodicityEstimate Estimate { get; private set; }

    /// <summary>Forgets every arrival.</summary>
    public void Reset()
    {
        _start = 0;
        _count = 0;
        _deviants = 0;
        _burstThresholdTicks = 0;
        Estimate = default;
    }

    /// <summary>Records one arrival and refits the estimate.</summary>
    /// <param name="arrival">The arrival time on any fixed clock (for example the time since the process started). An
    /// arrival earlier than the previous one is taken as simultaneous with it.</param>
    public void Observe(TimeSpan arrival)
    {
        var ticks = arrival.Ticks;
        if (_count > 0)
        {
            var last = At(_count - 1);
            if (ticks < last)
            {
                ticks = last;
            }

            DetectChange(ticks, last);
        }

        if (_count == _ring.Length)
        {
            _start = (_start + 1) % _ring.Length;
            _count--;
        }

        _ring[(_start + _count) % _ring.Length] = ticks;
        _count++;

        if (_deviants >= ChangeConfirmations)
        {
            // The clock changed: keep the arrivals since the last beat that still fitted the old one.
            while (_count > 0 && At(0) < _cutTicks)
            {
                _start = (_start + 1) % _ring.Length;
                _count--;
            }

            _deviants = 0;
        }

        Refit();
    }

    private long At(int i) => _ring[(_start + i) % _ring.Length];

    private void DetectChange(long ticks, long last)
    {
        var e = Estimate;
        if (!e.HasPeriod || e.Degree < ChangeDetectionDegree || ticks - last <= _burstThresholdTicks)
        {
            return; // no clock to compare with, or this arrival belongs to the current burst
        }

        // A new beat: its gap from the previous beat should be a whole number of periods.
        var q = (double)(ticks - _lastBeatTicks) / e.Period.Ticks;
        var k = Math.Round(q);
        if (k < 1 || Math.Abs(q - k) > Tolerance)
        {
            if (_deviants == 0)
            {
                _cutTicks = _lastBeatTicks;
            }

            _deviants++;
        }
        else
        {
            _deviants = 0;
        }
    }

    private void Refit()
    {
        var n = _count;
        if (n < MinimumArrivals)
        {
            Estimate = default;
            return;
        }

        var origin = At(0);
        var x = _times;
        for (var i = 0; i < n; i++)
        {
            x[i] = (At(i) - origin) / (double)TimeSpan.TicksPerSecond;
        }

        // 1. Bursts: split the sorted gaps at the largest ratio (at least BurstRatio, with two or more gaps above).
        var gapCount = n - 1;
        for (var i = 0; i < gapCount; i++)
        {
            _scratch[i] = x[i + 1] - x[i];
        }

        Array.Sort(_scratch, 0, gapCount);
        var threshold = 0.0;
        var bestRatio = BurstRatio;
        for (var k = 0; k + 1 < gapCount && gapCount - (k + 1) >= 2; k++)
        {
            var lo = Math.Max(_scratch[k], 1e-3);
            var hi = _scratch[k + 1];
            if (hi / lo >= bestRatio)
            {
                bestRatio = hi / lo;
                threshold = Math.Sqrt(lo * hi);
            }
        }

        // Beats: the first arrival of each burst, compacted into _gaps (reused as beat times). A burst must be tight
        // (its spread at most a quarter of the beat gaps); a loose "burst" is not one, and every arrival is a beat.
        var beats = _gaps;
        int m;
        double spread, guess;
        while (true)
        {
            m = Beats(x, n, threshold, beats, out spread);
            if (m < MinimumBeats)
            {
                Estimate = default;
                _burstThresholdTicks = 0;
                return;
            }

            // 2. Period: 30th percentile of the beat gaps, then the ratio estimate over gaps near whole multiples.
            for (var j = 0; j + 1 < m; j++)
            {
                _scratch[j] = beats[j + 1] - beats[j];
            }

            Array.Sort(_scratch, 0, m - 1);
            guess = _scratch[(int)(0.3 * (m - 2))];
            if (threshold > 0 && spread > Tolerance * guess)
            {
                threshold = 0;
                continue;
            }

            break;
        }

        _burstThresholdTicks = (long)(threshold * TimeSpan.TicksPerSecond);
        _lastBeatTicks = origin + (long)Math.Round(beats[m - 1] * TimeSpan.TicksPerSecond);
        if (guess <= 1e-6)
        {
            Estimate = default;
            return;
        }

        double sumGaps = 0, sumK = 0;
        for (var j = 0; j + 1 < m; j++)
        {
            var gap = beats[j + 1] - beats[j];
            var q = gap / guess;
            var k = Math.Round(q);
            if (k >= 1 && Math.Abs(q - k) <= Tolerance)
            {
                sumGaps += gap;
                sumK += k;
            }
        }

        if (sumK == 0)
        {
            Estimate = default;
            return;
        }

        var period = sumGaps / sumK;
        var anchor = beats[0];
        var jitter = 0.0;
        for (var pass = 0; pass < 2; pass++)
        {
            if (!FitClock(beats, m, ref period, ref anchor, out jitter))
            {
                break;
            }
        }

        if (period <= 1e-6)
        {
            Estimate = default;
            return;
        }

        // 3. Degree: vector strength of every arrival at the fitted period.
        double c = 0, s = 0;
        var omega = 2 * Math.PI / period;
        for (var i = 0; i < n; i++)
        {
            var theta = omega * (x[i] - anchor);
            c += Math.Cos(theta);
            s += Math.Sin(theta);
        }

        // Weighted by the share of beat gaps that are whole multiples of the period: chance alignments of random
        // arrivals rarely make both numbers high.
        var consistent = 0;
        for (var j = 0; j + 1 < m; j++)
        {
            var q = (beats[j + 1] - beats[j]) / period;
            var k = Math.Round(q);
            if (k >= 1 && Math.Abs(q - k) <= Tolerance)
            {
                consistent++;
            }
        }

        var degree = Math.Clamp(Math.Sqrt((c * c) + (s * s)) / n * consistent / (m - 1), 0, 1);
        Estimate = new PeriodicityEstimate(
            TimeSpan.FromTicks((long)Math.Round(period * TimeSpan.TicksPerSecond)),
            degree,
            TimeSpan.FromTicks(origin + (long)Math.Round(anchor * TimeSpan.TicksPerSecond)),
            TimeSpan.FromTicks((long)Math.Round(jitter * TimeSpan.TicksPerSecond)),
            TimeSpan.FromTicks((long)Math.Round(spread * TimeSpan.TicksPerSecond)),
            (double)n / m,
            m);
    }

    /// <summary>Collapses arrivals closer than <paramref name="threshold"/> into beats (their first arrival).</summary>
    private static int Beats(double[] x, int n, double threshold, double[] beats, out double spread)
    {
        var m = 0;
        spread = 0.0;
        var beatStart = x[0];
        beats[m++] = x[0];
        for (var i = 1; i < n; i++)
        {
            if (x[i] - x[i - 1] > threshold)
            {
                spread = Math.Max(spread, x[i - 1] - beatStart);
                beatStart = x[i];
                beats[m++] = x[i];
            }
        }

        spread = Math.Max(spread, x[n - 1] - beatStart);
        return m;
    }

    /// <summary>Least-squares fit of beat = anchor + period * index over the beats within a quarter period of the current clock.</summary>
    private static bool FitClock(double[] beats, int m, ref double period, ref double anchor, out double jitter)
    {
        double sn = 0, st = 0, snn = 0, snt = 0;
        var used = 0;
        double minIndex = double.MaxValue, maxIndex = double.MinValue;
        for (var j = 0; j < m; j++)
        {
            var q = (beats[j] - anchor) / period;
            var index = Math.Round(q);
            if (Math.Abs(q - index) > Tolerance)
            {
                continue;
            }

            used++;
            sn += index;
            st += beats[j];
            snn += index * index;
            snt += index * beats[j];
            minIndex = Math.Min(minIndex, index);
            maxIndex = Math.Max(maxIndex, index);
        }

        jitter = 0;
        if (used < 3 || maxIndex - minIndex < 2)
        {
            return false;
        }

        var denominator = (used * snn) - (sn * sn);
        var newPeriod = ((used * snt) - (sn * st)) / denominator;
        var newAnchor = (st - (newPeriod * sn)) / used;
        if (newPeriod <= 1e-6)
        {
            return false;
        }

        double sumSquares = 0;
        for (var j = 0; j < m; j++)
        {
            var q = (beats[j] - anchor) / period;
            var index = Math.Round(q);
            if (Math.Abs(q - index) > Tolerance)
            {
                continue;
            }

            var residual = beats[j] - (newAnchor + (newPeriod * index));
            sumSquares += residual * residual;
        }

        jitter = Math.Sqrt(sumSquares / Math.Max(1, used - 2));
        period = newPeriod;
        anchor = newAnchor;
        return true;
    }
}
