using System.Diagnostics.CodeAnalysis;

namespace OnDemandExecution.Pooling;

/// <summary>
/// Every pool of the host, one per registered provider: the default one (<c>AddProvider&lt;T&gt;()</c>, in-process unless
/// replaced) and one per named provider (<c>AddProvider&lt;T&gt;(name)</c>). A function's pool is looked up once, when the
/// executor first sees its definition, never per call.
/// </summary>
internal sealed class ProviderPools
{
    /// <summary>The name that always means the host's default provider (a function with no provider name uses it too).</summary>
    public const string DefaultName = "default";

    private readonly Dictionary<string, PoolManager> _byName = new(StringComparer.Ordinal);

    public ProviderPools(PoolManager defaultPool, IEnumerable<PoolManager>? named = null)
    {
        ArgumentNullException.ThrowIfNull(defaultPool);
        Default = defaultPool;
        _byName[DefaultName] = defaultPool;
        var all = new List<PoolManager> { defaultPool };
        foreach (var pool in named ?? [])
        {
            if (!_byName.TryAdd(pool.Name, pool))
            {
                throw new InvalidOperationException($"Two providers are registered under the name '{pool.Name}'; provider names must be unique.");
            }

            all.Add(pool);
        }

        All = all;
        foreach (var pool in all)
        {
            pool.Registry = this;
        }
    }

    /// <summary>The default provider's pool.</summary>
    public PoolManager Default { get; }

    /// <summary>Every pool, the default one first.</summary>
    public IReadOnlyList<PoolManager> All { get; }

    /// <summary>The registered names, <see cref="DefaultName"/> first.</summary>
    public IEnumerable<string> Names => All.Select(p => p.Name);

    /// <summary>The pool of the provider named <paramref name="providerName"/> (null or <see cref="DefaultName"/>: the default one).</summary>
    public bool TryGet(string? providerName, [NotNullWhen(true)] out PoolManager? pool)
    {
        if (providerName is null)
        {
            pool = Default;
            return true;
        }

        return _byName.TryGetValue(providerName, out pool);
    }

    /// <summary>The pool that runs <paramref name="function"/>.</summary>
    /// <exception cref="InvalidOperationException">The function names a provider that is not registered.</exception>
    public PoolManager For(FunctionDefinition function) =>
        TryGet(function.ProviderName, out var pool)
            ? pool
            : throw new InvalidOperationException(UnknownProviderMessage(function));

    /// <summary>The message for a function that names an unregistered provider.</summary>
    public string UnknownProviderMessage(FunctionDefinition function) =>
        $"Function '{function.Name}' names provider '{function.ProviderName}', which is not registered (registered: {string.Join(", ", Names.Select(n => "'" + n + "'"))}). Register it with AddProvider<TProvider>(\"{function.ProviderName}\") or leave ProviderName null for the default provider.";
}
