using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace OnDemandExecution.HyperV.Hcs;

/// <summary>
/// P/Invoke bindings to computecore.dll (the Host Compute Service API v2, Windows 10 1809 / Server 2019 and later),
/// with source-generated marshalling. Each signature is copied from ComputeCore.h as Microsoft's HCS reference
/// gives it (virtualization/api/hcs/Reference/&lt;function&gt;.md); the parameter order of <c>HcsCreateOperation</c>
/// (context first, then callback) follows the Windows SDK metadata (windows-sys
/// Win32::System::HostComputeSystem::HcsCreateOperation), since the reference page lists them the other way round
/// without a comma. Only used through <see cref="HcsApi"/>.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class HcsNativeMethods
{
    private const string ComputeCore = "computecore.dll";

    /// <summary>The <c>HCS_EVENT</c> struct (ComputeDefs.h; virtualization/api/hcs/Reference/HCS_EVENT.md).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct HcsEvent
    {
        public HcsEventType Type;
        public char* EventData;
        public nint Operation;
    }

    // HCS_OPERATION WINAPI HcsCreateOperation(_In_opt_ const void* context, _In_opt_ HCS_OPERATION_COMPLETION callback);
    [LibraryImport(ComputeCore)]
    internal static partial HcsOperationHandle HcsCreateOperation(nint context, nint callback);

    // void WINAPI HcsCloseOperation(_In_ HCS_OPERATION operation);
    [LibraryImport(ComputeCore)]
    internal static partial void HcsCloseOperation(nint operation);

    // HRESULT WINAPI HcsCreateComputeSystem(_In_ PCWSTR id, _In_ PCWSTR configuration, _In_ HCS_OPERATION operation,
    //     _In_opt_ const SECURITY_DESCRIPTOR* securityDescriptor, _Out_ HCS_SYSTEM* computeSystem);
    [LibraryImport(ComputeCore, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial int HcsCreateComputeSystem(string id, string configuration, HcsOperationHandle operation, nint securityDescriptor, out HcsSystemHandle computeSystem);

    // HRESULT WINAPI HcsStartComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
    [LibraryImport(ComputeCore, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial int HcsStartComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    // HRESULT WINAPI HcsShutDownComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
    [LibraryImport(ComputeCore, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial int HcsShutDownComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    // HRESULT WINAPI HcsTerminateComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
    [LibraryImport(ComputeCore, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial int HcsTerminateComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    // HRESULT WINAPI HcsPauseComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
    [LibraryImport(ComputeCore, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial int HcsPauseComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    // HRESULT WINAPI HcsResumeComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
    [LibraryImport(ComputeCore, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial int HcsResumeComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    // HRESULT WINAPI HcsSaveComputeSystem(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation, _In_opt_ PCWSTR options);
    [LibraryImport(ComputeCore, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial int HcsSaveComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    // HRESULT WINAPI HcsGetComputeSystemProperties(_In_ HCS_SYSTEM computeSystem, _In_ HCS_OPERATION operation, _In_opt_ PCWSTR propertyQuery);
    [LibraryImport(ComputeCore, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial int HcsGetComputeSystemProperties(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? propertyQuery);

    // HRESULT WINAPI HcsWaitForOperationResult(_In_ HCS_OPERATION operation, _In_ DWORD timeoutMs, _Outptr_opt_ PWSTR* resultDocument);
    // The result document is released by the caller with LocalFree.
    [LibraryImport(ComputeCore)]
    internal static partial int HcsWaitForOperationResult(HcsOperationHandle operation, uint timeoutMs, out nint resultDocument);

    // HRESULT WINAPI HcsSetComputeSystemCallback(_In_ HCS_SYSTEM computeSystem, _In_ HCS_EVENT_OPTIONS callbackOptions,
    //     _In_opt_ const void* context, _In_ HCS_EVENT_CALLBACK callback);
    [LibraryImport(ComputeCore)]
    internal static partial int HcsSetComputeSystemCallback(HcsSystemHandle computeSystem, int callbackOptions, nint context, delegate* unmanaged[Stdcall]<HcsEvent*, void*, void> callback);

    // void WINAPI HcsCloseComputeSystem(_In_ HCS_SYSTEM computeSystem);
    [LibraryImport(ComputeCore)]
    internal static partial void HcsCloseComputeSystem(nint computeSystem);

    // HLOCAL WINAPI LocalFree(_Frees_ptr_opt_ HLOCAL hMem);
    [LibraryImport("kernel32.dll")]
    internal static partial nint LocalFree(nint memory);

    /// <summary>The <c>HCS_EVENT_CALLBACK</c> every system's events arrive at; the context is a GC handle to the managed <see cref="HcsEventCallback"/>.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    internal static void OnEvent(HcsEvent* e, void* context)
    {
        try
        {
            if (e is null || context is null || GCHandle.FromIntPtr((nint)context).Target is not HcsEventCallback callback)
            {
                return;
            }

            callback(e->Type, e->EventData is null ? null : new string(e->EventData));
        }
        catch (Exception)
        {
            // an exception must not unwind into computecore.dll; the callback's own code logs what it needs to
        }
    }
}
