using System.Text;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using OnDemandExecution.HyperV.Hcs;
using OnDemandExecution.HyperV.HvSocket;
using OnDemandExecution.HyperV.Tests.TestSupport;

namespace OnDemandExecution.HyperV.Tests;

/// <summary>The provider against the HCS seam: what it calls, in which order, and how failures come out.</summary>
public sealed class HyperVProviderContractTests : IAsyncLifetime
{
    private readonly HcsFake _fake = new(new FakeTimeProvider());
    private HyperVInstanceProvider _provider = null!;
    private FakeAgent _agent = null!;

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

    [Fact]
    public async Task Create_CreatesRegistersReadsIdStarts_ThenConnectsToTheAgentOverHvSocket()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);

        Assert.Equal(
            [nameof(IHcsApi.CreateComputeSystem), nameof(IHcsApi.SetComputeSystemCallback), nameof(IHcsApi.GetComputeSystemProperties), nameof(IHcsApi.StartComputeSystem)],
            _fake.Calls);
        await _fake.Connector.Received(1).ConnectAsync(_fake.RuntimeId, HvSocketEndPoint.VsockServiceId(5100), Arg.Any<CancellationToken>());
        Assert.Equal("HELLO", Assert.Single(_fake.Agent!.Received).Type);
        Assert.Equal(_fake.SystemId, instance.Id);
        Assert.StartsWith("odx-", instance.Id, StringComparison.Ordinal);
        Assert.Equal(_fake.RuntimeId, instance.VmId);
        Assert.Equal("fake/1.0", instance.AgentVersion);
        Golden.AssertMatches("linux-kernel-direct.json", _fake.Configuration!);
        Assert.Equal(1, _provider.LiveInstanceCount);
        // every operation closed as soon as it finished; the system handle stays open while the instance lives
        Assert.Equal(_fake.OperationsOpened, _fake.OperationsClosed);
        Assert.Equal((1, 0), (_fake.SystemsOpened, _fake.SystemsClosed));
    }

    [Fact]
    public async Task LoadAndInvoke_GoOverTheAgentChannel()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        var files = new Dictionary<string, byte[]> { ["fn.sh"] = "tr a-z A-Z"u8.ToArray() };

        await instance.LoadAsync(new FunctionDefinition("up", new ProgramFunctionCode("sh fn.sh", files)), new TenantId("t"), default);
        var output = await instance.InvokeAsync(new InvocationRequest("up", "hello"u8.ToArray()), default);

        Assert.Equal("HELLO", Encoding.UTF8.GetString(output.Span));
        Assert.Equal(["HELLO", "FILE", "LOAD", "INVOKE"], _fake.Agent!.Received.Select(f => f.Type));
    }

    [Fact]
    public async Task NonZeroExit_IsTheFunctionsError_AndTheInstanceStaysUsable()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        await instance.LoadAsync(new FunctionDefinition("f", new ProgramFunctionCode("false")), new TenantId("t"), default);
        _fake.Agent!.Handler = f => f.Type == "INVOKE" ? ("RESULT", ["3", "10", "0"], "boom"u8.ToArray()) : null;

        var ex = await Assert.ThrowsAsync<FunctionExecutionException>(async () => await instance.InvokeAsync(new InvocationRequest("f", default), default));

        Assert.Contains("exited with status 3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("boom", ex.Message, StringComparison.Ordinal);
        Assert.False(instance.IsDead);
    }

    [Fact]
    public async Task PauseResume_CallHcs_AndInvokeResumesAPausedGuest()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        await instance.LoadAsync(new FunctionDefinition("f", new ProgramFunctionCode("cat")), new TenantId("t"), default);

        await instance.PauseAsync(default);
        Assert.Equal(InstanceHealth.Healthy, await instance.CheckHealthAsync(default));
        await instance.InvokeAsync(new InvocationRequest("f", "x"u8.ToArray()), default);

        Assert.Equal([nameof(IHcsApi.PauseComputeSystem), nameof(IHcsApi.ResumeComputeSystem)], _fake.Calls.Skip(4));
        Assert.Equal("""{"SuspensionLevel":"Suspend"}""", _fake.Options[nameof(IHcsApi.PauseComputeSystem)]);
        Assert.Equal(_fake.OperationsOpened, _fake.OperationsClosed);
    }

    [Fact]
    public async Task Save_PausesWithTheSaveHint_SavesToTheFile_ThenResumes()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);

        await instance.SaveAsync(@"C:\odx\state\guest.vmrs", default);

        Assert.Equal([nameof(IHcsApi.PauseComputeSystem), nameof(IHcsApi.SaveComputeSystem), nameof(IHcsApi.ResumeComputeSystem)], _fake.Calls.Skip(4));
        Golden.AssertMatches("pause-for-save.json", _fake.Options[nameof(IHcsApi.PauseComputeSystem)]!);
        Golden.AssertMatches("save-to-file.json", _fake.Options[nameof(IHcsApi.SaveComputeSystem)]!);
    }

    [Theory]
    [InlineData(HcsErrors.HCS_E_SYSTEM_NOT_FOUND)]
    [InlineData(HcsErrors.HCS_E_SYSTEM_ALREADY_STOPPED)]
    [InlineData(HcsErrors.HCS_E_UNEXPECTED_EXIT)]
    public async Task Pause_OfASystemHcsReportsGone_IsInstanceDied(int hresult)
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        _fake.OperationResults[nameof(IHcsApi.PauseComputeSystem)] = (hresult, null);

        var ex = await Assert.ThrowsAsync<InstanceDiedException>(async () => await instance.PauseAsync(default));

        Assert.Equal(instance.Id, ex.InstanceId);
        Assert.Contains(HcsErrors.Describe(hresult), ex.Message, StringComparison.Ordinal);
        Assert.True(instance.IsDead);
        Assert.Equal(InstanceHealth.Dead, await instance.CheckHealthAsync(default));
    }

    [Fact]
    public async Task Pause_InAnInvalidState_IsAProviderError_AndTheInstanceLives()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        _fake.CallResults[nameof(IHcsApi.PauseComputeSystem)] = HcsErrors.HCS_E_INVALID_STATE;

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(async () => await instance.PauseAsync(default));

        Assert.Equal(HyperVInstanceProvider.ProviderName, ex.ProviderName);
        Assert.Contains("HCS_E_INVALID_STATE", ex.Message, StringComparison.Ordinal);
        Assert.False(instance.IsDead);
        _fake.AssertNoHandleLeakedExceptLiveSystems(1);
    }

    [Fact]
    public async Task Pause_ThatNeverCompletes_TimesOut_AndTheInstanceIsDead()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        _fake.Hanging.Add(nameof(IHcsApi.PauseComputeSystem));

        var ex = await Assert.ThrowsAsync<InstanceDiedException>(async () => await instance.PauseAsync(default));

        Assert.Contains("did not complete within 5.0 s", ex.Message, StringComparison.Ordinal);
        Assert.True(instance.IsDead);
    }

    [Fact]
    public async Task Pause_Cancelled_ThrowsOperationCanceled_AndClosesItsOperation()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        _fake.Hanging.Add(nameof(IHcsApi.PauseComputeSystem));
        using var cts = new CancellationTokenSource();
        using var cancelLater = _fake.Time.CreateTimer(_ => cts.Cancel(), null, TimeSpan.FromMilliseconds(250), Timeout.InfiniteTimeSpan);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await instance.PauseAsync(cts.Token));

        Assert.False(instance.IsDead);
        Assert.Equal(_fake.OperationsOpened, _fake.OperationsClosed);
    }

    [Fact]
    public async Task ExitEvent_MarksTheInstanceDead_FailsCallsInFlight_AndDisposeDoesNotTerminateAgain()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        await instance.LoadAsync(new FunctionDefinition("f", new ProgramFunctionCode("sleep 1000")), new TenantId("t"), default);
        _fake.Agent!.Handler = f => f.Type == "INVOKE" ? null : ("OK", null, []); // the program never answers
        var pending = instance.InvokeAsync(new InvocationRequest("f", default), default).AsTask();

        await _fake.RaiseAsync(HcsEventType.SystemExited, """{"Status":-2143878906,"ExitType":"UnexpectedExit"}""");

        var died = await Assert.ThrowsAsync<InstanceDiedException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("the compute system exited (UnexpectedExit, status HCS_E_UNEXPECTED_EXIT (0x80370106))", died.Message, StringComparison.Ordinal);
        Assert.True(instance.IsDead);
        Assert.Equal(InstanceHealth.Dead, await instance.CheckHealthAsync(default));
        await Assert.ThrowsAsync<InstanceDiedException>(async () => await instance.InvokeAsync(new InvocationRequest("f", default), default));
        Assert.False(await instance.RecycleAsync(default));

        await instance.DisposeAsync();
        Assert.DoesNotContain(nameof(IHcsApi.TerminateComputeSystem), _fake.Calls);
        _fake.AssertNoHandleLeaked();
        Assert.Equal(0, _provider.LiveInstanceCount);
    }

    [Theory]
    [InlineData((int)HcsEventType.SystemCrashInitiated, "the guest crashed")]
    [InlineData((int)HcsEventType.ServiceDisconnect, "the Host Compute Service disconnected")]
    public async Task CrashAndServiceDisconnect_MarkTheInstanceDead(int type, string reason)
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);

        await _fake.RaiseAsync((HcsEventType)type, null);

        Assert.Equal(reason, instance.DeathReason);
        Assert.Equal(InstanceHealth.Dead, await instance.CheckHealthAsync(default));
    }

    [Fact]
    public async Task OtherEvents_AreIgnored()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);

        await _fake.RaiseAsync(HcsEventType.SystemGuestConnectionClosed, null);
        await _fake.RaiseAsync(HcsEventType.SystemRdpEnhancedModeStateChanged, null);

        Assert.False(instance.IsDead);
        Assert.Equal(InstanceHealth.Healthy, await instance.CheckHealthAsync(default));
    }

    [Fact]
    public async Task Dispose_TerminatesThenClosesTheSystem_Once()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);

        await instance.DisposeAsync();
        await instance.DisposeAsync();

        Assert.Equal(nameof(IHcsApi.TerminateComputeSystem), _fake.Calls.Last());
        Assert.Single(_fake.Calls, c => c == nameof(IHcsApi.TerminateComputeSystem));
        _fake.AssertNoHandleLeaked();
        Assert.Equal(1, _fake.SystemsClosed);
        Assert.Equal(0, _provider.LiveInstanceCount);
    }

    [Theory]
    [InlineData(HcsErrors.HCS_E_SYSTEM_ALREADY_STOPPED)]
    [InlineData(HcsErrors.HCS_E_SERVICE_DISCONNECT)]
    public async Task Dispose_WhenTerminateFails_StillClosesTheHandle(int hresult)
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        _fake.OperationResults[nameof(IHcsApi.TerminateComputeSystem)] = (hresult, null);

        await instance.DisposeAsync();

        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task Dispose_WhenTerminateHangs_GivesUpAfterTheOperationTimeout_AndClosesTheHandle()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        _fake.Hanging.Add(nameof(IHcsApi.TerminateComputeSystem));

        await instance.DisposeAsync();

        _fake.AssertNoHandleLeaked();
    }

    [Fact]
    public async Task DisposingTheProvider_TerminatesEveryLiveSystem()
    {
        await using var second = await FakeAgent.StartAsync();
        await _provider.CreateGuestAsync(TestProvider.Spec, default);
        _fake.Agent = second;
        await _provider.CreateGuestAsync(TestProvider.Spec, default);

        await _provider.DisposeAsync();

        Assert.Equal(2, _fake.Calls.Count(c => c == nameof(IHcsApi.TerminateComputeSystem)));
        _fake.AssertNoHandleLeaked();
        Assert.Equal(0, _provider.LiveInstanceCount);
    }

    [Fact]
    public async Task Recycle_ResetsTheGuest_SoItCanLoadAgain()
    {
        var instance = await _provider.CreateGuestAsync(TestProvider.Spec, default);
        await instance.LoadAsync(new FunctionDefinition("a", new ProgramFunctionCode("cat")), new TenantId("t1"), default);

        Assert.True(await instance.RecycleAsync(default));
        await instance.LoadAsync(new FunctionDefinition("b", new ProgramFunctionCode("cat")), new TenantId("t2"), default);

        Assert.Contains("RESET", _fake.Agent!.Received.Select(f => f.Type));
    }

    [Fact]
    public async Task Capabilities_AreHypervisorIsolation_WithPauseAndRecycle()
    {
        Assert.Equal("hyperv", _provider.Name);
        Assert.Equal(IsolationLevel.Hypervisor, _provider.Capabilities.Isolation);
        Assert.True(_provider.Capabilities.SupportsPause);
        Assert.True(_provider.Capabilities.SupportsRecycle);
        Assert.False(_provider.Capabilities.SupportsSnapshot);
        Assert.True(_provider.CanLoad(new ProgramFunctionCode("x")));
        Assert.False(_provider.CanLoad(new DelegateFunctionCode((_, _) => default)));
        await Assert.ThrowsAsync<InstanceProviderException>(async () => await _provider.CreateAsync(new InstanceSpec { MemoryMb = 4096 }, default));
        Assert.Empty(_fake.Calls);
    }
}
