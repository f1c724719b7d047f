using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;

namespace OnDemandExecution.InProcess;

/// <summary>One in-process instance: at most one function's handler, and for assembly code its own load context.</summary>
internal sealed class InProcessInstance : IInstance
{
    private readonly IServiceProvider _services;
    private readonly IAuxiliaryCallSink? _auxiliaryCalls;
    private FunctionHandler? _handler;
    private object? _handlerObject;
    private FunctionLoadContext? _loadContext;
    private string? _functionName;
    private int _disposed;
    private Task? _running; // the last call that did not complete synchronously (for StopWorkAsync)

    public InProcessInstance(string id, IServiceProvider services)
    {
        Id = id;
        _services = services;
        _auxiliaryCalls = services.GetService<IAuxiliaryCallSink>();
    }

    public string Id { get; }

    public InstanceLocation Location => InstanceLocation.Local;

    /// <summary>The load context of assembly code, for tests that check it unloads.</summary>
    internal FunctionLoadContext? LoadContext => _loadContext;

    public ValueTask LoadAsync(FunctionDefinition definition, TenantId tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var function = definition;
        ThrowIfDead();
        cancellationToken.ThrowIfCancellationRequested();
        if (_handler is not null)
        {
            throw new InvalidOperationException($"Instance {Id} already holds function '{_functionName}'; recycle it before loading '{function.Name}'.");
        }

        switch (function.Code)
        {
            case DelegateFunctionCode d:
                _handler = d.Handler;
                break;
            case HandlerTypeFunctionCode t:
                var handler = ActivatorUtilities.CreateInstance(_services, t.HandlerType) as IFunctionHandler
                    ?? throw new InstanceProviderException($"Handler type {t.HandlerType} of function '{function.Name}' does not implement {nameof(IFunctionHandler)}.") { FunctionName = function.Name };
                _handlerObject = handler;
                _handler = handler.HandleAsync;
                break;
            case AssemblyFunctionCode a:
                LoadAssembly(function.Name, a);
                break;
            default:
                throw new InstanceProviderException($"The in-process provider cannot load {function.Code.Kind} code (function '{function.Name}').") { FunctionName = function.Name, ProviderName = "in-process" };
        }

        _functionName = function.Name;
        return default;
    }

    public ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfDead();
        var handler = _handler ?? throw new InvalidOperationException($"Instance {Id} has no function loaded.");
        ValueTask<ReadOnlyMemory<byte>> call;
        try
        {
            call = handler(new FunctionContext(request, Id) { Location = Location, AuxiliaryCalls = _auxiliaryCalls, Frame = Execution.InvocationFrame.Take(request) }, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw Wrap(ex);
        }

        if (call.IsCompletedSuccessfully)
        {
            return call;
        }

        var running = AwaitAsync(call, cancellationToken).AsTask();
        _running = running;
        return new ValueTask<ReadOnlyMemory<byte>>(running);
    }

    /// <summary>Not disposed (an in-process instance dies only by being disposed).</summary>
    public bool IsAlive => Volatile.Read(ref _disposed) == 0;

    /// <summary>
    /// True once the interrupted call's task has completed (the handler returned or threw): in-process there is nothing
    /// else to stop. A handler that ignores its token keeps running, so this waits for it until
    /// <paramref name="cancellationToken"/> fires, and then reports false.
    /// </summary>
    public async ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
    {
        var running = Volatile.Read(ref _running);
        if (running is null || running.IsCompleted)
        {
            return Volatile.Read(ref _disposed) == 0;
        }

        try
        {
            await ((Task)running).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                .WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        return Volatile.Read(ref _disposed) == 0;
    }

    public async ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return false;
        }

        await ReleaseCodeAsync().ConfigureAwait(false);
        return true;
    }

    public ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken) =>
        new(Volatile.Read(ref _disposed) != 0 ? InstanceHealth.Dead : InstanceHealth.Healthy);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await ReleaseCodeAsync().ConfigureAwait(false);
    }

    private async ValueTask<ReadOnlyMemory<byte>> AwaitAsync(ValueTask<ReadOnlyMemory<byte>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw Wrap(ex);
        }
    }

    private FunctionExecutionException Wrap(Exception ex) =>
        new($"Function '{_functionName}' failed on instance {Id}: {ex.GetType().Name}: {ex.Message}", ex) { FunctionName = _functionName };

    private void ThrowIfDead()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new InstanceDiedException($"Instance {Id} was disposed.") { InstanceId = Id };
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Loading function assemblies is inherently dynamic; documented as not trim-safe.")]
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Loading function assemblies is inherently dynamic; documented as not trim-safe.")]
    // Reached only for AssemblyFunctionCode, whose creation carries RequiresUnreferencedCode and RequiresDynamicCode:
    // an application that registers one has been warned; one that does not never gets here.
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only for AssemblyFunctionCode, whose constructor requires unreferenced code.")]
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Only for AssemblyFunctionCode, whose constructor requires unreferenced code.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Only for AssemblyFunctionCode, whose constructor requires unreferenced code.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Only for AssemblyFunctionCode, whose constructor requires dynamic code.")]
    private void LoadAssembly(string functionName, AssemblyFunctionCode code)
    {
        var path = Path.GetFullPath(code.AssemblyPath);
        if (!File.Exists(path))
        {
            throw new InstanceProviderException($"Function '{functionName}': assembly '{path}' does not exist.") { FunctionName = functionName, ProviderName = "in-process" };
        }

        var context = new FunctionLoadContext($"{functionName}@{Id}", path);
        try
        {
            var assembly = context.LoadFromAssemblyPath(path);
            var type = assembly.GetType(code.HandlerTypeName, throwOnError: false)
                ?? throw new InstanceProviderException($"Function '{functionName}': type '{code.HandlerTypeName}' was not found in '{path}'.") { FunctionName = functionName };
            if (!typeof(IFunctionHandler).IsAssignableFrom(type))
            {
                throw new InstanceProviderException($"Function '{functionName}': type '{type.FullName}' does not implement {typeof(IFunctionHandler).FullName} (from the host's OnDemandExecution assembly).") { FunctionName = functionName };
            }

            var handler = (IFunctionHandler)Activator.CreateInstance(type)!;

            // "Loading" includes compiling the entry point (for an async handler, its stub: the state machine's body is
            // still compiled on the first call). Each instance loads its own copy, so each pays this once.
            var map = type.GetInterfaceMap(typeof(IFunctionHandler));
            foreach (var method in map.TargetMethods)
            {
                if (!method.IsAbstract && !method.ContainsGenericParameters)
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                }
            }

            _loadContext = context;
            _handlerObject = handler;
            _handler = handler.HandleAsync;
        }
        catch (Exception ex) when (ex is not InstanceProviderException)
        {
            context.Unload();
            throw new InstanceProviderException($"Function '{functionName}': loading '{path}' failed: {ex.Message}", ex) { FunctionName = functionName, ProviderName = "in-process" };
        }
        catch
        {
            context.Unload();
            throw;
        }
    }

    private async ValueTask ReleaseCodeAsync()
    {
        var handlerObject = _handlerObject;
        var context = _loadContext;
        _handler = null;
        _handlerObject = null;
        _loadContext = null;
        _functionName = null;
        switch (handlerObject)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        context?.Unload();
    }
}
