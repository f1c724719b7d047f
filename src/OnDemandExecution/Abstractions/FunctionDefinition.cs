using System.Text.RegularExpressions;

namespace OnDemandExecution;

/// <summary>A function the executor can run: its name, code and limits.</summary>
/// <remarks>Limits left null take the defaults from <see cref="OnDemandExecutionOptions"/>.</remarks>
public sealed partial record FunctionDefinition
{
    /// <summary>Creates a definition.</summary>
    /// <param name="name">A unique name: letters, digits, '.', '-', '_' and '/', 1 to 128 characters.</param>
    /// <param name="code">Where the function's code comes from.</param>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    public FunctionDefinition(string name, FunctionCode code)
    {
        ArgumentNullException.ThrowIfNull(code);
        if (string.IsNullOrEmpty(name) || !NamePattern().IsMatch(name))
        {
            throw new ArgumentException(
                $"Function name '{name}' is not valid: use 1 to 128 letters, digits, '.', '-', '_' or '/'.", nameof(name));
        }

        Name = name;
        Code = code;
    }

    /// <summary>
    /// A definition for the library's own pools (sidecars): <paramref name="name"/> is not checked against the pattern of
    /// registered names, so a name with a character that pattern refuses (':') lives in a key space no registered
    /// function can reach.
    /// </summary>
    internal FunctionDefinition(string name, FunctionCode code, bool internalName)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (internalName && NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"Internal function name '{name}' must not be a name users can register.", nameof(name));
        }

        Name = name;
        Code = code;
    }

    /// <summary>The prefix of the pool names of sidecars ("sidecar:{name}"); ':' is not allowed in registered names.</summary>
    internal const string SidecarPrefix = "sidecar:";

    /// <summary>The unique name callers invoke it by.</summary>
    public string Name { get; }

    /// <summary>Where the function's code comes from.</summary>
    public FunctionCode Code { get; }

    /// <summary>Memory the function needs, in MiB; a larger value than the warming pool's instances forces a sized cold start.</summary>
    public int? MemoryMb { get; init; }

    /// <summary>How long one execution may run before it is cancelled and fails with <see cref="InvocationTimeoutException"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>How many executions of this function may run at once (across tenants).</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>How many requests may wait for a free execution slot before new ones fail with <see cref="QueueFullException"/>.</summary>
    public int? MaxQueueLength { get; init; }

    /// <summary>The largest accepted payload, in bytes; larger ones fail with <see cref="PayloadTooLargeException"/>.</summary>
    public int? MaxPayloadBytes { get; init; }

    /// <summary>How long an idle, loaded instance is kept for its tenant before it is recycled or destroyed.</summary>
    public TimeSpan? KeepAlive { get; init; }

    /// <summary>What the function is known to do besides computing (for placement); null when unknown.</summary>
    public TaskProfile? TaskProfile { get; init; }

    /// <summary>
    /// Sidecars (auxiliary functions such as log shipping, a proxy or a cache) that run beside the function's instances,
    /// each with its scope; empty (the default) provisions none. See docs/sidecars.md.
    /// </summary>
    public IReadOnlyList<SidecarDefinition> Sidecars { get; init; } = [];

    /// <summary>
    /// Capabilities the function provides (for example "resize-image"): calls by capability
    /// (<see cref="ICapabilityInvoker"/>) choose among the functions that provide one. See docs/capabilities.md.
    /// </summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>
    /// Declares the function idempotent: a request with the same input whose dependencies are in the same state as at
    /// a prior successful execution returns the stored result without running. Null (the default): always run. See
    /// docs/idempotency.md.
    /// </summary>
    public IdempotencyDefinition? Idempotency { get; init; }

    /// <summary>
    /// The name of the provider whose instances run the function (registered with
    /// <c>AddProvider&lt;TProvider&gt;(name)</c>); null (the default) or <c>"default"</c>: the host's default provider.
    /// Each provider has its own pools, so an instance of one provider never serves a function of another. See
    /// docs/providers/multiple.md.
    /// </summary>
    public string? ProviderName { get; init; }

    /// <summary>
    /// Instances kept loaded and idle-ready for this function whatever the traffic (a warm floor), optionally per tenant
    /// and inside schedule windows. Null (the default): none. See docs/pools.md#provisioned-concurrency.
    /// </summary>
    public ProvisionedConcurrency? ProvisionedConcurrency { get; init; }

    [GeneratedRegex(@"\A[A-Za-z0-9._/-]{1,128}\z", RegexOptions.CultureInvariant)] // \z: "$" would also match before a final newline
    private static partial Regex NamePattern();
}
