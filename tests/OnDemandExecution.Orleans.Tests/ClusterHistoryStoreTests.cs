using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using OnDemandExecution.Orleans.History;
using OnDemandExecution.Prediction.Tests;

namespace OnDemandExecution.Orleans.Tests;

/// <summary>A one-silo cluster holding the history grains, in grain storage kept by the test.</summary>
public sealed class HistoryClusterFixture : IAsyncLifetime
{
    public SharedGrainStorage Storage { get; } = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddKeyedSingleton<IGrainStorage>(ClusterPreTriggerHistoryOptions.DefaultStorageName, (sp, _) => Storage.View(sp.GetRequiredService<DeepCopier>()));
            silo.UseClusterPreTriggerHistory(o => o.IndexWriteInterval = TimeSpan.Zero);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>The store contract, run against the cluster store (each test in its own scope of the same grains).</summary>
[Collection("cluster")]
public sealed class ClusterHistoryStoreTests(HistoryClusterFixture fixture) : HistoryStoreContractTests, IClassFixture<HistoryClusterFixture>
{
    protected override IPreTriggerHistoryStore CreateStore(PreTriggerOptions options) =>
        new ClusterPreTriggerHistoryStore(fixture.Cluster.Client, Options.Create(options), scope: Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task What_one_store_wrote_is_read_by_another_and_is_in_grain_storage()
    {
        var scope = Guid.NewGuid().ToString("N");
        var writer = new ClusterPreTriggerHistoryStore(fixture.Cluster.Client, Options.Create(new PreTriggerOptions()), scope);
        var reader = new ClusterPreTriggerHistoryStore(fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>(), Options.Create(new PreTriggerOptions()), scope);
        var window = Window("upload", "t", 5, ("thumb", 2, [1.0, 1.5]));
        var rate = new PreTriggerFunctionRate("t", "thumb", 4.5, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddHours(1));
        var writesBefore = fixture.Storage.Writes;

        await writer.AppendWindowAsync(window);
        await writer.SaveRateAsync(rate);

        Assert.Equal([window], await reader.GetWindowsAsync("upload", "t"));
        Assert.Equal(rate, await reader.GetRateAsync("t", "thumb"));
        Assert.Equal(1, await reader.CountKeysAsync());
        Assert.True(fixture.Storage.Writes - writesBefore >= 3, "the key's windows and the index (twice) were written");
    }

    [Fact]
    public void Keys_of_different_keys_tenants_and_scopes_never_collide()
    {
        string[] ids =
        [
            HistoryKeys.Pair("", "ab", null), HistoryKeys.Pair("", "ab", ""), HistoryKeys.Pair("", "b", "a"),
            HistoryKeys.Pair("a", "b", null), HistoryKeys.Pair("", "-ab", null), HistoryKeys.Pair("", "1:ab", null),
            HistoryKeys.Pair("", "ab", "1"), HistoryKeys.Pair("1", "ab", null),
        ];
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
    }
}
