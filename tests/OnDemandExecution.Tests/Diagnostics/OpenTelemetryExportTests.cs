using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Tests.TestSupport;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace OnDemandExecution.Tests.Diagnostics;

/// <summary>
/// What a dashboard receives: telemetry read through the OpenTelemetry SDK and its in-memory exporter, not through the
/// raw listener APIs. Other tests run in parallel on the same meter and activity source names, so every assertion
/// filters by a function name unique to the test.
/// </summary>
public class OpenTelemetryExportTests
{
    [Fact]
    public async Task Metrics_ExportedThroughSdk_HaveBucketAdviceFaasTagsAndAnAdditivePoolSize()
    {
        var name = "otel-metrics-" + Guid.NewGuid().ToString("N");
        var exported = new List<MetricSnapshot>();
        using var meterProvider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(OnDemandExecutionDiagnostics.Name)
            .AddInMemoryExporter(exported)
            .Build();
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 1, b =>
        {
            b.Services.AddMetrics();
            b.AddFunction(name, TestHost.Noop);
        });

        await host.Pools.PrewarmAsync();

        // A fast call (0.3 ms), a slow one (2 s) and a failing one, on virtual time.
        var next = TimeSpan.FromMilliseconds(0.3);
        host.Provider.OnInvoke = (_, request, _) =>
        {
            if (request.Payload.Length == 4)
            {
                throw new FunctionExecutionException("boom");
            }

            host.Time.Advance(next);
            return new(ReadOnlyMemory<byte>.Empty);
        };
        await host.Executor.InvokeAsync(name, "1");
        next = TimeSpan.FromSeconds(2);
        await host.Executor.InvokeAsync(name, "2");
        await Assert.ThrowsAsync<FunctionExecutionException>(() => host.Executor.InvokeAsync(name, "fail").AsTask());
        Assert.True(meterProvider.ForceFlush());

        // Tests in parallel have meters of the same name: each one is a stream; this test's points carry its function.
        var durations = exported.Where(m => m.Name == OnDemandExecutionDiagnostics.InvocationDuration).ToList();
        Assert.All(durations, d => Assert.Equal(MetricType.Histogram, d.MetricType));
        Assert.All(durations, d => Assert.Equal("s", d.Unit));
        var points = durations.SelectMany(d => d.MetricPoints).Where(p => TagOf(p, OnDemandExecutionDiagnostics.FunctionNameTag) == name).ToList();
        var success = points.Where(p => TagOf(p, OnDemandExecutionDiagnostics.OutcomeTag) == "success").ToList();
        Assert.Equal(2, success.Count); // one pool start, one warm hit
        var bounds = Bounds(success[0]);
        Assert.Equal(OnDemandExecutionDiagnostics.DurationBucketBoundaries, bounds); // the SDK honoured the advice
        Assert.Equal(0.0005, NonEmptyBucketBound(success.Single(p => TagOf(p, OnDemandExecutionDiagnostics.StartKindTag) == "pool")));
        Assert.Equal(2.5, NonEmptyBucketBound(success.Single(p => TagOf(p, OnDemandExecutionDiagnostics.StartKindTag) == "warm")));
        var failed = Assert.Single(points, p => TagOf(p, OnDemandExecutionDiagnostics.OutcomeTag) == "function_error");
        Assert.Equal(typeof(FunctionExecutionException).FullName, TagOf(failed, OnDemandExecutionDiagnostics.ErrorTypeTag));
        Assert.All(success, p => Assert.Null(TagOf(p, OnDemandExecutionDiagnostics.ErrorTypeTag)));

        // Every duration histogram of the core carries the same advice.
        var starts = exported.Where(m => m.Name == OnDemandExecutionDiagnostics.StartDuration).SelectMany(m => m.MetricPoints).ToList();
        Assert.NotEmpty(starts);
        Assert.All(starts, p => Assert.Equal(
            OnDemandExecutionDiagnostics.DurationBucketBoundaries,
            Bounds(p)));

        // The pool size is additive across states: exported as a non-monotonic sum (an up-down counter), not a gauge.
        Assert.All(exported.Where(m => m.Name == OnDemandExecutionDiagnostics.PoolSize), m => Assert.Equal(MetricType.LongSumNonMonotonic, m.MetricType));
        Assert.Contains(exported, m => m.Name == OnDemandExecutionDiagnostics.PoolSize);

