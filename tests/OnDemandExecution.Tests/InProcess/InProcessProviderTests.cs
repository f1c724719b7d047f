using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.InProcess;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.InProcess;

/// <summary>A dependency a handler type gets through constructor injection.</summary>
public sealed class GreetingSettings
{
    public string Greeting { get; init; } = "hello";
}

/// <summary>A handler type created through DI: returns "{greeting} {payload} #{calls}" and records its disposal.</summary>
public sealed class GreetingHandler : IFunctionHandler, IDisposable
{
    private static int s_created;
    private static int s_disposed;
    private readonly GreetingSettings _settings;
    private int _calls;

    public GreetingHandler(GreetingSettings settings)
    {
        _settings = settings;
        Interlocked.Increment(ref s_created);
    }

    public static int Created => Volatile.Read(ref s_created);

    public static int DisposedCount => Volatile.Read(ref s_disposed);

    public ValueTask<ReadOnlyMemory<byte>> HandleAsync(FunctionContext context, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _calls);
        return new(Encoding.UTF8.GetBytes($"{_settings.Greeting} {Encoding.UTF8.GetString(context.Payload.Span)} #{n}"));
    }

    public void Dispose() => Interlocked.Increment(ref s_disposed);
}

/// <summary>Not an <see cref="IFunctionHandler"/>.</summary>
public sealed class PlainClass
{
}

public class InProcessProviderTests : IAsyncLifetime
{
    private static readonly TenantId Tenant = new("tenant-a");
    private readonly ServiceProvider _services;
    private readonly InProcessInstanceProvider _provider;
    private readonly List<IInstance> _instances = [];

