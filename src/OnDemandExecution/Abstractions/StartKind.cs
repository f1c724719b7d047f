namespace OnDemandExecution;

/// <summary>How the instance that served an invocation was obtained.</summary>
public enum StartKind
{
    /// <summary>An idle instance of the active pool, assigned to the tenant with the function's code already loaded.</summary>
    Warm = 0,

    /// <summary>A pre-initialized instance from the warming pool, assigned to the tenant and loaded with the code on demand.</summary>
    WarmPool = 1,

    /// <summary>A new instance created by the provider on demand (the slow path the pools exist to avoid).</summary>
    Cold = 2,
}
