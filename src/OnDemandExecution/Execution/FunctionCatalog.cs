using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Execution;

/// <summary>The registered functions, checked against the provider and the options when they are added.</summary>
internal sealed class FunctionCatalog : IFunctionCatalog
{
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

        if (!_functions.TryAdd(function.Name, function))
        {
            throw new ArgumentException($"A function named '{function.Name}' is already registered; function names must be unique.", nameof(definition));
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

        PositiveTime(f.Name, nameof(f.Timeout), f.Timeout);
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
