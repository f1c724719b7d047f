// NSubstitute sets up ValueTask-returning members by calling them unawaited.
#pragma warning disable CA2012

using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using OnDemandExecution.HyperV.Hcs;
using OnDemandExecution.HyperV.Tests.TestSupport;

namespace OnDemandExecution.HyperV.Tests;

/// <summary>Every way starting a guest can fail: the error that comes out, and that every handle opened is closed exactly once.</summary>
public sealed class HyperVStartFailureTests : IAsyncLifetime
{
    private readonly HcsFake _fake = new(new FakeTimeProvider());
    private HyperVInstanceProvider _provider = null!;
    private FakeAgent _agent = null!;

    public enum FailurePoint
    {
        CreateCall,
        CreateOperation,
        SetCallback,
        PropertiesOperation,
        StartCall,
        StartOperation,
    }

    public async Task InitializeAsync()
    {
        _agent = await FakeAgent.StartAsync();
        _fake.Agent = _agent;
        _provider = TestProvider.Create(_fake);
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _agent.DisposeAsync();
    }

    [Theory]
    [InlineData(FailurePoint.CreateCall, HcsErrors.HCS_E_ACCESS_DENIED, "HcsCreateComputeSystem failed with HCS_E_ACCESS_DENIED (0x8037011B)", "Hyper-V Administrators")]
    [InlineData(FailurePoint.CreateOperation, HcsErrors.HCS_E_INVALID_JSON, "HcsCreateComputeSystem failed with HCS_E_INVALID_JSON", "compute-system document")]
    [InlineData(FailurePoint.SetCallback, HcsErrors.HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET, "HcsSetComputeSystemCallback failed", "0x80370119")]
    [InlineData(FailurePoint.PropertiesOperation, HcsErrors.HCS_E_SYSTEM_NOT_FOUND, "HcsGetComputeSystemProperties failed with HCS_E_SYSTEM_NOT_FOUND", "0x8037010E")]
    [InlineData(FailurePoint.StartCall, HcsErrors.HCS_E_HYPERV_NOT_INSTALLED, "HcsStartComputeSystem failed with HCS_E_HYPERV_NOT_INSTALLED", "Enable the Hyper-V feature")]
    [InlineData(FailurePoint.StartOperation, HcsErrors.HCS_E_TERMINATED_DURING_START, "HcsStartComputeSystem failed with HCS_E_TERMINATED_DURING_START", "[initrd not found]")]
    public async Task HcsFailure_IsAProviderException_NamingTheCallAndHresult_AndLeaksNoHandle(FailurePoint point, int hresult, string expected, string alsoExpected)
    {
        var document = $$"""{"Error":{{hresult}},"ErrorMessage":"it failed","ErrorEvents":[{"Message":"initrd not found"}]}""";
        switch (point)
        {
            case FailurePoint.CreateCall: _fake.CallResults[nameof(IHcsApi.CreateComputeSystem)] = hresult; break;
            case FailurePoint.CreateOperation: _fake.OperationResults[nameof(IHcsApi.CreateComputeSystem)] = (hresult, document); break;
            case FailurePoint.SetCallback: _fake.CallResults[nameof(IHcsApi.SetComputeSystemCallback)] = hresult; break;
            case FailurePoint.PropertiesOperation: _fake.OperationResults[nameof(IHcsApi.GetComputeSystemProperties)] = (hresult, document); break;
            case FailurePoint.StartCall: _fake.CallResults[nameof(IHcsApi.StartComputeSystem)] = hresult; break;
            case FailurePoint.StartOperation: _fake.OperationResults[nameof(IHcsApi.StartComputeSystem)] = (hresult, document); break;
        }

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => _provider.CreateGuestAsync(TestProvider.Spec, default));

        Assert.Equal(HyperVInstanceProvider.ProviderName, ex.ProviderName);
        Assert.StartsWith("Starting Hyper-V compute system odx-", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains(alsoExpected, ex.Message, StringComparison.Ordinal);
        Assert.IsType<HcsException>(ex.InnerException);
        _fake.AssertNoHandleLeaked();
        Assert.Equal(0, _provider.LiveInstanceCount);
        // a system that was created is terminated before its handle is closed
        var created = point is not FailurePoint.CreateCall and not FailurePoint.CreateOperation;
        Assert.Equal(created, _fake.Calls.Contains(nameof(IHcsApi.TerminateComputeSystem)));
        Assert.Equal(point == FailurePoint.CreateCall ? 0 : 1, _fake.SystemsOpened);
    }

