// NSubstitute sets up ValueTask-returning members by calling them unawaited.
#pragma warning disable CA2012

using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using OnDemandExecution.HyperV.Hcs;
using OnDemandExecution.HyperV.HvSocket;

namespace OnDemandExecution.HyperV.Tests.TestSupport;

/// <summary>
/// An NSubstitute <see cref="IHcsApi"/> that behaves like a healthy HCS unless told otherwise, and counts every handle
/// it hands out and every close, so a test can assert that nothing leaked. Each call's operation is remembered, so
/// <see cref="IHcsApi.WaitForOperationResult"/> answers for the call it tracks: <see cref="CallResults"/> fail the
/// call itself, <see cref="OperationResults"/> fail its operation (with a result document), <see cref="Hanging"/>
/// operations never finish (each wait advances <see cref="Time"/> by its timeout, as a real blocking wait would).
/// </summary>
internal sealed class HcsFake
{
    private readonly ConcurrentDictionary<nint, string> _operationCall = new();
    private long _nextHandle = 0x1000;
    private int _operationsOpened;
    private int _operationsClosed;
    private int _systemsOpened;
    private int _systemsClosed;

    public HcsFake(FakeTimeProvider time)
    {
        Time = time;
        HcsSystemHandle? system = null;
        string? document = null;

        Api.CreateOperation().Returns(_ =>
        {
            Interlocked.Increment(ref _operationsOpened);
            return new HcsOperationHandle((nint)Interlocked.Increment(ref _nextHandle), _ => Interlocked.Increment(ref _operationsClosed));
        });
        Api.CreateComputeSystem(Arg.Any<string>(), Arg.Any<string>(), Arg.Any<HcsOperationHandle>(), out system).Returns(ci =>
        {
            Configuration = ci.ArgAt<string>(1);
            SystemId = ci.ArgAt<string>(0);
            var hr = Track(nameof(IHcsApi.CreateComputeSystem), ci.ArgAt<HcsOperationHandle>(2));
            if (hr >= 0)
            {
                Interlocked.Increment(ref _systemsOpened);
                ci[3] = new HcsSystemHandle((nint)Interlocked.Increment(ref _nextHandle), _ => Interlocked.Increment(ref _systemsClosed));
            }

            return hr;
        });
        Api.StartComputeSystem(Arg.Any<HcsSystemHandle>(), Arg.Any<HcsOperationHandle>(), Arg.Any<string?>())
            .Returns(ci => Track(nameof(IHcsApi.StartComputeSystem), ci.ArgAt<HcsOperationHandle>(1), ci.ArgAt<string?>(2)));
        Api.ShutDownComputeSystem(Arg.Any<HcsSystemHandle>(), Arg.Any<HcsOperationHandle>(), Arg.Any<string?>())
            .Returns(ci => Track(nameof(IHcsApi.ShutDownComputeSystem), ci.ArgAt<HcsOperationHandle>(1), ci.ArgAt<string?>(2)));
        Api.TerminateComputeSystem(Arg.Any<HcsSystemHandle>(), Arg.Any<HcsOperationHandle>(), Arg.Any<string?>())
            .Returns(ci => Track(nameof(IHcsApi.TerminateComputeSystem), ci.ArgAt<HcsOperationHandle>(1), ci.ArgAt<string?>(2)));
        Api.PauseComputeSystem(Arg.Any<HcsSystemHandle>(), Arg.Any<HcsOperationHandle>(), Arg.Any<string?>())
            .Returns(ci => Track(nameof(IHcsApi.PauseComputeSystem), ci.ArgAt<HcsOperationHandle>(1), ci.ArgAt<string?>(2)));
        Api.ResumeComputeSystem(Arg.Any<HcsSystemHandle>(), Arg.Any<HcsOperationHandle>(), Arg.Any<string?>())
            .Returns(ci => Track(nameof(IHcsApi.ResumeComputeSystem), ci.ArgAt<HcsOperationHandle>(1), ci.ArgAt<string?>(2)));
        Api.SaveComputeSystem(Arg.Any<HcsSystemHandle>(), Arg.Any<HcsOperationHandle>(), Arg.Any<string?>())
            .Returns(ci => Track(nameof(IHcsApi.SaveComputeSystem), ci.ArgAt<HcsOperationHandle>(1), ci.ArgAt<string?>(2)));
        Api.GetComputeSystemProperties(Arg.Any<HcsSystemHandle>(), Arg.Any<HcsOperationHandle>(), Arg.Any<string?>())
            .Returns(ci => Track(nameof(IHcsApi.GetComputeSystemProperties), ci.ArgAt<HcsOperationHandle>(1), ci.ArgAt<string?>(2)));
        Api.SetComputeSystemCallback(Arg.Any<HcsSystemHandle>(), Arg.Any<HcsEventCallback>()).Returns(ci =>
        {
            Calls.Enqueue(nameof(IHcsApi.SetComputeSystemCallback));
            if (CallResults.TryGetValue(nameof(IHcsApi.SetComputeSystemCallback), out var hr))
            {
                return hr;
            }

            Callback = ci.ArgAt<HcsEventCallback>(1);
            Callbacks.Enqueue(Callback);
            return HcsErrors.S_OK;
        });
        Api.WaitForOperationResult(Arg.Any<HcsOperationHandle>(), Arg.Any<uint>(), out document).Returns(ci =>
        {
            var operation = ci.ArgAt<HcsOperationHandle>(0);
            ObjectDisposedException.ThrowIf(operation.IsClosed, operation);
            var call = _operationCall.TryGetValue(operation.DangerousGetHandle(), out var c) ? c : "?";
            if (Hanging.Contains(call))
            {
                Time.Advance(TimeSpan.FromMilliseconds(ci.ArgAt<uint>(1)));
                return HcsErrors.HCS_E_OPERATION_TIMEOUT;
            }

            if (OperationResults.TryGetValue(call, out var failure))
            {
                ci[2] = failure.Document;
                return failure.HResult;
            }

            ci[2] = call == nameof(IHcsApi.GetComputeSystemProperties) ? PropertiesDocument : null;
            return HcsErrors.S_OK;
        });

        Connector.ConnectAsync(Arg.Any<Guid>(), Arg.Any<Guid>(), Arg.Any<CancellationToken>()).Returns(_ => new ValueTask<Stream>(ConnectAsync()));
    }

