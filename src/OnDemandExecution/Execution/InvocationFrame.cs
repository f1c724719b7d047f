using OnDemandExecution.Sidecars;

namespace OnDemandExecution.Execution;

/// <summary>
/// The invocation a handler runs in, as the executor sees it: what the handler-facing API
/// (<see cref="FunctionContextExtensions"/>) trusts for the tenant, the sidecars and nested calls.
/// </summary>
/// <remarks>
/// Carried in an <see cref="AsyncLocal{T}"/> set by the executor around <see cref="IInstance.InvokeAsync"/>, so it
/// flows into handlers that run in this process (the in-process provider) and into everything they start. It is
/// marked inactive when the call ends: a task the handler leaves running cannot use it afterwards.
/// </remarks>
internal sealed class InvocationFrame
{
    private static readonly AsyncLocal<InvocationFrame?> CurrentFrame = new();

    /// <summary>The frame the executor hands to the built-in in-process instance it is calling on this thread.</summary>
    [ThreadStatic]
    private static InvocationFrame? t_offered;
    private int _ended;

    public InvocationFrame(InvocationRequest request, FunctionExecutor executor, SidecarAttachment? sidecars)
    {
        Request = request;
        Executor = executor;
        Sidecars = sidecars;
    }

    /// <summary>The frame of the invocation running on this flow, or null.</summary>
    public static InvocationFrame? Current
    {
        get => CurrentFrame.Value;
        set => CurrentFrame.Value = value;
    }

    /// <summary>The request, as the executor received it (its tenant is the caller's).</summary>
    public InvocationRequest Request { get; }

    public FunctionExecutor Executor { get; }

    /// <summary>The sidecars attached to the invocation, or null when its function declares none.</summary>
    public SidecarAttachment? Sidecars { get; }

    /// <summary>True until the invocation's call ends.</summary>
    public bool IsActive => Volatile.Read(ref _ended) == 0;

    public void End() => Volatile.Write(ref _ended, 1);

    /// <summary>
    /// Offers <paramref name="frame"/> to the instance about to be called on this thread (null withdraws it). The
    /// built-in in-process instance takes it synchronously, at the start of its invoke, into the context it creates,
    /// so its handlers reach their frame without an <see cref="AsyncLocal{T}"/> (and its ExecutionContext copy per call).
    /// </summary>
    public static void Offer(InvocationFrame? frame) => t_offered = frame;

    /// <summary>Takes the frame offered on this thread for <paramref name="request"/> (null when there is none for it).</summary>
    public static InvocationFrame? Take(InvocationRequest request)
    {
        var frame = t_offered;
        t_offered = null;
        return frame is not null && ReferenceEquals(frame.Request, request) ? frame : null;
    }

    /// <summary>The active frame of <paramref name="context"/>'s invocation; throws when the context is not the running invocation's.</summary>
    public static InvocationFrame For(FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var frame = context.Frame ?? Current;

        // The request object must be the executor's own: a handler cannot forge a context for another tenant.
        if (frame is null || !frame.IsActive || !ReferenceEquals(frame.Request, context.Request))
        {
            throw new SidecarAccessDeniedException(
                "This call is only allowed from inside the running invocation of this context (on a provider that runs handlers in this process), and only while it runs.");
        }

        return frame;
    }
}
