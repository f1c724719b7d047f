using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.Execution;

/// <summary>The registered functions, checked against their provider and the options when they are added.</summary>
internal sealed partial class FunctionCatalog : IFunctionCatalog
{
    /// <summary>
    /// The longest <see cref="FunctionDefinition.Timeout"/> a timer can run for (2^32 - 2 ms, about 49.7 days); use
    /// <see cref="Timeout.InfiniteTimeSpan"/> for no timeout.
    /// </summary>
    internal static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly ConcurrentDictionary<string, FunctionDefinition> _functions = new(StringComparer.Ordinal);
    private readonly ProviderPools _pools;

    public FunctionCatalog(IEnumerable<FunctionDefinition> functions, ProviderPools pools, IOptions<OnDemandExecutionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(functions);
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(options);
        _pools = pools;
        _ = options.Value; // validates the options at the same time as the functions
        foreach (var function in functions)
        {
            Register(function);
        }
    }

    public IReadOnlyCollection<FunctionDefinition> Functions => (IReadOnlyCollection<FunctionDefinition>)_functions.Values;

    public bool TryGetFunction(string name, [NotNullWhen(true)] out FunctionDefinition? definition)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _functions.TryGetValue(name, out definition);
    }

    public void Register(FunctionDefinition definition)
    {
        var pool = Check(definition);
        if (!_functions.TryAdd(definition.Name, definition))
        {
            throw new ArgumentException($"A function named '{definition.Name}' is already registered; function names must be unique.", nameof(definition));
        }

        pool.TrackProvisioned(definition);
    }

    /// <summary>Raised with a function's name after it was replaced or removed.</summary>
    internal event Action<string>? FunctionChanged;

    public void Replace(FunctionDefinition definition)
    {
        var pool = Check(definition);
        while (true)
        {
            if (!_functions.TryGetValue(definition.Name, out var old))
            {
                throw new ArgumentException($"No function named '{definition.Name}' is registered; register it instead of replacing it.", nameof(definition));
            }

            if (_functions.TryUpdate(definition.Name, definition, old))
            {
                Drain(old);
                pool.TrackProvisioned(definition);
                FunctionChanged?.Invoke(definition.Name);
                return;
            }
        }
    }

    public bool Remove(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_functions.TryRemove(name, out var old))
        {
            return false;
        }

        Drain(old);
        FunctionChanged?.Invoke(name);
        return true;
    }

    /// <summary>Changes only a function's provisioned floor (a configuration reload): no drain, its instances stay.</summary>
    internal void UpdateProvisioned(string name, ProvisionedConcurrency? floor)
    {
        while (_functions.TryGetValue(name, out var old))
        {
            var updated = old with { ProvisionedConcurrency = floor };
            var pool = Check(updated);
            if (_functions.TryUpdate(name, updated, old))
            {
                pool.TrackProvisioned(updated);
                return;
            }
        }
    }

    private void Drain(FunctionDefinition old)
    {
        if (_pools.TryGet(old.ProviderName, out var pool))
        {
            pool.Drain(old); // also drops its provisioned floor
        }
    }

    /// <summary>Validates a definition against the options and its provider; returns the pool of its provider.</summary>
    private PoolManager Check(FunctionDefinition definition)
    {
        var function = definition;
        ArgumentNullException.ThrowIfNull(function);
        Validate(function);
        if (!_pools.TryGet(function.ProviderName, out var pool))
        {
            throw new ArgumentException(_pools.UnknownProviderMessage(function), nameof(definition));
        }

        var functionProvider = pool.Provider;
        if (!functionProvider.CanLoad(function.Code))
        {
            throw new ArgumentException(
                $"Function '{function.Name}': provider '{functionProvider.Name}' ('{pool.Name}') cannot load {function.Code.Kind} code. Register a provider that can, or ship the function in a form this one loads.",
                nameof(definition));
        }

        ValidateProvisioned(function, pool);
        // An assembly function's file is on this host: check it now, so that a wrong path fails the start, not a call.
        if (function.Code is AssemblyFunctionCode assembly && InProcess.AssemblyFunctionFiles.Check(assembly) is { } problem)
        {
            throw new ArgumentException($"Function '{function.Name}': {problem}. Check the path and type name given to AddAssemblyFunction.", nameof(definition));
        }

        foreach (var sidecar in function.Sidecars)
        {
            var provider = sidecar.Provider ?? _pools.Default.Provider;
            if (!provider.CanLoad(sidecar.Code))
            {
                throw new ArgumentException(
                    $"Function '{function.Name}': provider '{provider.Name}' cannot load the {sidecar.Code.Kind} code of sidecar '{sidecar.Name}'. Give the sidecar a provider that can (SidecarDefinition.Provider).",
                    nameof(definition));
            }
        }

        return pool;
    }

    /// <summary>Checks a provisioned floor: tenants, windows, and that every floor of the provider fits its MaxInstances.</summary>
    private static void ValidateProvisioned(FunctionDefinition definition, PoolManager pool)
    {
        var f = definition;
        if (f.ProvisionedConcurrency is not { } floor)
        {
            return;
        }

        if (floor.Tenants is null || floor.Schedule is null || floor.Schedule.Any(w => w is null || w.Days is null))
        {
            throw new ArgumentException($"Function '{f.Name}': ProvisionedConcurrency.Tenants and Schedule must not be null or hold nulls (leave them empty).", nameof(definition));
        }

        if (floor.Tenants.Any(t => t.IsEmpty) || floor.Tenants.Distinct().Count() != floor.Tenants.Count)
        {
            throw new ArgumentException($"Function '{f.Name}': ProvisionedConcurrency.Tenants must be distinct, non-empty tenant ids.", nameof(definition));
        }

        var perTenant = pool.Options.InstancesPerTenantLimit;
        if (floor.Count > perTenant)
        {
            throw new ArgumentException(
                $"Function '{f.Name}': ProvisionedConcurrency.Count ({floor.Count}) is above the instances one tenant may hold on provider '{pool.Name}' ({perTenant}, {nameof(OnDemandExecutionOptions.MaxInstancesPerTenant)}). Lower the count or raise the limit.",
                nameof(definition));
        }

        var max = pool.Options.MaxInstances;
        long others = 0;
        foreach (var other in pool.ProvisionedFunctions)
        {
            if (other.Name != f.Name)
            {
                others += (long)other.ProvisionedConcurrency!.Count * other.ProvisionedConcurrency.EffectiveTenants.Count;
            }
        }

        var wanted = (long)floor.Count * floor.EffectiveTenants.Count;
        if (others + wanted > max)
        {
            throw new ArgumentException(
                $"Function '{f.Name}': ProvisionedConcurrency asks for {wanted} instances ({floor.Count} for each of {floor.EffectiveTenants.Count} tenants) and the provider '{pool.Name}' already keeps {others} for other functions, above its MaxInstances ({max}). Lower the counts or raise {nameof(OnDemandExecutionOptions.MaxInstances)}.",
                nameof(definition));
        }
    }

    /// <summary>Checks sidecars, capabilities and idempotency (docs/sidecars.md, docs/capabilities.md, docs/idempotency.md).</summary>
    private static void ValidateExtensions(FunctionDefinition definition)
    {
        var f = definition;
        if (f.Sidecars is null || f.Capabilities is null)
        {
            throw new ArgumentException($"Function '{f.Name}': {nameof(f.Sidecars)} and {nameof(f.Capabilities)} must not be null (leave them empty).", nameof(definition));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sidecar in f.Sidecars)
        {
            if (sidecar is null || !names.Add(sidecar.Name))
            {
                throw new ArgumentException($"Function '{f.Name}': sidecars must be non-null and have unique names ('{sidecar?.Name}' is not).", nameof(definition));
            }

            if (sidecar.MemoryMb is <= 0)
            {
                throw new ArgumentException($"Function '{f.Name}': MemoryMb of sidecar '{sidecar.Name}' must be greater than zero (was {sidecar.MemoryMb}).", nameof(definition));
            }
        }

        foreach (var capability in f.Capabilities)
        {
            if (string.IsNullOrWhiteSpace(capability))
            {
                throw new ArgumentException($"Function '{f.Name}': capability names must not be empty.", nameof(definition));
            }
        }

        if (f.Idempotency is { } idempotency)
        {
            if (idempotency.Dependencies is null || idempotency.Dependencies.Any(string.IsNullOrWhiteSpace))
            {
                throw new ArgumentException($"Function '{f.Name}': idempotency dependencies must be a list of non-empty names.", nameof(definition));
            }

            if (idempotency.ResultTimeToLive is { } ttl && ttl <= TimeSpan.Zero && ttl != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentException($"Function '{f.Name}': ResultTimeToLive must be greater than zero (was {ttl}).", nameof(definition));
            }
        }
    }

    // Named like Register's parameter: the ArgumentException's ParamName is what callers see.
    private static void Validate(FunctionDefinition definition)
    {
        var f = definition;

        static void Positive(string fn, string name, int? value)
        {
            if (value is <= 0)
            {
                throw new ArgumentException($"Function '{fn}': {name} must be greater than zero (was {value}).", nameof(definition));
            }
        }

        static void PositiveTime(string fn, string name, TimeSpan? value)
        {
            if (value is { } v && v <= TimeSpan.Zero && v != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentException($"Function '{fn}': {name} must be greater than zero (was {v}).", nameof(definition));
            }
        }

        Positive(f.Name, nameof(f.MemoryMb), f.MemoryMb);
        Positive(f.Name, nameof(f.MaxConcurrency), f.MaxConcurrency);
        Positive(f.Name, nameof(f.MaxPayloadBytes), f.MaxPayloadBytes);
        if (f.MaxQueueLength is < 0)
        {
            throw new ArgumentException($"Function '{f.Name}': {nameof(f.MaxQueueLength)} must not be negative (was {f.MaxQueueLength}).", nameof(definition));
        }

        ValidateExtensions(f);
        PositiveTime(f.Name, nameof(f.Timeout), f.Timeout);
        if (f.Timeout is { } timeout && timeout != Timeout.InfiniteTimeSpan && timeout > MaxTimeout)
        {
            throw new ArgumentException(
                $"Function '{f.Name}': {nameof(f.Timeout)} must be at most {MaxTimeout} (about 49.7 days, the longest a timer runs) or Timeout.InfiniteTimeSpan for none (was {timeout}).",
                nameof(definition));
        }

        PositiveTime(f.Name, nameof(f.KeepAlive), f.KeepAlive);
        if (f.TaskProfile is { } profile)
        {
            foreach (var (endpoint, likelihood) in profile.AuxiliaryEndpoints)
            {
                if (!(likelihood is >= 0 and <= 1))
                {
                    throw new ArgumentException($"Function '{f.Name}': the likelihood of auxiliary endpoint '{endpoint}' must be in [0, 1] (was {likelihood}).", nameof(definition));
                }
            }
        }
    }
}
