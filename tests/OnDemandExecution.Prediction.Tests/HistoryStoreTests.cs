using Microsoft.Extensions.Options;
using OnDemandExecution.Sqlite;

namespace OnDemandExecution.Prediction.Tests;

public sealed class InMemoryHistoryStoreTests : HistoryStoreContractTests
{
    protected override IPreTriggerHistoryStore CreateStore(PreTriggerOptions options) => new InMemoryPreTriggerHistoryStore(Options.Create(options));
}

public sealed class SqliteHistoryStoreTests : HistoryStoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pretrigger-").FullName;
    private readonly List<SqlitePreTriggerHistoryStore> _stores = [];

    protected override IPreTriggerHistoryStore CreateStore(PreTriggerOptions options) => Open(options);

    public override void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        base.Dispose();
    }

    [Fact]
    public async Task History_SurvivesReopening()
    {
        var options = new PreTriggerOptions();
        var store = Open(options);
        var window = Window("upload", "t", 5, ("thumb", 5, [2.0, 2.1, 2.2, 2.3, 2.4]));
        var rate = new PreTriggerFunctionRate("t", "thumb", 42, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.Zero));
        await store.AppendWindowAsync(window);
        await store.SaveRateAsync(rate);
        store.Dispose();

        var reopened = Open(options);

        Assert.Equal([window], await reopened.GetWindowsAsync("upload", "t"));
        Assert.Equal(rate, await reopened.GetRateAsync("t", "thumb"));
    }

    [Fact]
    public void PlainPath_BecomesAConnectionString()
    {
        Assert.Equal("Data Source=/tmp/x.db", SqlitePreTriggerHistoryStore.ToConnectionString("/tmp/x.db"));
        Assert.Equal("Data Source=:memory:", SqlitePreTriggerHistoryStore.ToConnectionString("Data Source=:memory:"));
    }

    private SqlitePreTriggerHistoryStore Open(PreTriggerOptions options)
    {
        var store = new SqlitePreTriggerHistoryStore(Path.Combine(_directory, "history.db"), Options.Create(options));
        _stores.Add(store);
        return store;
    }
}
