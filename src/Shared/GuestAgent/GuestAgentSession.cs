using System.Security.Cryptography;
using System.Text;

namespace OnDemandExecution.GuestAgent;

/// <summary>What a <see cref="GuestAgentSession"/> needs from the instance that owns it (KVM or Hyper-V).</summary>
internal interface IGuestAgentHost
{
    /// <summary>The instance id, for error messages.</summary>
    string InstanceId { get; }

    /// <summary>The provider name, for <see cref="InstanceProviderException.ProviderName"/>.</summary>
    string ProviderName { get; }

    /// <summary>Throws when the instance is disposed or dead (<see cref="Died"/>); resumes it when it is paused.</summary>
    Task EnsureRunningAsync(string? function, CancellationToken cancellationToken);

    /// <summary>Whether the guest is paused (a paused guest cannot answer HEALTH).</summary>
    bool IsPaused { get; }

    /// <summary>Marks the instance dead for <paramref name="reason"/> (first reason wins).</summary>
    void MarkDead(string reason);

    /// <summary>The exception for a call on a dead instance.</summary>
    InstanceDiedException Died(string? function, Exception? inner);
}

/// <summary>
/// The instance side of the guest-agent protocol, shared by the KVM and Hyper-V instances: load, invoke, recycle,
/// health, cancel and seed over one <see cref="AgentChannel"/>, with the mapping of agent failures to the library's
/// exceptions (a closed channel, a malformed frame or a control request without an answer means the instance died;
/// an ERROR answer is a refused request; a non-zero exit is the function's own failure).
/// </summary>
internal sealed class GuestAgentSession
{
    /// <summary>How many bytes of host entropy SEED sends.</summary>
    public const int SeedBytes = 64;

    private readonly IGuestAgentHost _host;
    private readonly TimeSpan _agentTimeout;
    private string? _loadedFunction;

