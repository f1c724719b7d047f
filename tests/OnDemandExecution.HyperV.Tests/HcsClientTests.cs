using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using OnDemandExecution.HyperV.Hcs;
using OnDemandExecution.HyperV.Tests.TestSupport;

namespace OnDemandExecution.HyperV.Tests;

public class HcsClientTests
{
    private readonly HcsFake _fake = new(new FakeTimeProvider());

    private HcsClient Client => new(_fake.Api, _fake.Time, TimeSpan.FromMilliseconds(100));

    [Fact]
    public async Task Run_CreatesOperation_Calls_Waits_ThenClosesTheOperation_InThatOrder()
    {
        using var system = new HcsSystemHandle(42, _ => { });

        await Client.RunAsync("HcsStartComputeSystem", op => _fake.Api.StartComputeSystem(system, op, null), TimeSpan.FromSeconds(5), default);

        Received.InOrder(() =>
        {
            _fake.Api.CreateOperation();
            _fake.Api.StartComputeSystem(system, Arg.Any<HcsOperationHandle>(), null);
            _fake.Api.WaitForOperationResult(Arg.Any<HcsOperationHandle>(), Arg.Any<uint>(), out Arg.Any<string?>());
        });
        Assert.Equal((1, 1), (_fake.OperationsOpened, _fake.OperationsClosed));
    }

    [Fact]
    public async Task FailedCall_ThrowsHcsException_WithoutWaiting_AndClosesTheOperation()
    {
        _fake.CallResults[nameof(IHcsApi.StartComputeSystem)] = HcsErrors.HCS_E_INVALID_STATE;
        using var system = new HcsSystemHandle(42, _ => { });

        var ex = await Assert.ThrowsAsync<HcsException>(() => Client.RunAsync("HcsStartComputeSystem", op => _fake.Api.StartComputeSystem(system, op, null), TimeSpan.FromSeconds(5), default));

        Assert.Equal(HcsErrors.HCS_E_INVALID_STATE, ex.HResult);
        Assert.Contains("HCS_E_INVALID_STATE (0x80370105)", ex.Message, StringComparison.Ordinal);
        _fake.Api.DidNotReceiveWithAnyArgs().WaitForOperationResult(default!, default, out Arg.Any<string?>());
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task FailedOperation_CarriesItsResultDocument()
    {
        _fake.OperationResults[nameof(IHcsApi.StartComputeSystem)] = (HcsErrors.HCS_E_TERMINATED_DURING_START, """{"Error":-2143878912,"ErrorMessage":"The virtual machine or container exited unexpectedly while starting.","ErrorEvents":[{"Message":"kernel file not found"}]}""");
        using var system = new HcsSystemHandle(42, _ => { });

        var ex = await Assert.ThrowsAsync<HcsException>(() => Client.RunAsync("HcsStartComputeSystem", op => _fake.Api.StartComputeSystem(system, op, null), TimeSpan.FromSeconds(5), default));

        Assert.Equal(HcsErrors.HCS_E_TERMINATED_DURING_START, ex.HResult);
        Assert.Contains("exited unexpectedly while starting", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[kernel file not found]", ex.Message, StringComparison.Ordinal);
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task SuccessfulWait_WithAnErrorInTheDocument_IsAFailure()
    {
        _fake.OperationResults[nameof(IHcsApi.PauseComputeSystem)] = (HcsErrors.S_OK, """{"Error":-2143878907,"ErrorMessage":"invalid state"}""");
        using var system = new HcsSystemHandle(42, _ => { });

        var ex = await Assert.ThrowsAsync<HcsException>(() => Client.RunAsync("HcsPauseComputeSystem", op => _fake.Api.PauseComputeSystem(system, op, null), TimeSpan.FromSeconds(5), default));

        Assert.Equal(HcsErrors.HCS_E_INVALID_STATE, ex.HResult);
    }

    [Fact]
    public async Task OperationThatNeverFinishes_TimesOut_AndIsClosed()
    {
        _fake.Hanging.Add(nameof(IHcsApi.StartComputeSystem));
        using var system = new HcsSystemHandle(42, _ => { });

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => Client.RunAsync("HcsStartComputeSystem", op => _fake.Api.StartComputeSystem(system, op, null), TimeSpan.FromSeconds(2), default));

        Assert.Contains("HcsStartComputeSystem did not complete within 2.0 s", ex.Message, StringComparison.Ordinal);
        // waited in 100 ms slices: 20 of them
        _fake.Api.Received(20).WaitForOperationResult(Arg.Any<HcsOperationHandle>(), 100, out Arg.Any<string?>());
        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task Cancellation_StopsWaiting_AndClosesTheOperation()
    {
        _fake.Hanging.Add(nameof(IHcsApi.StartComputeSystem));
        using var system = new HcsSystemHandle(42, _ => { });
        using var cts = new CancellationTokenSource();
        using var cancelLater = _fake.Time.CreateTimer(_ => cts.Cancel(), null, TimeSpan.FromMilliseconds(350), Timeout.InfiniteTimeSpan);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.RunAsync("HcsStartComputeSystem", op => _fake.Api.StartComputeSystem(system, op, null), TimeSpan.FromSeconds(60), cts.Token));

        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task CreateComputeSystem_WhoseOperationFails_ClosesTheSystemHandleItGot()
    {
        _fake.OperationResults[nameof(IHcsApi.CreateComputeSystem)] = (HcsErrors.HCS_E_INVALID_JSON, null);

        var ex = await Assert.ThrowsAsync<HcsException>(() => Client.CreateComputeSystemAsync("odx-1", "{}", TimeSpan.FromSeconds(5), default));

        Assert.Contains("HCS_E_INVALID_JSON", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, _fake.SystemsOpened);
        _fake.AssertNoHandleLeaked();
    }
}
