using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace OnDemandExecution.HyperV.Hcs;

/// <summary>The seam bound to computecore.dll. Windows only; never exercised by this repository's tests (see docs/providers/hyper-v.md).</summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class HcsApi : IHcsApi
{
    public HcsOperationHandle CreateOperation() => HcsNativeMethods.HcsCreateOperation(0, 0);

    public int CreateComputeSystem(string id, string configuration, HcsOperationHandle operation, out HcsSystemHandle computeSystem)
        => HcsNativeMethods.HcsCreateComputeSystem(id, configuration, operation, 0, out computeSystem);

    public int StartComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options)
        => HcsNativeMethods.HcsStartComputeSystem(computeSystem, operation, options);

    public int ShutDownComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options)
        => HcsNativeMethods.HcsShutDownComputeSystem(computeSystem, operation, options);

    public int TerminateComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options)
        => HcsNativeMethods.HcsTerminateComputeSystem(computeSystem, operation, options);

    public int PauseComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options)
        => HcsNativeMethods.HcsPauseComputeSystem(computeSystem, operation, options);

    public int ResumeComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options)
        => HcsNativeMethods.HcsResumeComputeSystem(computeSystem, operation, options);

    public int SaveComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options)
        => HcsNativeMethods.HcsSaveComputeSystem(computeSystem, operation, options);

    public int GetComputeSystemProperties(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? propertyQuery)
        => HcsNativeMethods.HcsGetComputeSystemProperties(computeSystem, operation, propertyQuery);

    public int WaitForOperationResult(HcsOperationHandle operation, uint timeoutMs, out string? resultDocument)
    {
        var hr = HcsNativeMethods.HcsWaitForOperationResult(operation, timeoutMs, out var document);
        resultDocument = null;
        if (document != 0)
        {
            resultDocument = Marshal.PtrToStringUni(document);
            HcsNativeMethods.LocalFree(document);
        }

        return hr;
    }

    public int SetComputeSystemCallback(HcsSystemHandle computeSystem, HcsEventCallback callback)
    {
        ArgumentNullException.ThrowIfNull(computeSystem);
        ArgumentNullException.ThrowIfNull(callback);
        if (computeSystem.CallbackContext.IsAllocated)
        {
            return HcsErrors.HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET;
        }

        // the GC handle keeps the delegate alive while HCS may call back; the system handle frees it after closing
        var context = GCHandle.Alloc(callback);
        var hr = HcsNativeMethods.HcsSetComputeSystemCallback(computeSystem, 0 /* HcsEventOptionNone */, GCHandle.ToIntPtr(context), &HcsNativeMethods.OnEvent);
        if (hr < 0)
        {
            context.Free();
        }
        else
        {
            computeSystem.CallbackContext = context;
        }

        return hr;
    }
}
