namespace OnDemandExecution.Orleans.History;

/// <summary>A <see cref="PreTriggerWindow"/> as grains and grain storage carry it.</summary>
[GenerateSerializer, Immutable]
internal sealed record WindowRecord(
    [property: Id(0)] string Key,
    [property: Id(1)] string? Tenant,
    [property: Id(2)] DateTimeOffset Start,
    [property: Id(3)] FollowerRecord[] Followers)
{
    public static WindowRecord From(PreTriggerWindow window) =>
        new(window.Key, window.Tenant, window.Start, [.. window.Followers.Select(f => new FollowerRecord(f.Function, f.Count, [.. f.Delays], f.Peak))]);

    public PreTriggerWindow ToWindow() =>
        new(Key, Tenant, Start, [.. Followers.Select(f => new PreTriggerFollower(f.Function, f.Count, f.Delays, f.Peak))]);
}

/// <summary>A <see cref="PreTriggerFollower"/> as grains and grain storage carry it.</summary>
[GenerateSerializer, Immutable]
internal sealed record FollowerRecord(
    [property: Id(0)] string Function,
    [property: Id(1)] int Count,
    [property: Id(2)] TimeSpan[] Delays,
    [property: Id(3)] int Peak);

/// <summary>A <see cref="PreTriggerFunctionRate"/> as grains and grain storage carry it.</summary>
[GenerateSerializer, Immutable]
internal sealed record RateRecord(
    [property: Id(0)] string? Tenant,
    [property: Id(1)] string Function,
    [property: Id(2)] double DecayedArrivals,
    [property: Id(3)] DateTimeOffset Since,
    [property: Id(4)] DateTimeOffset Updated)
{
    public static RateRecord From(PreTriggerFunctionRate rate) => new(rate.Tenant, rate.Function, rate.DecayedArrivals, rate.Since, rate.Updated);

    public PreTriggerFunctionRate ToRate() => new(Tenant, Function, DecayedArrivals, Since, Updated);
}

/// <summary>What the index decided for an appended window: store it or not, the retention cutoff, and the keys it dropped.</summary>
[GenerateSerializer, Immutable]
internal sealed record AppendDecision(
    [property: Id(0)] bool Keep,
    [property: Id(1)] DateTimeOffset Cutoff,
    [property: Id(2)] KeyRef[] Dropped);

/// <summary>A (key, tenant) pair of the history.</summary>
[GenerateSerializer, Immutable]
internal sealed record KeyRef([property: Id(0)] string Key, [property: Id(1)] string? Tenant);

/// <summary>The persisted windows of one (key, tenant).</summary>
[GenerateSerializer]
internal sealed class KeyHistoryState
{
    [Id(0)]
    public List<WindowRecord> Windows { get; set; } = [];
}

/// <summary>The persisted index: each key's newest window, the newest window of all, and the base rates.</summary>
[GenerateSerializer]
internal sealed class HistoryIndexState
{
    [Id(0)]
    public Dictionary<string, IndexedKey> Keys { get; set; } = new(StringComparer.Ordinal);

    [Id(1)]
    public DateTimeOffset Newest { get; set; } = DateTimeOffset.MinValue;

    [Id(2)]
    public Dictionary<string, RateRecord> Rates { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One key of the index and the start of its newest window.</summary>
[GenerateSerializer, Immutable]
internal sealed record IndexedKey([property: Id(0)] string Key, [property: Id(1)] string? Tenant, [property: Id(2)] DateTimeOffset Newest);

/// <summary>Grain keys of the history: unambiguous for any key, tenant (or none) and scope.</summary>
internal static class HistoryKeys
{
    public static string Pair(string scope, string key, string? tenant) =>
        $"{scope.Length}:{scope}{(tenant is null ? "-" : $"{tenant.Length}:{tenant}")}{key}";

    public static string Rate(string? tenant, string function) =>
        $"{(tenant is null ? "-" : $"{tenant.Length}:{tenant}")}{function}";

    public static string Index(string scope) => $"index:{scope}";
}