    [Fact]
    public async Task PropertiesWithoutARuntimeId_FailTheStart()
    {
        _fake.OperationResults[nameof(IHcsApi.GetComputeSystemProperties)] = (HcsErrors.S_OK, """{"Id":"x"}""");

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => _provider.CreateGuestAsync(TestProvider.Spec, default));

        Assert.Contains("no RuntimeId", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(IHcsApi.StartComputeSystem), _fake.Calls);
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task AgentThatNeverListens_TimesOutAfterTheBootTimeout_RetryingMeanwhile()
    {
        _fake.Agent = null; // every connect is refused

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => TestProvider.DriveAsync(_provider.CreateGuestAsync(TestProvider.Spec, default), _fake.Time, TimeSpan.FromMilliseconds(50)));

        Assert.Contains("the guest agent was not ready within 10 s (still connecting to the agent over the Hyper-V socket)", ex.Message, StringComparison.Ordinal);
        await _fake.Connector.Received().ConnectAsync(_fake.RuntimeId, Arg.Any<Guid>(), Arg.Any<CancellationToken>());
        Assert.True(_fake.Connector.ReceivedCalls().Count() > 10, "connecting should be retried while the guest boots");
        Assert.Contains(nameof(IHcsApi.TerminateComputeSystem), _fake.Calls);
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task StartThatHangs_TimesOutAfterTheBootTimeout()
    {
        _fake.Hanging.Add(nameof(IHcsApi.StartComputeSystem));

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => _provider.CreateGuestAsync(TestProvider.Spec, default));

        Assert.Contains("not ready within 10 s (still HcsStartComputeSystem)", ex.Message, StringComparison.Ordinal);
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task AgentThatNeverAnswersHello_TimesOut()
    {
        _fake.Agent!.Handler = _ => null;

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => TestProvider.DriveAsync(_provider.CreateGuestAsync(TestProvider.Spec, default), _fake.Time, TimeSpan.FromSeconds(1)));

        Assert.Contains("not ready within 10 s", ex.Message, StringComparison.Ordinal);
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task AgentOfAnotherProtocolVersion_IsRefused()
    {
        _fake.Agent!.ProtocolVersion = 2;

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => _provider.CreateGuestAsync(TestProvider.Spec, default));

        Assert.Contains("protocol version 2", ex.Message, StringComparison.Ordinal);
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task SystemExitingWhileBooting_FailsTheStartAtOnce_WithoutTerminatingIt()
    {
        _fake.Agent = null;
        _fake.Connector.ConnectAsync(Arg.Any<Guid>(), Arg.Any<Guid>(), Arg.Any<CancellationToken>()).Returns(_ =>
        {
            _fake.Callback!(HcsEventType.SystemExited, """{"Status":-2143878912,"ExitType":"UnexpectedExit"}""");
            return ValueTask.FromException<Stream>(new SocketException((int)SocketError.ConnectionRefused));
        });

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => TestProvider.DriveAsync(_provider.CreateGuestAsync(TestProvider.Spec, default), _fake.Time, TimeSpan.FromMilliseconds(50)));

        Assert.Contains("the compute system exited (UnexpectedExit, status HCS_E_TERMINATED_DURING_START", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(IHcsApi.TerminateComputeSystem), _fake.Calls);
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task Cancellation_ThrowsOperationCanceled_AndLeaksNothing()
    {
        _fake.Agent = null;
        using var cts = new CancellationTokenSource();
        using var cancelLater = _fake.Time.CreateTimer(_ => cts.Cancel(), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);

        var create = _provider.CreateGuestAsync(TestProvider.Spec, cts.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TestProvider.DriveAsync(create, _fake.Time, TimeSpan.FromMilliseconds(50)));

        Assert.Contains(nameof(IHcsApi.TerminateComputeSystem), _fake.Calls);
        _fake.AssertNoHandleLeaked();
        Assert.Equal(0, _provider.LiveInstanceCount);
    }

    [Fact]
    public async Task CancelledBeforeStarting_CallsNothing()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _provider.CreateGuestAsync(TestProvider.Spec, new CancellationToken(true)));

        Assert.Empty(_fake.Calls);
        _fake.AssertNoHandleLeaked();
    }
}
