namespace OnDemandExecution;

/// <summary>
/// Creates instances: the sandboxes functions run in. The pools call it to fill the warming pool and for cold
/// starts; everything after creation goes through <see cref="IInstance"/>.
/// </summary>
/// <remarks>
/// <para>How the shipped providers map onto this contract:</para>
/// <list type="bullet">
/// <item><description><b>In-process</b> (default): <see cref="CreateAsync"/> returns an empty context at once;
/// <see cref="IInstance.LoadAsync"/> binds a delegate, builds a handler type from DI, or loads an assembly into a
/// collectible <c>AssemblyLoadContext</c>; recycle unloads it. No isolation.</description></item>
/// <item><description><b>KVM</b>: <see cref="CreateAsync"/> starts a QEMU microvm (or restores one from a snapshot
/// with <c>-incoming</c>) and waits for the guest agent's ready frame; load and invoke are agent frames over
/// virtio-serial; pause/resume are QMP <c>stop</c>/<c>cont</c>; recycle reboots or re-restores the guest.</description></item>
/// <item><description><b>Hyper-V</b>: <see cref="CreateAsync"/> creates and starts a compute system through the Host
/// Compute Service (<c>HcsCreateComputeSystem</c>, <c>HcsStartComputeSystem</c>); pause/resume and save map to the
/// HCS calls of the same names.</description></item>
/// </list>
/// <para>Third parties implement this interface and register it with
/// <c>builder.AddProvider&lt;TProvider&gt;()</c>. Implementations must be thread-safe.</para>
/// </remarks>
public interface IInstanceProvider
{
    /// <summary>A short, stable name used in logs and metrics ("in-process", "kvm", "hyperv").</summary>
    string Name { get; }

    /// <summary>What the provider supports.</summary>
    InstanceProviderCapabilities Capabilities { get; }

    /// <summary>Whether this provider can load the given kind of code.</summary>
    /// <param name="code">The function's code reference.</param>
    /// <returns>True when <see cref="IInstance.LoadAsync"/> accepts it.</returns>
    bool CanLoad(FunctionCode code);

    /// <summary>Creates a pre-initialized, unassigned instance (booted, agent ready, no function code).</summary>
    /// <param name="spec">The instance's shape.</param>
    /// <param name="cancellationToken">Cancels the creation; the provider must then release whatever it started.</param>
    /// <returns>The ready instance.</returns>
    /// <exception cref="InstanceProviderException">The instance could not be created.</exception>
    ValueTask<IInstance> CreateAsync(InstanceSpec spec, CancellationToken cancellationToken);
}