    public InProcessProviderTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new GreetingSettings { Greeting = "hi" });
        _services = services.BuildServiceProvider();
        _provider = new InProcessInstanceProvider(_services);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _services.DisposeAsync();
    }

    [Fact]
    public void Provider_Describes_ItselfAsUnisolatedAndRecyclable()
    {
        Assert.Equal("in-process", _provider.Name);
        Assert.Equal(IsolationLevel.None, _provider.Capabilities.Isolation);
        Assert.True(_provider.Capabilities.SupportsRecycle);
    }

    [Fact]
    public void CanLoad_InProcessCodeKinds_True_OthersFalse()
    {
        Assert.True(_provider.CanLoad(new DelegateFunctionCode(TestHost.Noop)));
        Assert.True(_provider.CanLoad(new HandlerTypeFunctionCode(typeof(GreetingHandler))));
        Assert.True(_provider.CanLoad(new AssemblyFunctionCode(TestFunctionsAssembly.Path, TestFunctionsAssembly.EchoHandler)));
        Assert.False(_provider.CanLoad(new ProgramFunctionCode("cat")));
        Assert.False(_provider.CanLoad(new WasmCode()));
    }

    [Fact]
    public async Task CreateAsync_EachCall_ReturnsAnInstanceWithAUniqueLocalId()
    {
        var a = await CreateAsync();
        var b = await CreateAsync();

        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(InstanceLocation.Local, a.Location);
        Assert.Equal(InstanceHealth.Healthy, await a.CheckHealthAsync(CancellationToken.None));
    }

    [Fact]
    public async Task CreateAsync_CancelledToken_Throws()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _provider.CreateAsync(new InstanceSpec(), new CancellationToken(canceled: true)).AsTask());
    }

    [Fact]
    public async Task InvokeAsync_DelegateCode_RunsTheDelegateWithTheRequest()
    {
        var instance = await CreateAsync();
        FunctionContext? seen = null;
        FunctionHandler handler = (ctx, _) =>
        {
            seen = ctx;
            return new(Encoding.UTF8.GetBytes("got " + Encoding.UTF8.GetString(ctx.Payload.Span)));
        };
        await instance.LoadAsync(new FunctionDefinition("echo", new DelegateFunctionCode(handler)), Tenant, CancellationToken.None);

        var output = await instance.InvokeAsync(Request("echo", "ping", "inv-1"), CancellationToken.None);

        Assert.Equal("got ping", Encoding.UTF8.GetString(output.Span));
        Assert.NotNull(seen);
        Assert.Equal(instance.Id, seen.InstanceId);
        Assert.Equal(Tenant, seen.Tenant);
        Assert.Equal("echo", seen.FunctionName);
        Assert.Equal("inv-1", seen.InvocationId);
    }

    [Fact]
    public async Task InvokeAsync_HandlerType_IsCreatedThroughDiOncePerInstance()
    {
        var a = await CreateAsync();
        var b = await CreateAsync();
        var function = new FunctionDefinition("greet", new HandlerTypeFunctionCode(typeof(GreetingHandler)));
        var createdBefore = GreetingHandler.Created;

        await a.LoadAsync(function, Tenant, CancellationToken.None);
        await b.LoadAsync(function, Tenant, CancellationToken.None);
        var a1 = await InvokeTextAsync(a, "greet", "bob");
        var a2 = await InvokeTextAsync(a, "greet", "bob");
        var b1 = await InvokeTextAsync(b, "greet", "bob");

        Assert.Equal(2, GreetingHandler.Created - createdBefore);
        Assert.Equal("hi bob #1", a1); // the injected settings, not the default greeting
        Assert.Equal("hi bob #2", a2);
        Assert.Equal("hi bob #1", b1);
    }

    [Fact]
    public async Task RecycleAsync_HandlerType_DisposesTheHandlerAndAllowsANewLoad()
    {
        var instance = await CreateAsync();
        var function = new FunctionDefinition("greet", new HandlerTypeFunctionCode(typeof(GreetingHandler)));
        await instance.LoadAsync(function, Tenant, CancellationToken.None);
        Assert.Equal("hi x #1", await InvokeTextAsync(instance, "greet", "x"));
        var disposedBefore = GreetingHandler.DisposedCount;

        Assert.True(await instance.RecycleAsync(CancellationToken.None));

        Assert.Equal(1, GreetingHandler.DisposedCount - disposedBefore);
        await Assert.ThrowsAsync<InvalidOperationException>(() => instance.InvokeAsync(Request("greet", "x"), CancellationToken.None).AsTask());
        await instance.LoadAsync(function, new TenantId("tenant-b"), CancellationToken.None);
        Assert.Equal("hi x #1", await InvokeTextAsync(instance, "greet", "x")); // fresh handler state
    }

    [Fact]
    public async Task LoadAsync_HandlerTypeNotImplementingInterface_ThrowsInstanceProviderException()
    {
        var instance = await CreateAsync();

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(
            () => instance.LoadAsync(new FunctionDefinition("plain", new HandlerTypeFunctionCode(typeof(PlainClass))), Tenant, CancellationToken.None).AsTask());

        Assert.Equal("plain", ex.FunctionName);
        Assert.Contains(nameof(PlainClass), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_SecondFunctionWithoutRecycle_Throws()
    {
        var instance = await CreateAsync();
        await instance.LoadAsync(new FunctionDefinition("one", new DelegateFunctionCode(TestHost.Noop)), Tenant, CancellationToken.None);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(
            () => instance.LoadAsync(new FunctionDefinition("two", new DelegateFunctionCode(TestHost.Noop)), Tenant, CancellationToken.None).AsTask());

        Assert.Contains("'one'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_UnsupportedCode_ThrowsInstanceProviderException()
    {
        var instance = await CreateAsync();

        await Assert.ThrowsAsync<InstanceProviderException>(
            () => instance.LoadAsync(new FunctionDefinition("prog", new ProgramFunctionCode("cat")), Tenant, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task LoadAsync_CancelledToken_Throws()
    {
        var instance = await CreateAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => instance.LoadAsync(new FunctionDefinition("f", new DelegateFunctionCode(TestHost.Noop)), Tenant, new CancellationToken(canceled: true)).AsTask());
    }

    [Fact]
    public async Task LoadAsync_AssemblyCode_LoadsIntoACollectibleNonDefaultContext()
    {
        var instance = await CreateAsync();

        await instance.LoadAsync(EchoFunction(), Tenant, CancellationToken.None);

        var context = instance.LoadContext;
        Assert.NotNull(context);
        Assert.True(context.IsCollectible);
        Assert.NotSame(AssemblyLoadContext.Default, context);
        var assembly = Assert.Single(context.Assemblies);
        var handlerType = assembly.GetType(TestFunctionsAssembly.EchoHandler, throwOnError: true)!;
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(handlerType.Assembly));
        Assert.True(AssemblyLoadContext.GetLoadContext(handlerType.Assembly)!.IsCollectible);

        // The contract is shared with the host (so the handler is the host's IFunctionHandler); the function assembly is not.
        Assert.True(typeof(IFunctionHandler).IsAssignableFrom(handlerType));
        Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => a.GetName().Name == "OnDemandExecution.TestFunctions");
        Assert.Equal("echo:hey:1", await InvokeTextAsync(instance, "echo", "hey"));
    }

    [Fact]
    public async Task LoadAsync_AssemblyCodeInTwoInstances_SeparateContextsAndState()
    {
        var a = await CreateAsync();
        var b = await CreateAsync();

        await a.LoadAsync(EchoFunction(), Tenant, CancellationToken.None);
        await b.LoadAsync(EchoFunction(), Tenant, CancellationToken.None);

        Assert.NotSame(a.LoadContext, b.LoadContext);
        var typeA = a.LoadContext!.Assemblies.Single().GetType(TestFunctionsAssembly.EchoHandler)!;
        var typeB = b.LoadContext!.Assemblies.Single().GetType(TestFunctionsAssembly.EchoHandler)!;
        Assert.NotSame(typeA, typeB);
        Assert.Equal("echo:x:1", await InvokeTextAsync(a, "echo", "x"));
        Assert.Equal("echo:x:2", await InvokeTextAsync(a, "echo", "x"));
        Assert.Equal("echo:x:3", await InvokeTextAsync(a, "echo", "x"));
        Assert.Equal("echo:x:1", await InvokeTextAsync(b, "echo", "x"));
        Assert.Equal("echo:x:4", await InvokeTextAsync(a, "echo", "x"));
    }

    [Fact]
    public async Task RecycleAsync_AssemblyCode_RequestsUnloadOfTheContext()
    {
        var instance = await CreateAsync();
        await instance.LoadAsync(EchoFunction(), Tenant, CancellationToken.None);
        var unloading = 0;
        instance.LoadContext!.Unloading += _ => Interlocked.Increment(ref unloading);

        Assert.True(await instance.RecycleAsync(CancellationToken.None));

        Assert.Equal(1, Volatile.Read(ref unloading));
        Assert.Null(instance.LoadContext);
        await instance.LoadAsync(EchoFunction(), Tenant, CancellationToken.None);
        Assert.Equal("echo:y:1", await InvokeTextAsync(instance, "echo", "y")); // a fresh context, fresh state
    }

    [Fact]
    public async Task RecycleAsync_AssemblyCode_ContextIsCollected()
    {
        var instance = await CreateAsync();
        var context = LoadEchoAndInvoke(instance);

        Assert.True(await instance.RecycleAsync(CancellationToken.None));

        for (var i = 0; i < 20 && context.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(context.IsAlive, "the function's load context was not collected after recycle");
    }

    [Fact]
    public async Task DisposeAsync_AssemblyCode_UnloadsTheContext()
    {
        var instance = await CreateAsync();
        await instance.LoadAsync(EchoFunction(), Tenant, CancellationToken.None);
        var unloading = 0;
        instance.LoadContext!.Unloading += _ => Interlocked.Increment(ref unloading);

        await instance.DisposeAsync();
        await instance.DisposeAsync();

        Assert.Equal(1, Volatile.Read(ref unloading));
    }

    [Fact]
    public async Task LoadAsync_MissingAssembly_ThrowsInstanceProviderException()
    {
        var instance = await CreateAsync();
        var path = Path.Combine(Path.GetDirectoryName(TestFunctionsAssembly.Path)!, "Missing.Functions.dll");

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(
            () => instance.LoadAsync(new FunctionDefinition("missing", new AssemblyFunctionCode(path, "X.Y")), Tenant, CancellationToken.None).AsTask());

        Assert.Contains("Missing.Functions.dll", ex.Message, StringComparison.Ordinal);
        Assert.Equal("missing", ex.FunctionName);
        Assert.Null(instance.LoadContext);
    }

    [Fact]
    public async Task LoadAsync_MissingType_ThrowsInstanceProviderExceptionAndInstanceStaysUsable()
    {
        var instance = await CreateAsync();

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(
            () => instance.LoadAsync(new FunctionDefinition("echo", new AssemblyFunctionCode(TestFunctionsAssembly.Path, "OnDemandExecution.TestFunctions.NoSuchType")), Tenant, CancellationToken.None).AsTask());

        Assert.Contains("NoSuchType", ex.Message, StringComparison.Ordinal);
        Assert.Null(instance.LoadContext);
        await instance.LoadAsync(EchoFunction(), Tenant, CancellationToken.None);
        Assert.Equal("echo:ok:1", await InvokeTextAsync(instance, "echo", "ok"));
    }

    [Fact]
    public async Task LoadAsync_AssemblyTypeNotImplementingInterface_ThrowsInstanceProviderException()
    {
        var instance = await CreateAsync();

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(
            () => instance.LoadAsync(new FunctionDefinition("nah", new AssemblyFunctionCode(TestFunctionsAssembly.Path, TestFunctionsAssembly.NotAHandler)), Tenant, CancellationToken.None).AsTask());

        Assert.Contains(TestFunctionsAssembly.NotAHandler, ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(IFunctionHandler), ex.Message, StringComparison.Ordinal);
        Assert.Null(instance.LoadContext);
    }

    [Fact]
    public async Task InvokeAsync_HandlerThrowsSynchronously_ThrowsFunctionExecutionExceptionWithInner()
    {
        var boom = new InvalidOperationException("boom");
        var instance = await LoadedAsync("fails", (_, _) => throw boom);

        var ex = await Assert.ThrowsAsync<FunctionExecutionException>(() => instance.InvokeAsync(Request("fails", "x"), CancellationToken.None).AsTask());

        Assert.Same(boom, ex.InnerException);
        Assert.Equal("fails", ex.FunctionName);
        Assert.Contains("boom", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_HandlerThrowsAsynchronously_ThrowsFunctionExecutionExceptionAndInstanceStaysUsable()
    {
        var calls = 0;
        var instance = await LoadedAsync("flaky", async (_, _) =>
        {
            await Task.Yield();
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new FormatException("bad input");
            }

            return Encoding.UTF8.GetBytes("fine");
        });

        var ex = await Assert.ThrowsAsync<FunctionExecutionException>(() => instance.InvokeAsync(Request("flaky", "x"), CancellationToken.None).AsTask());

        Assert.IsType<FormatException>(ex.InnerException);
        Assert.Equal("fine", await InvokeTextAsync(instance, "flaky", "x"));
    }

    [Fact]
    public async Task InvokeAsync_HandlerHonoursCancelledToken_ThrowsOperationCanceledException()
    {
        var instance = await LoadedAsync("slow", async (_, ct) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return ReadOnlyMemory<byte>.Empty;
        });
        using var cts = new CancellationTokenSource();

        var call = instance.InvokeAsync(Request("slow", "x"), cts.Token).AsTask();
        await cts.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.IsNotType<FunctionExecutionException>(ex);
    }

    [Fact]
    public async Task InvokeAsync_HandlerThrowsCancellationOfItsOwn_IsAFunctionError()
    {
        var instance = await LoadedAsync("own-cancel", (_, _) => throw new OperationCanceledException("inner timeout"));

        var ex = await Assert.ThrowsAsync<FunctionExecutionException>(() => instance.InvokeAsync(Request("own-cancel", "x"), CancellationToken.None).AsTask());

        Assert.IsType<OperationCanceledException>(ex.InnerException);
    }

    [Fact]
    public async Task InvokeAsync_NothingLoaded_Throws()
    {
        var instance = await CreateAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => instance.InvokeAsync(Request("f", "x"), CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task DisposedInstance_InvokeAndLoad_ThrowInstanceDiedException()
    {
        var instance = await LoadedAsync("f", (_, _) => new(Encoding.UTF8.GetBytes("ok")));

        await instance.DisposeAsync();

        var invoke = await Assert.ThrowsAsync<InstanceDiedException>(() => instance.InvokeAsync(Request("f", "x"), CancellationToken.None).AsTask());
        Assert.Equal(instance.Id, invoke.InstanceId);
        await Assert.ThrowsAsync<InstanceDiedException>(
            () => instance.LoadAsync(new FunctionDefinition("g", new DelegateFunctionCode(TestHost.Noop)), Tenant, CancellationToken.None).AsTask());
        Assert.Equal(InstanceHealth.Dead, await instance.CheckHealthAsync(CancellationToken.None));
        Assert.False(await instance.RecycleAsync(CancellationToken.None));
    }

    [Fact]
    public async Task DisposeAsync_HandlerType_DisposesTheHandler()
    {
        var instance = await CreateAsync();
        await instance.LoadAsync(new FunctionDefinition("greet", new HandlerTypeFunctionCode(typeof(GreetingHandler))), Tenant, CancellationToken.None);
        var disposedBefore = GreetingHandler.DisposedCount;

        await instance.DisposeAsync();

        Assert.Equal(1, GreetingHandler.DisposedCount - disposedBefore);
    }

    private static FunctionDefinition EchoFunction() => new("echo", new AssemblyFunctionCode(TestFunctionsAssembly.Path, TestFunctionsAssembly.EchoHandler));

    private static InvocationRequest Request(string function, string payload, string? invocationId = null) =>
        new(function, Encoding.UTF8.GetBytes(payload), Tenant, invocationId);

    private static async Task<string> InvokeTextAsync(IInstance instance, string function, string payload) =>
        Encoding.UTF8.GetString((await instance.InvokeAsync(Request(function, payload), CancellationToken.None)).Span);

    /// <summary>Loads and runs the echo function, and returns only a weak reference to its load context.</summary>
    /// <remarks>Not inlined and not async, so no strong reference to the context outlives this frame.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference LoadEchoAndInvoke(InProcessInstance instance)
    {
        var load = instance.LoadAsync(EchoFunction(), Tenant, CancellationToken.None).AsTask();
        Assert.True(load.IsCompletedSuccessfully);
        var call = instance.InvokeAsync(Request("echo", "weak"), CancellationToken.None).AsTask();
        Assert.True(call.IsCompletedSuccessfully);
        Assert.Equal("echo:weak:1", Encoding.UTF8.GetString(call.Result.Span));
        var context = instance.LoadContext;
        Assert.NotNull(context);
        return new WeakReference(context);
    }

    private async Task<InProcessInstance> CreateAsync()
    {
        var instance = await _provider.CreateAsync(new InstanceSpec(), CancellationToken.None);
        _instances.Add(instance);
        return Assert.IsType<InProcessInstance>(instance);
    }

    private async Task<InProcessInstance> LoadedAsync(string name, FunctionHandler handler)
    {
        var instance = await CreateAsync();
        await instance.LoadAsync(new FunctionDefinition(name, new DelegateFunctionCode(handler)), Tenant, CancellationToken.None);
        return instance;
    }

    private sealed record WasmCode : FunctionCode
    {
        public override string Kind => "wasm";
    }
}
