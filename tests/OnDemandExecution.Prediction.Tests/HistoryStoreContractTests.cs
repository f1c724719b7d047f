namespace OnDemandExecution.Prediction.Tests;

/// <summary>
/// The contract every <see cref="IPreTriggerHistoryStore"/> passes: the in-memory and the SQLite store run it here, the
/// Orleans cluster store in OnDemandExecution.Orleans.Tests (which compiles this file too).
/// </summary>
public abstract class HistoryStoreContractTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    protected abstract IPreTriggerHistoryStore CreateStore(PreTriggerOptions options);

    public virtual void Dispose() => GC.SuppressFinalize(this);

    protected static PreTriggerWindow Window(string key, string? tenant, double atSeconds, params (string Function, int Count, double[] DelaysSeconds)[] followers) =>
        new(key, tenant, T0.AddSeconds(atSeconds), followers.Select(f => new PreTriggerFollower(f.Function, f.Count, f.DelaysSeconds.Select(TimeSpan.FromSeconds).ToArray(), Math.Max(1, f.Count - 1))).ToArray());

    [Fact]
    public async Task Windows_RoundTrip_OldestFirst_WithFollowersAndDelays()
    {
        var store = CreateStore(new PreTriggerOptions());
        var first = Window("upload", "t", 10, ("thumb", 3, [2.0, 2.1, 2.25]), ("index", 1, [5.5]));
        var second = Window("upload", "t", 70, ("thumb", 0, []));
        await store.AppendWindowAsync(first);
        await store.AppendWindowAsync(second);

        var windows = await store.GetWindowsAsync("upload", "t");

        Assert.Equal([first, second], windows);
        Assert.Empty(await store.GetWindowsAsync("upload", "other"));
        Assert.Empty(await store.GetWindowsAsync("nothing", "t"));
    }

    [Fact]
    public async Task TenantlessKey_IsSeparateFromTheSameKeyOfATenant()
    {
        var store = CreateStore(new PreTriggerOptions());
        var any = Window("batch", null, 1, ("b", 1, [1.0]));
        var ofTenant = Window("batch", "t", 2, ("b", 2, [1.0, 1.5]));
        await store.AppendWindowAsync(any);
        await store.AppendWindowAsync(ofTenant);

        Assert.Equal([any], await store.GetWindowsAsync("batch", null));
        Assert.Equal([ofTenant], await store.GetWindowsAsync("batch", "t"));
        Assert.Equal(2, await store.CountKeysAsync());
    }

    [Fact]
    public async Task WindowsPerKey_AreCapped_KeepingTheNewest()
    {
        var store = CreateStore(new PreTriggerOptions { MaxWindowsPerKey = 3, MinimumObservations = 1 });
        for (var i = 0; i < 10; i++)
        {
            await store.AppendWindowAsync(Window("k", "t", i * 60, ("b", i, [1.0])));
        }

        var windows = await store.GetWindowsAsync("k", "t");
        Assert.Equal([7, 8, 9], windows.Select(w => w.Followers[0].Count));
    }

    [Fact]
    public async Task TrackedKeys_AreCapped_EvictingTheLeastRecentlyTriggered()
    {
        var store = CreateStore(new PreTriggerOptions { MaxTrackedKeys = 3 });
        await store.AppendWindowAsync(Window("a", "t", 1));
        await store.AppendWindowAsync(Window("b", "t", 2));
        await store.AppendWindowAsync(Window("c", "t", 3));
        await store.AppendWindowAsync(Window("a", "t", 4)); // "a" is now the most recently triggered
        await store.AppendWindowAsync(Window("d", "t", 5)); // evicts "b", whose newest window is the oldest

        Assert.Equal(3, await store.CountKeysAsync());
        Assert.Empty(await store.GetWindowsAsync("b", "t"));
        Assert.Equal(2, (await store.GetWindowsAsync("a", "t")).Count);
        Assert.Single(await store.GetWindowsAsync("c", "t"));
        Assert.Single(await store.GetWindowsAsync("d", "t"));
    }

    [Fact]
    public async Task OldWindows_AgeOut_AfterTheRetention()
    {
        var store = CreateStore(new PreTriggerOptions { HistoryRetention = TimeSpan.FromHours(1) });
        await store.AppendWindowAsync(Window("k", "t", 0));
        await store.AppendWindowAsync(Window("other", "t", 1800));
        Assert.Single(await store.GetWindowsAsync("k", "t"));

        await store.AppendWindowAsync(Window("other", "t", 3 * 3600)); // "now" moves past k's window + 1 h

        Assert.Empty(await store.GetWindowsAsync("k", "t"));
        Assert.Single(await store.GetWindowsAsync("other", "t"));
    }

    [Fact]
    public async Task Rates_RoundTrip_AndAreCapped_EvictingTheLeastRecentlyUpdated()
    {
        var store = CreateStore(new PreTriggerOptions { MaxTrackedFunctions = 2 });
        var a = new PreTriggerFunctionRate("t", "a", 12.5, T0, T0.AddMinutes(1));
        var b = new PreTriggerFunctionRate(null, "b", 3, T0, T0.AddMinutes(2));
        await store.SaveRateAsync(a);
        await store.SaveRateAsync(b);
        Assert.Equal(a, await store.GetRateAsync("t", "a"));
        Assert.Equal(b, await store.GetRateAsync(null, "b"));
        Assert.Null(await store.GetRateAsync(null, "a"));

        var a2 = a with { DecayedArrivals = 20, Updated = T0.AddMinutes(3) };
        await store.SaveRateAsync(a2); // replaces
        await store.SaveRateAsync(new PreTriggerFunctionRate("t", "c", 1, T0, T0.AddMinutes(4))); // evicts b

        Assert.Equal(a2, await store.GetRateAsync("t", "a"));
        Assert.Null(await store.GetRateAsync(null, "b"));
        Assert.NotNull(await store.GetRateAsync("t", "c"));
    }
}
