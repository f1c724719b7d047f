namespace OnDemandExecution;

/// <summary>One observation window of a pre-trigger: what followed it during <see cref="PreTriggerOptions.ObservationWindow"/>.</summary>
/// <param name="Key">The pre-trigger key.</param>
/// <param name="Tenant">The tenant's value, or null when the pre-trigger named none (followers of every tenant were counted).</param>
/// <param name="Start">When the pre-trigger happened.</param>
/// <param name="Followers">The functions invoked in the window, in the order of their first request (at most <see cref="PreTriggerOptions.MaxFollowersPerWindow"/>).</param>
public sealed record PreTriggerWindow(string Key, string? Tenant, DateTimeOffset Start, IReadOnlyList<PreTriggerFollower> Followers)
{
    /// <inheritdoc />
    public bool Equals(PreTriggerWindow? other) =>
        other is not null && string.Equals(Key, other.Key, StringComparison.Ordinal) && string.Equals(Tenant, other.Tenant, StringComparison.Ordinal)
        && Start == other.Start && Followers.SequenceEqual(other.Followers);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Key, Tenant, Start, Followers.Count);
}

/// <summary>One function's requests in one observation window.</summary>
/// <param name="Function">The function.</param>
/// <param name="Count">How many requests arrived in the window (exact).</param>
/// <param name="Delays">Each request's delay from the pre-trigger, in arrival order (the first <see cref="PreTriggerOptions.MaxDelaysPerFollower"/>).</param>
/// <param name="Peak">The most requests of the function in flight at once (for the window's tenant) when one of these arrived: the instances they needed.</param>
public sealed record PreTriggerFollower(string Function, int Count, IReadOnlyList<TimeSpan> Delays, int Peak)
{
    /// <inheritdoc />
    public bool Equals(PreTriggerFollower? other) =>
        other is not null && string.Equals(Function, other.Function, StringComparison.Ordinal) && Count == other.Count && Peak == other.Peak && Delays.SequenceEqual(other.Delays);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Function, Count, Delays.Count);
}

/// <summary>
/// A function's base arrival rate as an exponentially decayed count: <see cref="DecayedArrivals"/> as of
/// <see cref="Updated"/>, counted since <see cref="Since"/> with the correlator's
/// <see cref="PreTriggerOptions.BaseRateHalfLife"/>.
/// </summary>
/// <param name="Tenant">The tenant's value, or null for the rate over all tenants.</param>
/// <param name="Function">The function.</param>
/// <param name="DecayedArrivals">The arrivals, each weighted by 2^(-age / half-life), as of <see cref="Updated"/>.</param>
/// <param name="Since">When counting started.</param>
/// <param name="Updated">When the count was last brought up to date.</param>
public sealed record PreTriggerFunctionRate(string? Tenant, string Function, double DecayedArrivals, DateTimeOffset Since, DateTimeOffset Updated);
