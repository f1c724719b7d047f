using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using OnDemandExecution.Capabilities;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Capabilities;

public class ExecutionCostModelTests
{
    private static InvocationTimings Timings(double provisioningMs, double loadMs, double executionMs) =>
        new(TimeSpan.Zero, TimeSpan.FromMilliseconds(provisioningMs), TimeSpan.FromMilliseconds(loadMs), TimeSpan.FromMilliseconds(executionMs), TimeSpan.Zero);

    [Fact]
    public void Priors_UntilSomethingIsLearned()
    {
        var options = new CapabilityOptions();
        var model = new ExecutionCostModel(Options.Create(options));
        Assert.Equal(options.DefaultExecutionCost, model.ExpectedExecution("f"));
        Assert.Equal(TimeSpan.Zero, model.ExpectedStart("f", StartKind.Warm));
        Assert.Equal(options.DefaultCodeLoadCost, model.ExpectedStart("f", StartKind.WarmPool));
        Assert.Equal(options.DefaultProvisioningCost + options.DefaultCodeLoadCost, model.ExpectedStart("f", StartKind.Cold));
    }

    [Fact]
    public void ColdStarts_TeachCodeLoadAndProvisioning_Separately_AndProvisioningAcrossFunctions()
    {
        var model = new ExecutionCostModel(Options.Create(new CapabilityOptions { LearningRate = 0.5 }));
        model.Record("f", StartKind.Cold, Timings(100, 20, 10));

        Assert.Equal(TimeSpan.FromMilliseconds(20), model.ExpectedStart("f", StartKind.WarmPool));
        Assert.Equal(TimeSpan.FromMilliseconds(120), model.ExpectedStart("f", StartKind.Cold));
        Assert.Equal(TimeSpan.FromMilliseconds(100) + new CapabilityOptions().DefaultCodeLoadCost, model.ExpectedStart("g", StartKind.Cold));

        model.Record("f", StartKind.Warm, Timings(0, 0, 30)); // moving average: 10 + 0.5 * (30 - 10)
        Assert.Equal(TimeSpan.FromMilliseconds(20), model.ExpectedExecution("f"));
        Assert.Equal(TimeSpan.FromMilliseconds(20), model.ExpectedStart("f", StartKind.WarmPool)); // warm hits load nothing: unchanged
    }

    [Fact]
    public async Task InvalidOptions_FailWhenResolved()
    {
        await using var host = TestHost.Create(configure: b => b.ConfigureCapabilities(o => o.LearningRate = 0).ConfigureIdempotency(o => o.CacheCapacity = 0));
        Assert.Contains("LearningRate", Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<CapabilityOptions>>().Value).Message);
        Assert.Contains("CacheCapacity", Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value).Message);
    }

    [Fact]
    public async Task Selections_AreCounted_WithTheChosenFunctionAndExpectedStart()
    {
        await using var host = TestHost.Create(configure: b =>
        {
            b.Services.AddMetrics();
            b.AddFunction("resize", TestHost.Noop, f => f with { Capabilities = ["resize-image"] });
        });
        using var selections = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.CapabilitySelections);
        var invoker = host.Services.GetRequiredService<ICapabilityInvoker>();

        await invoker.InvokeAsync("resize-image", default);
        await invoker.InvokeAsync("resize-image", default);

        var measurements = selections.GetMeasurementSnapshot();
        Assert.Equal(["cold", "warm"], measurements.Select(m => m.Tags[OnDemandExecutionDiagnostics.StartKindTag]));
        Assert.All(measurements, m => Assert.Equal("resize", m.Tags[OnDemandExecutionDiagnostics.FunctionNameTag]));
    }
}