    public IHcsApi Api { get; } = Substitute.For<IHcsApi>();

    public IHvSocketConnector Connector { get; } = Substitute.For<IHvSocketConnector>();

    public FakeTimeProvider Time { get; }

    /// <summary>The agent the connector connects to; null: connecting is refused (the guest is still booting).</summary>
    public FakeAgent? Agent { get; set; }

    /// <summary>Whether every connection gets an agent of its own (for tests with several instances); they are kept in <see cref="Agents"/>.</summary>
    public bool NewAgentPerConnection { get; set; }

    public ConcurrentQueue<FakeAgent> Agents { get; } = new();

    /// <summary>The event callbacks registered, one per compute system, in order.</summary>
    public ConcurrentQueue<HcsEventCallback> Callbacks { get; } = new();

    public Guid RuntimeId { get; } = Guid.Parse("6f1c0a52-3b4e-4f7a-9d2c-1e5b7a9c0d11");

    public string PropertiesDocument => $$"""{"Id":"{{SystemId}}","RuntimeId":"{{RuntimeId}}","State":"Created"}""";

    public Dictionary<string, int> CallResults { get; } = [];

    public Dictionary<string, (int HResult, string? Document)> OperationResults { get; } = [];

    public HashSet<string> Hanging { get; } = [];

    /// <summary>The HCS calls made (not counting operations and waits), in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>The options document passed to each call, by call.</summary>
    public ConcurrentDictionary<string, string?> Options { get; } = new();

    public string? Configuration { get; private set; }

    public string? SystemId { get; private set; }

    public HcsEventCallback? Callback { get; private set; }

    public int OperationsOpened => Volatile.Read(ref _operationsOpened);

    public int OperationsClosed => Volatile.Read(ref _operationsClosed);

    public int SystemsOpened => Volatile.Read(ref _systemsOpened);

    public int SystemsClosed => Volatile.Read(ref _systemsClosed);

    public void AssertNoHandleLeaked()
    {
        Assert.Equal(OperationsOpened, OperationsClosed);
        Assert.Equal(SystemsOpened, SystemsClosed);
    }

    public void AssertNoHandleLeakedExceptLiveSystems(int live)
    {
        Assert.Equal(OperationsOpened, OperationsClosed);
        Assert.Equal(live, SystemsOpened - SystemsClosed);
    }

    /// <summary>Raises an HCS event as computecore.dll would, on another thread.</summary>
    public Task RaiseAsync(HcsEventType type, string? data) => Task.Run(() => Callback!(type, data));

    private async Task<Stream> ConnectAsync()
    {
        if (NewAgentPerConnection)
        {
            var fresh = await FakeAgent.StartAsync();
            Agents.Enqueue(fresh);
            return fresh.HostStream;
        }

        return Agent is { } agent ? agent.HostStream : throw new SocketException((int)SocketError.ConnectionRefused);
    }

    private int Track(string call, HcsOperationHandle operation, string? options = null)
    {
        Calls.Enqueue(call);
        Options[call] = options;
        _operationCall[operation.DangerousGetHandle()] = call;
        return CallResults.TryGetValue(call, out var hr) ? hr : HcsErrors.S_OK;
    }
}
