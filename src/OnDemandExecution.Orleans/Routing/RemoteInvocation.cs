namespace OnDemandExecution.Orleans.Routing;

/// <summary>A call sent to another host.</summary>
[GenerateSerializer, Immutable]
internal sealed record RemoteInvocation(
    [property: Id(0)] string Function,
    [property: Id(1)] string Tenant,
    [property: Id(2)] byte[] Payload,
    [property: Id(3)] string InvocationId,
    [property: Id(4)] int Route)
{
    public static RemoteInvocation From(InvocationRequest request, RouteKind route) =>
        new(request.FunctionName, request.Tenant.Value, request.Payload.ToArray(), request.InvocationId, (int)route);

    public InvocationRequest ToRequest() => new(Function, Payload, new TenantId(Tenant), InvocationId);
}

/// <summary>
/// A host's answer: the result, or the failure's type and message (the library's exceptions are rebuilt on the caller's
/// side with their own types; see <see cref="RemoteFailures"/>).
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record RemoteResult(
    [property: Id(0)] SiloAddress Host,
    [property: Id(1)] string HostName,
    [property: Id(2)] byte[]? Output,
    [property: Id(3)] int StartKind,
    [property: Id(4)] TimeSpan QueueWait,
    [property: Id(5)] TimeSpan Provisioning,
    [property: Id(6)] TimeSpan CodeLoad,
    [property: Id(7)] TimeSpan Execution,
    [property: Id(8)] TimeSpan Total,
    [property: Id(9)] string? InstanceId,
    [property: Id(10)] string InvocationId,
    [property: Id(11)] int Origin,
    [property: Id(12)] string? ErrorType,
    [property: Id(13)] string? ErrorMessage)
{
    /// <summary>The route the call took (<see cref="RouteKind"/>), set by a client ingress.</summary>
    [Id(14)]
    public int Route { get; init; }

    public static RemoteResult Success(SiloAddress host, string hostName, InvocationResult r) =>
        new(host, hostName, r.Output.ToArray(), (int)r.StartKind, r.Timings.QueueWait, r.Timings.Provisioning, r.Timings.CodeLoad,
            r.Timings.Execution, r.Timings.Total, r.InstanceId, r.InvocationId, (int)r.Origin, null, null);

    public static RemoteResult Failure(SiloAddress host, string hostName, string invocationId, Exception ex) =>
        new(host, hostName, null, 0, default, default, default, default, default, null, invocationId, 0, ex.GetType().FullName, ex.Message);

    public InvocationResult ToResult() =>
        new(Output ?? [], (StartKind)StartKind, new InvocationTimings(QueueWait, Provisioning, CodeLoad, Execution, Total), InstanceId ?? string.Empty, InvocationId)
        {
            Origin = (ResultOrigin)Origin,
        };
}

/// <summary>Rebuilds a remote host's failure as the library's exception of the same type.</summary>
internal static class RemoteFailures
{
    public static Exception Rebuild(RemoteResult failure)
    {
        var message = $"{failure.ErrorMessage} (on host {failure.HostName})";
        return failure.ErrorType switch
        {
            "OnDemandExecution.FunctionNotFoundException" => new FunctionNotFoundException(message),
            "OnDemandExecution.FunctionExecutionException" => new FunctionExecutionException(message),
            "OnDemandExecution.InvocationTimeoutException" => new InvocationTimeoutException(message),
            "OnDemandExecution.QueueFullException" => new QueueFullException(message),
            "OnDemandExecution.InstanceCapacityExceededException" => new InstanceCapacityExceededException(message),
            "OnDemandExecution.PayloadTooLargeException" => new PayloadTooLargeException(message),
            "OnDemandExecution.InstanceDiedException" => new InstanceDiedException(message),
            "OnDemandExecution.InstanceProviderException" => new InstanceProviderException(message),
            "System.OperationCanceledException" or "System.Threading.Tasks.TaskCanceledException" => new OperationCanceledException(message),
            "System.ArgumentException" => new ArgumentException(message),
            "OnDemandExecution.Orleans.ClusterHostUnavailableException" => new ClusterHostUnavailableException(message) { InvocationId = failure.InvocationId },
            _ => new FunctionExecutionException($"{failure.ErrorType}: {message}"),
        };
    }
}
