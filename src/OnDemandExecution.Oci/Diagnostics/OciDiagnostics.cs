namespace OnDemandExecution.Oci.Diagnostics;

/// <summary>
/// The OCI provider's instrument and span names. They are published on the library's one meter and activity source
/// (both named <c>OnDemandExecution</c>, see <see cref="OnDemandExecution.Diagnostics.OnDemandExecutionDiagnostics"/>).
/// </summary>
public static class OciDiagnostics
{
    /// <summary>Histogram of the time from <c>runtime create</c> to the guest agent's first answer, in seconds.</summary>
    public const string StartDuration = "ondemand.oci.start.duration";

    /// <summary>Counter of containers that died or whose agent stopped answering while in use.</summary>
    public const string InstancesDied = "ondemand.oci.instances.died";

    /// <summary>Counter of containers of crashed host processes removed when a provider started.</summary>
    public const string OrphansReclaimed = "ondemand.oci.orphans.reclaimed";

    /// <summary>Span around creating and starting one container until its agent is ready.</summary>
    public const string StartActivity = "ondemand.oci.start";
}