    public GuestAgentSession(AgentChannel channel, IGuestAgentHost host, TimeSpan agentTimeout)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(host);
        Channel = channel;
        _host = host;
        _agentTimeout = agentTimeout;
    }

    /// <summary>The channel (for tests and for requests the session does not wrap).</summary>
    public AgentChannel Channel { get; }

    /// <summary>What the agent said in READY (null before <see cref="HelloAsync"/>).</summary>
    public AgentHello? Hello { get; private set; }

    /// <summary>The agent's SEED status of the last reseed (<c>reseed=... boot_id=...</c>), or null.</summary>
    public string? LastSeed { get; private set; }

    /// <summary>The loaded function's name, or null.</summary>
    public string? LoadedFunction => _loadedFunction;

    /// <summary>Whether the channel is still open.</summary>
    public bool IsOpen => Channel.ClosedBecause is null;

    /// <summary>HELLO -> READY; checks the protocol version.</summary>
    public async Task<AgentHello> HelloAsync(CancellationToken cancellationToken)
    {
        var hello = await Channel.HelloAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        if (hello.ProtocolVersion != AgentFrameCodec.ProtocolVersion)
        {
            throw new AgentProtocolException(AgentProtocolError.BadMagic, $"The guest agent speaks protocol version {hello.ProtocolVersion}; this host speaks {AgentFrameCodec.ProtocolVersion}.");
        }

        Hello = hello;
        return hello;
    }

    /// <summary>
    /// SEED with <see cref="SeedBytes"/> fresh bytes from the host's CSPRNG: the guest's RNG no longer shares the
    /// snapshot's state. Returns false (and sends nothing) when the agent does not implement SEED.
    /// </summary>
    public async Task<bool> SeedAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (Hello is not { CanSeed: true })
        {
            return false;
        }

        var entropy = RandomNumberGenerator.GetBytes(SeedBytes);
        try
        {
            LastSeed = await Channel.SeedAsync(entropy, instanceId, _agentTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(entropy);
        }

        return true;
    }

    public async ValueTask LoadAsync(FunctionDefinition definition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.Code is not ProgramFunctionCode program)
        {
            throw new InstanceProviderException($"The {_host.ProviderName} provider runs programs (ProgramFunctionCode), not {definition.Code.Kind} code (function '{definition.Name}').") { FunctionName = definition.Name, ProviderName = _host.ProviderName };
        }

        if (_loadedFunction is not null)
        {
            throw new InvalidOperationException($"Instance {_host.InstanceId} already holds function '{_loadedFunction}'; recycle it before loading '{definition.Name}'.");
        }

        await _host.EnsureRunningAsync(definition.Name, cancellationToken).ConfigureAwait(false);
        await ControlAsync(definition.Name, async ct =>
        {
            if (program.Files is { } files)
            {
                foreach (var (path, content) in files)
                {
                    if (!AgentFrameCodec.IsValidToken(path) || path.Contains("..", StringComparison.Ordinal))
                    {
                        throw new InstanceProviderException($"File path '{path}' of function '{definition.Name}' is not valid: use printable ASCII without spaces or '..'.") { FunctionName = definition.Name, ProviderName = _host.ProviderName };
                    }

                    await Channel.WriteFileAsync(path, content, _agentTimeout, ct).ConfigureAwait(false);
                }
            }

            await Channel.LoadAsync(program.Command, _agentTimeout, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        _loadedFunction = definition.Name;
    }

    public async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_loadedFunction is null)
        {
            throw new InvalidOperationException($"Instance {_host.InstanceId} has no function loaded.");
        }

        await _host.EnsureRunningAsync(request.FunctionName, cancellationToken).ConfigureAwait(false);
        AgentInvokeResult result;
        try
        {
            result = await Channel.InvokeAsync(request.Payload, request.InvocationId, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the program may still run in the guest: StopWorkAsync (CANCEL) stops it; its late RESULT is dropped by id
            throw;
        }
        catch (Exception ex) when (ex is AgentChannelClosedException || (ex is AgentProtocolException p && p.Error != AgentProtocolError.AgentError))
        {
            _host.MarkDead(ex.Message);
            throw _host.Died(request.FunctionName, ex);
        }
        catch (AgentProtocolException ex)
        {
            throw new InstanceProviderException($"The guest agent of instance {_host.InstanceId} refused INVOKE: {ex.Message}", ex) { FunctionName = request.FunctionName, ProviderName = _host.ProviderName };
        }

        if (result.ExitCode != 0)
        {
            var stderr = Encoding.UTF8.GetString(result.Error.Span).Trim();
            throw new FunctionExecutionException(
                $"Function '{request.FunctionName}' exited with status {result.ExitCode} on instance {_host.InstanceId}{(stderr.Length == 0 ? "." : ": " + stderr)}")
            { FunctionName = request.FunctionName };
        }

        return result.Output;
    }

    /// <summary>RESET: true when the guest is scrubbed; false when it cannot be (the pool then destroys it).</summary>
    public async ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _host.EnsureRunningAsync(_loadedFunction, cancellationToken).ConfigureAwait(false);
            await ControlAsync(_loadedFunction, ct => Channel.ResetAsync(_agentTimeout, ct), cancellationToken).ConfigureAwait(false);
            _loadedFunction = null;
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or AgentProtocolException)
        {
            return false;
        }
    }

    public async ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (!IsOpen)
        {
            return InstanceHealth.Dead;
        }

        if (_host.IsPaused)
        {
            return InstanceHealth.Healthy; // a paused guest cannot answer; its host process being alive is all there is to know
        }

        try
        {
            await Channel.HealthAsync(_agentTimeout, cancellationToken).ConfigureAwait(false);
            return InstanceHealth.Healthy;
        }
        catch (TimeoutException ex)
        {
            _host.MarkDead(ex.Message);
            return InstanceHealth.Dead;
        }
        catch (AgentChannelClosedException)
        {
            return InstanceHealth.Dead;
        }
        catch (AgentProtocolException)
        {
            return InstanceHealth.Degraded;
        }
    }

    /// <summary>
    /// CANCEL: true only when the agent confirms that no process of the last program's group is left. False when the
    /// agent cannot cancel (an old agent), refuses, does not answer within the agent timeout, or the instance died.
    /// </summary>
    public async ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
    {
        if (!IsOpen || Hello is not { CanCancel: true })
        {
            return false;
        }

        try
        {
            await _host.EnsureRunningAsync(_loadedFunction, cancellationToken).ConfigureAwait(false);
            var result = await Channel.CancelAsync(_agentTimeout, cancellationToken).ConfigureAwait(false);
            return result.Stopped;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (TimeoutException ex)
        {
            _host.MarkDead(ex.Message);
            return false;
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or AgentProtocolException or AgentChannelClosedException or ObjectDisposedException)
        {
            return false;
        }
    }

    private async Task ControlAsync(string? function, Func<CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        try
        {
            await call(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is TimeoutException or AgentChannelClosedException || (ex is AgentProtocolException p && p.Error != AgentProtocolError.AgentError))
        {
            _host.MarkDead(ex.Message);
            throw _host.Died(function, ex);
        }
        catch (AgentProtocolException ex)
        {
            throw new InstanceProviderException($"The guest agent of instance {_host.InstanceId} refused a request: {ex.Message}", ex) { FunctionName = function, ProviderName = _host.ProviderName };
        }
    }
}
