// Documents HCS takes as options or returns as results, from microsoft/hcsshim internal/hcs/schema2
// (pause_options.go, save_options.go, system_exit_status.go, properties.go) and internal/hcs/errors.go (hcsResult,
// ErrorEvent), and Microsoft's samples (virtualization/api/hcs/Reference/ComputeSystemSample.md: pause with
// SuspensionLevel "Suspend" and HostedNotification.Reason "Save" before HcsSaveComputeSystem with SaveType "ToFile").
namespace OnDemandExecution.HyperV.Hcs.Schema;

internal sealed record PauseOptions
{
    /// <summary><c>Suspend</c>.</summary>
    public string? SuspensionLevel { get; init; }

    public PauseNotification? HostedNotification { get; init; }
}

internal sealed record PauseNotification
{
    /// <summary><c>Save</c> when the pause precedes a save; otherwise omitted.</summary>
    public string? Reason { get; init; }
}

internal sealed record SaveOptions
{
    /// <summary><c>ToFile</c>.</summary>
    public string? SaveType { get; init; }

    public string? SaveStateFilePath { get; init; }
}

/// <summary>The error document of a failed call or operation.</summary>
internal sealed record HcsResult
{
    public int Error { get; init; }

    public string? ErrorMessage { get; init; }

    public List<HcsErrorEvent>? ErrorEvents { get; init; }
}

internal sealed record HcsErrorEvent
{
    public string? Message { get; init; }

    public string? Provider { get; init; }

    public int? EventId { get; init; }
}

/// <summary>The <c>EventData</c> of an <c>HcsEventSystemExited</c> event.</summary>
internal sealed record SystemExitStatus
{
    /// <summary>The system's exit status, an HRESULT (0 for a clean shutdown).</summary>
    public int Status { get; init; }

    /// <summary>Why it exited (<c>GracefulExit</c>, <c>ForcedExit</c>, <c>UnexpectedExit</c>...).</summary>
    public string? ExitType { get; init; }
}

/// <summary>The result of <c>HcsGetComputeSystemProperties</c> (only what this provider reads).</summary>
internal sealed record ComputeSystemProperties
{
    public string? Id { get; init; }

    /// <summary>The VM's runtime GUID: the VM id of its Hyper-V sockets.</summary>
    public string? RuntimeId { get; init; }

    public string? State { get; init; }
}
