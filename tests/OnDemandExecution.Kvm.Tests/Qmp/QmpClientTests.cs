using System.Text.Json;
using OnDemandExecution.Kvm.Qmp;
using OnDemandExecution.Kvm.Tests.TestSupport;

namespace OnDemandExecution.Kvm.Tests.Qmp;

public class QmpClientTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    private static Task<QmpClient> ConnectAsync(FakeQmpServer server)
        => QmpClient.ConnectAsync(server.SocketPath, Long, TimeProvider.System, CancellationToken.None);

    [Fact]
    public async Task Connect_ReadsGreeting_AndNegotiatesCapabilities()
    {
        await using var server = new FakeQmpServer((_, _, _) => []);
        await using var client = await ConnectAsync(server);

        Assert.Equal("7.2.22", client.QemuVersion);
        Assert.Contains("\"execute\":\"qmp_capabilities\"", Assert.Single(server.Received), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commands_CarryIds_AndTypedReturnsAreParsed()
    {
        await using var server = new FakeQmpServer((cmd, id, _) => cmd switch
        {
            "query-status" => [$$"""{"return": {"status": "paused", "singlestep": false, "running": false}, "id": {{id}}}"""],
            "query-migrate" => [$$"""{"return": {"status": "completed", "total-time": 420}, "id": {{id}}}"""],
            _ => [$$"""{"return": {}, "id": {{id}}}"""],
        });
        await using var client = await ConnectAsync(server);

        var status = await client.QueryStatusAsync(default);
        var migration = await client.QueryMigrateAsync(default);
        await client.MigrateAsync("exec:cat > '/tmp/x'", default);

        Assert.Equal(("paused", false), (status.Status, status.Running));
        Assert.Equal(("completed", 420L), (migration.Status, migration.TotalTimeMs));
        var ids = server.Received.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var migrate = JsonDocument.Parse(server.Received[^1]).RootElement;
        Assert.Equal("migrate", migrate.GetProperty("execute").GetString());
        Assert.Equal("exec:cat > '/tmp/x'", migrate.GetProperty("arguments").GetProperty("uri").GetString());
    }

    [Fact]
    public async Task ErrorResponse_BecomesQmpCommandException_WithClassAndDescription()
    {
        await using var server = new FakeQmpServer((_, id, _) => [$$"""{"error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}, "id": {{id}}}"""]);
        await using var client = await ConnectAsync(server);

        var ex = await Assert.ThrowsAsync<QmpCommandException>(() => client.ExecuteAsync("nope", null, default));

        Assert.Equal(("nope", "CommandNotFound"), (ex.Command, ex.ErrorClass));
        Assert.Contains("has not been found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_AreSurfaced_InterleavedWithResponses()
    {
        await using var server = new FakeQmpServer((cmd, id, _) =>
        [
            """{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}""",
            $$"""{"return": {}, "id": {{id}}}""",
        ]);
        await using var client = await ConnectAsync(server);
        var events = new List<QmpEvent>();
        var shutdown = new TaskCompletionSource();
        client.EventReceived += e =>
        {
            lock (events)
            {
                events.Add(e);
            }

            if (e.Name == "SHUTDOWN")
            {
                shutdown.TrySetResult();
            }
        };

        await client.StopAsync(default);
        await server.SendAsync("""{"timestamp": {"seconds": 1, "microseconds": 3}, "event": "RESUME"}""");
        await server.SendAsync("""{"timestamp": {"seconds": 1, "microseconds": 4}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}""");
        await shutdown.Task.WaitAsync(Long);

        lock (events)
        {
            Assert.Equal(["STOP", "RESUME", "SHUTDOWN"], events.Select(e => e.Name));
            Assert.Equal("guest-shutdown", events[2].Data.GetProperty("reason").GetString());
        }
    }

    [Fact]
    public async Task ConnectionDropped_FailsPendingAndLaterCommands_WithConnectionException()
    {
        FakeQmpServer? self = null;
        await using var server = self = new FakeQmpServer((_, _, _) =>
        {
            self!.Drop(); // QEMU exits mid-command
            return [];
        });
        await using var client = await ConnectAsync(server);
        var closed = new TaskCompletionSource<Exception>();
        client.Closed += ex => closed.TrySetResult(ex);

        await Assert.ThrowsAsync<QmpConnectionException>(() => client.ExecuteAsync("stop", null, default));
        await closed.Task.WaitAsync(Long);
        await Assert.ThrowsAsync<QmpConnectionException>(() => client.ExecuteAsync("cont", null, default));
    }

    [Fact]
    public async Task NotAGreeting_FailsTheConnection()
    {
        await using var server = new FakeQmpServer((_, _, _) => [], greeting: """{"hello": "world"}""");
        await Assert.ThrowsAsync<QmpConnectionException>(() => ConnectAsync(server));
    }

    [Fact]
    public async Task MissingSocket_TimesOut()
    {
        var path = Path.Combine(Path.GetTempPath(), "odx-none-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        await Assert.ThrowsAsync<TimeoutException>(() => QmpClient.ConnectAsync(path, TimeSpan.FromMilliseconds(100), TimeProvider.System, default));
    }
}
