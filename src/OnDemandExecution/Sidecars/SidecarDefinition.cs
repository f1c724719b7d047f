using System.Text.RegularExpressions;

namespace OnDemandExecution;

/// <summary>
/// An auxiliary function (log shipping, metrics, a secrets or network proxy, a cache) that runs in its own instance
/// beside the instances of the function that declares it (<see cref="FunctionDefinition.Sidecars"/>).
/// </summary>
/// <remarks>
/// A sidecar is started only for functions that declare it, when their first request needs it; it is assigned to one
/// tenant and only that tenant's invocations can call it. Two functions that declare equal <see cref="SidecarScope.PerUser"/>
/// definitions share one sidecar per tenant.
/// </remarks>
public sealed partial record SidecarDefinition
{
    /// <summary>Creates a definition.</summary>
    /// <param name="name">The name handlers reach it by: letters, digits, '.', '-' and '_', 1 to 64 characters.</param>
    /// <param name="code">What the sidecar runs; it is invoked with the payloads handlers send it.</param>
    /// <param name="scope">Which primary instances it serves.</param>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    public SidecarDefinition(string name, FunctionCode code, SidecarScope scope = SidecarScope.PerTask)
    {
        ArgumentNullException.ThrowIfNull(code);
        if (string.IsNullOrEmpty(name) || !NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"Sidecar name '{name}' is not valid: use 1 to 64 letters, digits, '.', '-' or '_'.", nameof(name));
        }

        if (!Enum.IsDefined(scope))
        {
            throw new ArgumentOutOfRangeException(nameof(scope), scope, "Unknown sidecar scope.");
        }

        Name = name;
        Code = code;
        Scope = scope;
    }

    /// <summary>The name handlers reach the sidecar by (unique among one function's sidecars).</summary>
    public string Name { get; }

    /// <summary>What the sidecar runs.</summary>
    public FunctionCode Code { get; }

    /// <summary>Which primary instances one sidecar serves.</summary>
    public SidecarScope Scope { get; }

    /// <summary>
    /// The provider that creates the sidecar's instance. Null (the default): the executor's provider, through the
    /// pools (a warming-pool instance when one is ready, else a cold start). A dedicated provider creates one instance
    /// per sidecar, outside the pools.
    /// </summary>
    public IInstanceProvider? Provider { get; init; }

    /// <summary>Memory the sidecar needs, in MiB; null for the warming pool's instance size.</summary>
    public int? MemoryMb { get; init; }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
