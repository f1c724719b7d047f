using System.Collections.Concurrent;
using System.Diagnostics;
using OnDemandExecution;

namespace OnDemandExecution.Sample;

/// <summary>One finished call as the caller saw it.</summary>
/// <param name="Function">The function called.</param>
/// <param name="StartKind">How its instance was obtained (successful calls only).</param>
/// <param name="Timings">The library's per-phase timings (successful calls only).</param>
/// <param name="Failure">The failure's name, or null on success.</param>
/// <param name="Expected">Whether the failure is one the workload provokes on purpose.</param>
/// <param name="Detail">What went wrong, for unexpected failures.</param>
internal sealed record CallRecord(string Function, StartKind? StartKind, InvocationTimings Timings, string? Failure, bool Expected, string? Detail);

/// <summary>Records every call of the workload, whatever its outcome.</summary>
internal sealed class CallStats
{
    private readonly ConcurrentQueue<CallRecord> _records = new();

    public IReadOnlyCollection<CallRecord> Records => _records;

    /// <summary>Runs one call and records it. Never throws: failures are data here.</summary>
    /// <param name="function">The function's name.</param>
    /// <param name="call">The call.</param>
    /// <param name="expectedOutput">Checks the output; a wrong one counts as an unexpected failure.</param>
    public async Task RunAsync(string function, Func<ValueTask<InvocationResult>> call, Func<InvocationResult, bool> expectedOutput)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call();
            if (!expectedOutput(result))
            {
                Add(function, "WrongOutput", expected: false, $"{function} on {result.InstanceId} answered '{result.OutputAsString()}'");
                return;
            }

            _records.Enqueue(new CallRecord(function, result.StartKind, result.Timings, null, true, null));
        }
        catch (QueueFullException) when (function == Workload.WordCountFunction)
        {
            // The burst is larger than wordcount's MaxConcurrency + MaxQueueLength: rejected by design.
            Add(function, nameof(QueueFullException), expected: true, null);
        }
        catch (FunctionExecutionException ex) when (function == Workload.WordCountFunction && ex.InnerException is ArgumentException)
        {
            // The empty document sent on purpose: the function's own error, its instance stays usable.
            Add(function, nameof(FunctionExecutionException), expected: true, null);
        }
        catch (Exception ex)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            Add(function, ex.GetType().Name, expected: false, $"{function} after {elapsed.TotalMilliseconds:F0} ms: {ex.Message}");
        }
    }

    private void Add(string function, string failure, bool expected, string? detail) =>
        _records.Enqueue(new CallRecord(function, null, default, failure, expected, detail));
}
