using OnDemandExecution.Pooling;

namespace OnDemandExecution.Capabilities;

/// <summary>
/// Ranks the functions that provide a capability for one tenant: expected execution time (learned) plus the cost of
/// getting an instance now, read from the pools without a scan (the tenant's active pool for the function, then the
/// warming pool's size). Ties go to the function whose name sorts first (ordinal), so the choice is deterministic.
/// </summary>
internal sealed class CapabilityRouter
{
    private readonly IFunctionCatalog _catalog;
    private readonly ProviderPools _pools;
    private readonly ExecutionCostModel _costs;
    private Index _index = new(-1, new Dictionary<string, FunctionDefinition[]>(StringComparer.Ordinal));

    public CapabilityRouter(IFunctionCatalog catalog, ProviderPools pools, ExecutionCostModel costs, Microsoft.Extensions.Options.IOptions<OnDemandExecutionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(costs);
        ArgumentNullException.ThrowIfNull(options);
        _catalog = catalog;
        _pools = pools;
        _costs = costs;
        _ = options.Value;
    }

    public ExecutionCostModel Costs => _costs;

    public IReadOnlyList<CapabilityCandidate> Rank(string capability, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(capability);
        tenant = tenant.IsEmpty ? TenantId.Default : tenant;
        if (!GetIndex().Providers.TryGetValue(capability, out var providers))
        {
            return [];
        }

        var candidates = new CapabilityCandidate[providers.Length];
        for (var i = 0; i < providers.Length; i++)
        {
            var function = providers[i];
            var kind = StartKind.Cold;
            var pool = _pools.TryGet(function.ProviderName, out var p) ? p : _pools.Default; // each function is ranked on its own provider's pools
            if (pool.Slots.TryGetKey(tenant, function.Name, out var key) && SlotAllocator.CountKey(key).Idle > 0)
            {
                kind = StartKind.Warm;
            }
            else if (pool.Slots.WarmCount > 0 && (function.MemoryMb is null || function.MemoryMb <= pool.Options.WarmInstance.MemoryMb))
            {
                kind = StartKind.WarmPool;
            }

            candidates[i] = new CapabilityCandidate(function.Name, kind, _costs.ExpectedStart(function.Name, kind), _costs.ExpectedExecution(function.Name));
        }

        Array.Sort(candidates, static (a, b) =>
        {
            var byCost = a.TotalCost.CompareTo(b.TotalCost);
            return byCost != 0 ? byCost : string.CompareOrdinal(a.FunctionName, b.FunctionName);
        });
        return candidates;
    }

    /// <summary>The capability index, rebuilt when functions were registered since (functions are never removed).</summary>
    private Index GetIndex()
    {
        var index = Volatile.Read(ref _index);
        var functions = _catalog.Functions;
        if (index.FunctionCount == functions.Count)
        {
            return index;
        }

        var providers = new Dictionary<string, List<FunctionDefinition>>(StringComparer.Ordinal);
        var count = 0;
        foreach (var function in functions)
        {
            count++;
            foreach (var capability in function.Capabilities)
            {
                if (!providers.TryGetValue(capability, out var list))
                {
                    providers[capability] = list = [];
                }

                if (!list.Contains(function))
                {
                    list.Add(function);
                }
            }
        }

        index = new Index(count, providers.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal));
        Volatile.Write(ref _index, index);
        return index;
    }

    private sealed record Index(int FunctionCount, Dictionary<string, FunctionDefinition[]> Providers);
}