        // No tag value with a space, no tag name outside the conventions' namespaces.
        foreach (var metric in exported.Where(m => m.Name.StartsWith("ondemand.", StringComparison.Ordinal)))
        {
            foreach (var point in metric.MetricPoints)
            {
                foreach (var tag in point.Tags)
                {
                    Assert.True(tag.Key.StartsWith("ondemand.", StringComparison.Ordinal) || tag.Key.StartsWith("faas.", StringComparison.Ordinal) || tag.Key == "error.type", $"{metric.Name}: tag {tag.Key}");
                    Assert.DoesNotContain(' ', tag.Value?.ToString() ?? string.Empty);
                }
            }
        }
    }

    [Fact]
    public async Task Traces_ExportedThroughSdk_FollowFaasConventionsAndKeepRefillsInTheirOwnTrace()
    {
        var name = "otel-traces-" + Guid.NewGuid().ToString("N");
        var exported = new List<Activity>();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder()
            .AddSource(OnDemandExecutionDiagnostics.Name)
            .AddProcessor(new SimpleActivityExportProcessor(new LockedListExporter(exported)))
            .Build();
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 1, b => b.AddFunction(name, TestHost.Noop));
        host.Provider.OnInvoke = (_, request, _) => request.Payload.Length == 4
            ? throw new FunctionExecutionException("boom")
            : new(ReadOnlyMemory<byte>.Empty);
        await host.Pools.PrewarmAsync();

        var first = await host.Executor.InvokeAsync(name, "1");   // takes the warm instance: starts a refill
        await host.Pools.PrewarmAsync();                           // waits for that refill
        var second = await host.Executor.InvokeAsync(name, "2");  // warm hit
        await Assert.ThrowsAsync<FunctionExecutionException>(() => host.Executor.InvokeAsync(name, "fail").AsTask());
        Assert.True(tracerProvider.ForceFlush());

        List<Activity> spans;
        lock (exported)
        {
            spans = [.. exported];
        }

        var invokes = spans.Where(a => a.OperationName == OnDemandExecutionDiagnostics.InvokeActivity && Equals(a.GetTagItem(OnDemandExecutionDiagnostics.FunctionNameTag), name)).ToList();
        Assert.Equal(3, invokes.Count);
        Assert.All(invokes, a => Assert.Equal(name, a.DisplayName)); // the span is named after the function
        Assert.All(invokes, a => Assert.Equal("other", a.GetTagItem(OnDemandExecutionDiagnostics.TriggerTag)));
        var pool = Assert.Single(invokes, a => Equals(a.GetTagItem(OnDemandExecutionDiagnostics.InvocationIdTag), first.InvocationId));
        var warm = Assert.Single(invokes, a => Equals(a.GetTagItem(OnDemandExecutionDiagnostics.InvocationIdTag), second.InvocationId));
        Assert.Equal(true, pool.GetTagItem(OnDemandExecutionDiagnostics.ColdStartTag));
        Assert.Equal(false, warm.GetTagItem(OnDemandExecutionDiagnostics.ColdStartTag));
        Assert.Equal(first.InstanceId, pool.GetTagItem(OnDemandExecutionDiagnostics.InstanceTag));

        // A failure: error status, error.type and the exception as a span event.
        var failed = Assert.Single(invokes, a => a.Status == ActivityStatusCode.Error);
        Assert.Equal(typeof(FunctionExecutionException).FullName, failed.GetTagItem(OnDemandExecutionDiagnostics.ErrorTypeTag));
        var exceptionEvent = Assert.Single(failed.Events, e => e.Name == "exception");
        Assert.Contains(exceptionEvent.Tags, t => t.Key == "exception.type" && Equals(t.Value, typeof(FunctionExecutionException).FullName));
        Assert.Contains(exceptionEvent.Tags, t => t.Key == "exception.message" && Equals(t.Value, "boom"));

        // The refill the pool start triggered is the root of a trace of its own, linked to that call.
        var refill = Assert.Single(spans, a => a.OperationName == OnDemandExecutionDiagnostics.RefillActivity && a.Links.Any(l => l.Context.SpanId == pool.SpanId));
        Assert.Equal(default, refill.ParentSpanId);
        Assert.NotEqual(pool.TraceId, refill.TraceId);
        Assert.Contains(spans, a => a.OperationName == OnDemandExecutionDiagnostics.CreateInstanceActivity && a.ParentSpanId == refill.SpanId);
        Assert.DoesNotContain(spans, a => a.ParentSpanId == pool.SpanId && a.OperationName == OnDemandExecutionDiagnostics.CreateInstanceActivity);
    }

    private static string? TagOf(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }

    /// <summary>The histogram's explicit (finite) bucket bounds.</summary>
    private static double[] Bounds(MetricPoint point)
    {
        var bounds = new List<double>();
        foreach (var bucket in point.GetHistogramBuckets())
        {
            if (double.IsFinite(bucket.ExplicitBound))
            {
                bounds.Add(bucket.ExplicitBound);
            }
        }

        return [.. bounds];
    }

    /// <summary>The upper bound of the one bucket holding the point's single measurement.</summary>
    private static double NonEmptyBucketBound(MetricPoint point)
    {
        var buckets = new List<HistogramBucket>();
        foreach (var bucket in point.GetHistogramBuckets())
        {
            buckets.Add(bucket);
        }

        return Assert.Single(buckets, b => b.BucketCount > 0).ExplicitBound;
    }

    /// <summary>
    /// The in-memory exporter, but adding under the list's lock: spans of the same source end on other threads (other
    /// tests' hosts, background refills) while the test copies the list, which the SDK's exporter does not guard.
    /// </summary>
    private sealed class LockedListExporter(List<Activity> items) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            lock (items)
            {
                foreach (var activity in batch)
                {
                    items.Add(activity);
                }
            }

            return ExportResult.Success;
        }
    }
}
