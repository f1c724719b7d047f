using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Execution;

/// <summary>The registered functions, checked against the provider and the options when they are added.</summary>
internal sealed class FunctionCatalog : IFunctionCatalog
{
    /// <summary>
    /// The longest <see cref="FunctionDefinition.Timeout"/> a timer can run for (2^32 - 2 ms, about 49.7 days); use
    /// <see cref="Timeout.InfiniteTimeSpan"/> for no timeout.
    /// </summary>
    internal static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly ConcurrentDictionary<string, FunctionDefinition> _functions = new(StringComparer.Ordinal);
    private readonly IInstanceProvider _provider;

    public FunctionCatalog(IEnumerable<FunctionDefinition> functions, IInstanceProvider provider, IOptions<OnDemandExecutionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(functions);
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(options);
        _provider = provider;
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
        var function = definition;
        ArgumentNullException.ThrowIfNull(function);
        Validate(function);
        if (!_provider.CanLoad(function.Code))
        {
            throw new ArgumentException(
                $"Function '{function.Name}': provider '{_provider.Name}' cannot load {function.Code.Kind} code. Register a provider that can, or ship the function in a form this one loads.",
                nameof(definition));
        }

        // An assembly function's file is on this host: check it now, so that a wrong path fails the start, not a call.
        if (function.Code is AssemblyFunctionCode assembly && InProcess.AssemblyFunctionFiles.Check(assembly) is { } problem)
        {
            throw new ArgumentException($"Function '{function.Name}': {problem}. Check the path and type name given to AddAssemblyFunction.", nameof(definition));
        }

        foreach (var sidecar in function.Sidecars)
        {
            var provider = sidecar.Provider ?? _provider;
            if (!provider.CanLoad(sidecar.Code))
            {
                throw new ArgumentException(
                    $"Function '{function.Name}': provider '{provider.Name}' cannot load the {sidecar.Code.Kind} code of sidecar '{sidecar.Name}'. Give the sidecar a provider that can (SidecarDefinition.Provider).",
                    nameof(definition));
            }
        }

        if (!_functions.TryAdd(function.Name, function))
        {
            throw new ArgumentException($"A function named '{function.Name}' is already registered; function names must be unique.", nameof(definition));
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
