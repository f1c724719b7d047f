namespace OnDemandExecution;

/// <summary>
/// A warm floor for one function: <see cref="Count"/> instances per tenant kept loaded and idle-ready, whatever the
/// traffic, while a <see cref="Schedule"/> window is open (always, without a schedule).
/// </summary>
/// <remarks>
/// <para>
/// Pool maintenance keeps the floor up: it loads missing instances (from the warming pool, else cold) and replaces any
/// that die. Provisioned instances never expire and are never evicted to make room for others; they serve calls like any
/// warm instance. Above the floor the keep-alive policy decides as usual: the instances it keeps are the on-demand ones.
/// When a window closes or the count drops, the surplus becomes on-demand and expires with the function's keep-alive.
/// </para>
/// <para>Windows are read in <see cref="TimeProvider.LocalTimeZone"/> of the host's <see cref="TimeProvider"/>.</para>
/// </remarks>
public sealed record ProvisionedConcurrency
{
    /// <summary>Creates a floor of <paramref name="count"/> instances per tenant.</summary>
    /// <param name="count">Instances per tenant, at least 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public ProvisionedConcurrency(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
    }

    /// <summary>Instances kept per tenant while a window is open.</summary>
    public int Count { get; }

    /// <summary>The tenants the instances are loaded for; empty (the default): <see cref="TenantId.Default"/> only.</summary>
    public IReadOnlyList<TenantId> Tenants { get; init; } = [];

    /// <summary>When the floor applies; empty (the default): always.</summary>
    public IReadOnlyList<ProvisionedWindow> Schedule { get; init; } = [];

    /// <summary>How many instances per tenant the floor asks for at <paramref name="localTime"/>.</summary>
    /// <param name="localTime">A time in the host's local time zone.</param>
    /// <returns><see cref="Count"/> when no schedule is set or a window is open, else 0.</returns>
    public int CountAt(DateTimeOffset localTime)
    {
        if (Schedule.Count == 0)
        {
            return Count;
        }

        foreach (var window in Schedule)
        {
            if (window.Contains(localTime))
            {
                return Count;
            }
        }

        return 0;
    }

    /// <summary>The tenants the floor applies to (<see cref="TenantId.Default"/> when <see cref="Tenants"/> is empty).</summary>
    internal IReadOnlyList<TenantId> EffectiveTenants => Tenants.Count == 0 ? [TenantId.Default] : Tenants;
}

/// <summary>
/// A daily time window, for example weekdays 08:00 to 18:00. A window whose end is not after its start runs past
/// midnight into the next day (22:00 to 06:00); <see cref="Days"/> name the days it starts on.
/// </summary>
public sealed record ProvisionedWindow
{
    /// <summary>Creates a window.</summary>
    /// <param name="start">When it opens (inclusive).</param>
    /// <param name="end">When it closes (exclusive); before <paramref name="start"/>, the next day.</param>
    /// <exception cref="ArgumentException"><paramref name="start"/> equals <paramref name="end"/> (leave the schedule empty for "always").</exception>
    public ProvisionedWindow(TimeOnly start, TimeOnly end)
    {
        if (start == end)
        {
            throw new ArgumentException($"A provisioned window must not start and end at the same time ({start}); leave the schedule empty to keep the floor all day.", nameof(end));
        }

        Start = start;
        End = end;
    }

    /// <summary>When the window opens (inclusive).</summary>
    public TimeOnly Start { get; }

    /// <summary>When the window closes (exclusive).</summary>
    public TimeOnly End { get; }

    /// <summary>The days the window opens on; empty (the default): every day.</summary>
    public IReadOnlyList<DayOfWeek> Days { get; init; } = [];

    /// <summary>Whether <paramref name="localTime"/> falls in the window.</summary>
    /// <param name="localTime">A time in the host's local time zone.</param>
    /// <returns>True inside the window.</returns>
    public bool Contains(DateTimeOffset localTime)
    {
        var time = TimeOnly.FromTimeSpan(localTime.TimeOfDay);
        var day = localTime.DayOfWeek;
        if (Start < End)
        {
            return OpensOn(day) && time >= Start && time < End;
        }

        // Past midnight: the evening part on an opening day, or the morning part after one.
        return (OpensOn(day) && time >= Start) || (OpensOn(PreviousDay(day)) && time < End);
    }

    private bool OpensOn(DayOfWeek day) => Days.Count == 0 || Days.Contains(day);

    private static DayOfWeek PreviousDay(DayOfWeek day) => day == DayOfWeek.Sunday ? DayOfWeek.Saturday : day - 1;
}
