using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Orleans;
using OnDemandExecution.Orleans.History;

namespace Orleans.Hosting;

/// <summary>Shares the pre-trigger correlator's history between the silos of a cluster.</summary>
public static class ClusterPreTriggerHistorySiloBuilderExtensions
{
    /// <summary>
    /// Keeps this silo's pre-trigger history (<see cref="IPreTriggerHistoryStore"/>) in grains persisted to the grain
    /// storage named by <see cref="ClusterPreTriggerHistoryOptions.StorageName"/>, one history for the whole cluster: a
    /// pre-trigger's windows learned on one silo are read by any other, and survive the silo that learned them. Replaces
    /// any other history store (in memory, SQLite). Register the named grain storage on every silo; use with
    /// <c>AddPreTriggers(...)</c> (in either order).
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Configures <see cref="ClusterPreTriggerHistoryOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder UseClusterPreTriggerHistory(this ISiloBuilder builder, Action<ClusterPreTriggerHistoryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<ClusterPreTriggerHistoryOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterPreTriggerHistoryOptions>, ClusterPreTriggerHistoryOptionsValidator>());
        services.RemoveAll<IPreTriggerHistoryStore>();
        services.AddSingleton<IPreTriggerHistoryStore>(sp => new ClusterPreTriggerHistoryStore(
            sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<IOptions<PreTriggerOptions>>()));
        return builder;
    }
}
