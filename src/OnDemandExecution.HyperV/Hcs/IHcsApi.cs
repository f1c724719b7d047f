namespace OnDemandExecution.HyperV.Hcs;

/// <summary>
/// The seam: the computecore.dll calls this provider makes, one method per HCS function with the same parameters and
/// HRESULT results, handles as SafeHandles. <see cref="HcsApi"/> binds it to computecore.dll on Windows; tests
/// substitute it, so that everything above it (operation lifetimes, waits, timeouts, error mapping, handle closing)
/// runs on any OS. Signatures follow ComputeCore.h as published in Microsoft's HCS reference
/// (virtualization/api/hcs/Reference/Hcs*.md in MicrosoftDocs/Virtualization-Documentation) and the Windows SDK
/// metadata (the windows-sys HostComputeSystem bindings), not hcsshim's internal/vmcompute, which binds the older
/// vmcompute.dll API (HcsCreateComputeSystem with an identity handle and a result out-parameter).
/// </summary>
internal interface IHcsApi
{
    /// <summary><c>HcsCreateOperation(context: NULL, callback: NULL)</c>: an operation waited on with <see cref="WaitForOperationResult"/>. Invalid when HCS is out of resources.</summary>
    HcsOperationHandle CreateOperation();

    /// <summary><c>HcsCreateComputeSystem(id, configuration, operation, securityDescriptor: NULL, &amp;computeSystem)</c>.</summary>
    int CreateComputeSystem(string id, string configuration, HcsOperationHandle operation, out HcsSystemHandle computeSystem);

    /// <summary><c>HcsStartComputeSystem(computeSystem, operation, options: NULL)</c>.</summary>
    int StartComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    /// <summary><c>HcsShutDownComputeSystem(computeSystem, operation, options: NULL)</c>: a clean guest shutdown.</summary>
    int ShutDownComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    /// <summary><c>HcsTerminateComputeSystem(computeSystem, operation, options)</c>: a forced stop.</summary>
    int TerminateComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    /// <summary><c>HcsPauseComputeSystem(computeSystem, operation, options)</c>; options is a PauseOptions document or null.</summary>
    int PauseComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    /// <summary><c>HcsResumeComputeSystem(computeSystem, operation, options: NULL)</c>.</summary>
    int ResumeComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    /// <summary><c>HcsSaveComputeSystem(computeSystem, operation, options)</c>; options is a SaveOptions document.</summary>
    int SaveComputeSystem(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? options);

    /// <summary><c>HcsGetComputeSystemProperties(computeSystem, operation, propertyQuery)</c>; the properties are the operation's result document.</summary>
    int GetComputeSystemProperties(HcsSystemHandle computeSystem, HcsOperationHandle operation, string? propertyQuery);

    /// <summary>
    /// <c>HcsWaitForOperationResult(operation, timeoutMs, &amp;resultDocument)</c>: blocks up to <paramref name="timeoutMs"/>;
    /// returns <see cref="HcsErrors.HCS_E_OPERATION_TIMEOUT"/> while the operation runs, else its HRESULT, with its
    /// result or error document (the native string is freed with LocalFree before this returns).
    /// </summary>
    int WaitForOperationResult(HcsOperationHandle operation, uint timeoutMs, out string? resultDocument);

    /// <summary>
    /// <c>HcsSetComputeSystemCallback(computeSystem, HcsEventOptionNone, context, callback)</c>: <paramref name="callback"/>
    /// is called on an HCS thread for every event of the system until its handle is closed.
    /// </summary>
    int SetComputeSystemCallback(HcsSystemHandle computeSystem, HcsEventCallback callback);
}
