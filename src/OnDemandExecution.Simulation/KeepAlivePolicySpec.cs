using Microsoft.Extensions.DependencyInjection;

namespace OnDemandExecution.Simulation;

/// <summary>A keep-alive policy to replay a trace with: a name for the tables and how to register it.</summary>
/// <param name="Name">The name shown in results.</param>
/// <param name="Configure">Registers the policy on the builder (for example <c>b =&gt; b.UsePeriodicKeepAlive()</c>).</param>
public sealed record KeepAlivePolicySpec(string Name, Action<IOnDemandExecutionBuilder> Configure)
{
    /// <summary>No keep-alive: every instance is retired when its call ends.</summary>
    public static KeepAlivePolicySpec None { get; } = new("no keep-alive", b => b.UseNoKeepAlive());

    /// <summary>A fixed keep-alive.</summary>
    /// <param name="keepAlive">The keep-alive.</param>
    /// <returns>The spec.</returns>
    public static KeepAlivePolicySpec Fixed(TimeSpan keepAlive) => new($"fixed {keepAlive.TotalMinutes:0.#} min", b => b.UseFixedKeepAlive(keepAlive));

    /// <summary>The hybrid histogram policy.</summary>
    /// <param name="configure">Adjusts its options.</param>
    /// <returns>The spec.</returns>
    public static KeepAlivePolicySpec HybridHistogram(Action<HybridHistogramOptions>? configure = null) => new("hybrid histogram", b => b.UseHybridHistogramKeepAlive(configure));

    /// <summary>The periodicity policy.</summary>
    /// <param name="configure">Adjusts its options.</param>
    /// <returns>The spec.</returns>
    public static KeepAlivePolicySpec Periodic(Action<PeriodicKeepAliveOptions>? configure = null) => new("periodic", b => b.UsePeriodicKeepAlive(configure));

    /// <summary>The adaptive capacity policy at one setting of its cost knob.</summary>
    /// <param name="coldStartCost">The price of a cold start in GB-seconds of idle memory (<see cref="AdaptiveCapacityOptions.ColdStartCost"/>).</param>
    /// <param name="configure">Adjusts its other options.</param>
    /// <returns>The spec, named "adaptive {coldStartCost}".</returns>
    public static KeepAlivePolicySpec Adaptive(double coldStartCost, Action<AdaptiveCapacityOptions>? configure = null) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"adaptive {coldStartCost:0.##}"), b => b.UseAdaptiveCapacity(o =>
        {
            o.ColdStartCost = coldStartCost;
            configure?.Invoke(o);
        }));

    /// <summary>The recurring-burst policy (a short keep-alive plus pre-loads ahead of hourly and half-hourly bursts).</summary>
    /// <param name="configure">Adjusts its options.</param>
    /// <returns>The spec, named "recurring burst".</returns>
    public static KeepAlivePolicySpec RecurringBurst(Action<RecurringBurstOptions>? configure = null) => new("recurring burst", b => b.UseRecurringBurstKeepAlive(configure));

    /// <summary>The four policies of the comparison: none, fixed 10 minutes, hybrid histogram, periodic.</summary>
    public static IReadOnlyList<KeepAlivePolicySpec> Standard { get; } = [None, Fixed(TimeSpan.FromMinutes(10)), HybridHistogram(), Periodic()];

    /// <summary>This policy plus the pre-trigger correlator (<c>AddPreTriggers</c>), named "{Name} + pre-triggers".</summary>
    /// <param name="configure">Configures the correlator (for example the functions whose calls are implicit pre-triggers).</param>
    /// <returns>The spec.</returns>
    public KeepAlivePolicySpec WithPreTriggers(Action<PreTriggerOptions>? configure = null) => new($"{Name} + pre-triggers", b =>
    {
        Configure(b);
        b.AddPreTriggers(configure);
    });

    /// <inheritdoc />
    public override string ToString() => Name;
}
