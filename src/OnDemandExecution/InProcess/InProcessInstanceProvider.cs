namespace OnDemandExecution.InProcess;

/// <summary>
/// The embedded default provider: instances are contexts inside the host process. Fast (creating one costs
/// microseconds) and isolating nothing: use it for trusted code, tests and development, or as the executor of a
/// sandbox that already isolates the whole process.
/// </summary>
/// <remarks>
/// Loads <see cref="DelegateFunctionCode"/>, <see cref="HandlerTypeFunctionCode"/> (created through DI once per
/// instance) and <see cref="AssemblyFunctionCode"/> (loaded into a collectible
/// <see cref="System.Runtime.Loader.AssemblyLoadContext"/> per instance, unloaded on recycle).
/// </remarks>
internal sealed class InProcessInstanceProvider : IInstanceProvider
{
    private static readonly InstanceProviderCapabilities InProcessCapabilities = new()
    {
        Isolation = IsolationLevel.None,
        SupportsRecycle = true,
    };

    private readonly IServiceProvider _services;
    private long _nextId;

    public InProcessInstanceProvider(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        _services = services;
    }

    public string Name => "in-process";

    public InstanceProviderCapabilities Capabilities => InProcessCapabilities;

    public bool CanLoad(FunctionCode code) => code is DelegateFunctionCode or HandlerTypeFunctionCode or AssemblyFunctionCode;

    public ValueTask<IInstance> CreateAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        cancellationToken.ThrowIfCancellationRequested();
        var id = "inproc-" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ValueTask<IInstance>(new InProcessInstance(id, _services));
    }
}
