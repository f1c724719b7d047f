using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace OnDemandExecution.Prediction.Tests;

/// <summary>
/// A service provider with the in-process provider, the pre-trigger correlator and a <see cref="FakeTimeProvider"/>;
/// no host (maintenance runs when a test calls it). Functions run for <see cref="RunTime"/> of virtual time, so calls
/// 100 ms apart overlap and need instances of their own.
/// </summary>
public sealed class CorrelatorHost : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<(string Function, Task<InvocationResult> Call)> _calls = [];

    public CorrelatorHost(Action<PreTriggerOptions>? configure = null, Action<IOnDemandExecutionBuilder>? builder = null, FakeTimeProvider? time = null, params string[] functions)
    {
        // Without xunit's synchronization context, continuations of completed delays run inline on the thread that
        // advances the clock: a call whose virtual time has passed has finished when Advance returns.
        SynchronizationContext.SetSynchronizationContext(null);
        Time = time ?? new FakeTimeProvider(Start);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        var b = services.AddOnDemandExecution(o =>
        {
            o.WarmingPoolSize = 0;
            o.PrewarmOnStart = false;
        });
        b.UseNoKeepAlive(); // every instance retires after its call: only pre-initialized ones can serve warm
        foreach (var name in functions.Length == 0 ? ["A", "B", "C"] : functions)
        {
            b.AddFunction(name, async (_, ct) =>
            {
                await Task.Delay(RunTime, Time, ct).ConfigureAwait(false); // resume on the timer: no sync context, deterministic
                return ReadOnlyMemory<byte>.Empty;
            });
        }

        b.AddPreTriggers(configure);
        builder?.Invoke(b);
        Services = services.BuildServiceProvider();
    }

    public static TimeSpan RunTime { get; } = TimeSpan.FromMilliseconds(500);

    public FakeTimeProvider Time { get; }

    public ServiceProvider Services { get; }

    public IFunctionExecutor Executor => Services.GetRequiredService<IFunctionExecutor>();

    public IInstancePoolManager Pools => Services.GetRequiredService<IInstancePoolManager>();

    public IPreTriggerCorrelator Correlator => Services.GetRequiredService<IPreTriggerCorrelator>();

    public List<CallResult> Results { get; } = [];

    /// <summary>Starts a call now (it finishes when virtual time passes its run time).</summary>
    public void Call(string function, string tenant = "t") =>
        _calls.Add((function, Executor.InvokeAsync(function, ReadOnlyMemory<byte>.Empty, new TenantId(tenant)).AsTask()));

    /// <summary>Moves virtual time in small steps (timers and delays fire in order), then collects the finished calls.</summary>
    public void Advance(TimeSpan by)
    {
        var step = TimeSpan.FromMilliseconds(50);
        for (var done = TimeSpan.Zero; done < by; done += step)
        {
            Time.Advance(by - done < step ? by - done : step);
        }

        for (var i = _calls.Count - 1; i >= 0; i--)
        {
            if (_calls[i].Call.IsCompleted)
            {
                Results.Add(new CallResult(_calls[i].Function, _calls[i].Call.GetAwaiter().GetResult().StartKind));
                _calls.RemoveAt(i);
            }
        }
    }

    /// <summary>One wave of a chain: <paramref name="trigger"/> (a call of A, or nothing when null), then after
    /// <paramref name="delay"/> <paramref name="count"/> calls of <paramref name="follower"/> 100 ms apart.</summary>
    public void Wave(string? trigger, string follower, int count, TimeSpan delay, string tenant = "t")
    {
        if (trigger is not null)
        {
            Call(trigger, tenant);
        }

        Advance(delay);
        for (var i = 0; i < count; i++)
        {
            Call(follower, tenant);
            Advance(TimeSpan.FromMilliseconds(100));
        }
    }

    public long Idle(string function, string tenant = "t") =>
        Pools.GetActivePools().Where(p => p.Function == function && p.Tenant == new TenantId(tenant)).Sum(p => p.Idle);

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

public readonly record struct CallResult(string Function, StartKind StartKind);
