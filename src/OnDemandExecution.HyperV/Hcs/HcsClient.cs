using System.Globalization;

namespace OnDemandExecution.HyperV.Hcs;

/// <summary>
/// Runs HCS calls the way Microsoft's async model describes (virtualization/api/hcs/AsyncModel.md): create an
/// operation, pass it to the call, wait for its result, close it. Every operation handle is closed exactly once,
/// whatever happens (a failed call, a failed operation, a timeout, a cancellation; closing an operation still in
/// progress cancels it). The wait runs in slices of <see cref="WaitSlice"/> on the thread pool, so a timeout or a
/// cancellation is noticed within one slice and time comes from <see cref="TimeProvider"/>.
/// </summary>
internal sealed class HcsClient
{
    public HcsClient(IHcsApi api, TimeProvider timeProvider, TimeSpan waitSlice)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Api = api;
        TimeProvider = timeProvider;
        WaitSlice = waitSlice;
    }

    public IHcsApi Api { get; }

    public TimeProvider TimeProvider { get; }

    public TimeSpan WaitSlice { get; }

    /// <summary>Creates a compute system; on success the caller owns the returned handle.</summary>
    public async Task<HcsSystemHandle> CreateComputeSystemAsync(string id, string configuration, TimeSpan timeout, CancellationToken cancellationToken)
    {
        HcsSystemHandle? system = null;
        try
        {
            await RunAsync(
                "HcsCreateComputeSystem",
                op =>
                {
                    var hr = Api.CreateComputeSystem(id, configuration, op, out var s);
                    system = s;
                    return hr;
                },
                timeout,
                cancellationToken).ConfigureAwait(false);
            if (system is null || system.IsInvalid)
            {
                throw new HcsException("HcsCreateComputeSystem succeeded but returned no compute-system handle.");
            }

            return system;
        }
        catch
        {
            system?.Dispose();
            throw;
        }
    }

    /// <summary>Runs one HCS call tracked by an operation and returns the operation's result document.</summary>
    /// <exception cref="HcsException">The call or the operation failed.</exception>
    /// <exception cref="TimeoutException">The operation did not finish within <paramref name="timeout"/> (it is cancelled).</exception>
    public async Task<string?> RunAsync(string name, Func<HcsOperationHandle, int> call, TimeSpan timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var operation = Api.CreateOperation();
        if (operation.IsInvalid)
        {
            throw new HcsException("HcsCreateOperation", HcsErrors.E_OUTOFMEMORY, null);
        }

        var hr = call(operation);
        if (hr < 0)
        {
            throw new HcsException(name, hr, null);
        }

        var started = TimeProvider.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var remaining = timeout - TimeProvider.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{name} did not complete within {timeout.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s.");
            }

            var slice = (uint)Math.Clamp(Math.Min(remaining.TotalMilliseconds, WaitSlice.TotalMilliseconds), 1, uint.MaxValue - 1);
            var (result, document) = await Task.Run(
                () =>
                {
                    var r = Api.WaitForOperationResult(operation, slice, out var d);
                    return (r, d);
                },
                CancellationToken.None).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (result == HcsErrors.HCS_E_OPERATION_TIMEOUT || result == HcsErrors.HCS_E_OPERATION_PENDING)
            {
                continue;
            }

            if (result < 0)
            {
                throw new HcsException(name, result, document);
            }

            // some calls report success on the wait but a failure in the document
            if (HcsResultDocument.ErrorCode(document) is { } error)
            {
                throw new HcsException(name, error, document);
            }

            return document;
        }
    }
}
