using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Idempotency;

public class IdempotencyMetricsTests
{
    [Fact]
    public async Task Requests_AreCountedByHowTheyWereServed_AndOnlyExecutionsAsInvocations()
    {
        await using var host = TestHost.Create(configure: b =>
        {
            b.Services.AddMetrics();
            b.AddFunction("report", TestHost.Noop, f => f with { Idempotency = new IdempotencyDefinition { Dependencies = ["prices"] } });
        });
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        using var requests = new MetricCollector<long>(factory, OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.IdempotencyRequests);
        using var invocations = new MetricCollector<long>(factory, OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.Invocations);

        await host.Executor.InvokeAsync("report", "q");
        await host.Executor.InvokeAsync("report", "q");
        await host.Executor.InvokeAsync("report", "q");

        Assert.Equal(["miss", "hit", "hit"], requests.GetMeasurementSnapshot().Select(m => m.Tags[OnDemandExecutionDiagnostics.IdempotencyResultTag]));
        Assert.Single(invocations.GetMeasurementSnapshot());
    }
}
