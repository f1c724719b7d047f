using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OnDemandExecution.HyperV.Hcs;

/// <summary>
/// An <c>HCS_OPERATION</c>. Released with <c>HcsCloseOperation</c> (which also cancels an operation still in
/// progress, per virtualization/api/hcs/Reference/HcsCloseOperation.md), or with the closer a test seam gave it.
/// Being a SafeHandle, a close that races a P/Invoke still using the handle waits until that call returns.
/// </summary>
internal sealed class HcsOperationHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly Action<nint>? _close;

    /// <summary>Used by the LibraryImport marshaller for handles that computecore.dll returns.</summary>
    public HcsOperationHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>A handle released by <paramref name="close"/> instead of computecore.dll (the test seam).</summary>
    public HcsOperationHandle(nint handle, Action<nint> close)
        : base(ownsHandle: true)
    {
        SetHandle(handle);
        _close = close;
    }

    protected override bool ReleaseHandle()
    {
        if (_close is not null)
        {
            _close(handle);
        }
        else if (OperatingSystem.IsWindows())
        {
            HcsNativeMethods.HcsCloseOperation(handle);
        }

        return true;
    }
}

/// <summary>
/// An <c>HCS_SYSTEM</c>. Released with <c>HcsCloseComputeSystem</c>, after which no event callback arrives for it, so
/// the GC handle that kept the callback's target alive is freed after the close.
/// </summary>
internal sealed class HcsSystemHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly Action<nint>? _close;

    /// <summary>Used by the LibraryImport marshaller for handles that computecore.dll returns.</summary>
    public HcsSystemHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>A handle released by <paramref name="close"/> instead of computecore.dll (the test seam).</summary>
    public HcsSystemHandle(nint handle, Action<nint> close)
        : base(ownsHandle: true)
    {
        SetHandle(handle);
        _close = close;
    }

    /// <summary>The GC handle passed as the context of <c>HcsSetComputeSystemCallback</c>; freed after the system handle closes.</summary>
    internal GCHandle CallbackContext { get; set; }

    protected override bool ReleaseHandle()
    {
        if (_close is not null)
        {
            _close(handle);
        }
        else if (OperatingSystem.IsWindows())
        {
            HcsNativeMethods.HcsCloseComputeSystem(handle);
        }

        if (CallbackContext.IsAllocated)
        {
            CallbackContext.Free();
        }

        return true;
    }
}
