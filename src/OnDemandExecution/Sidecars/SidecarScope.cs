namespace OnDemandExecution;

/// <summary>Which primary instances one sidecar serves, and so how long it lives.</summary>
public enum SidecarScope
{
    /// <summary>One sidecar per function and tenant, shared by all of that tenant's instances of the function; stopped when the last of them is destroyed.</summary>
    PerTask,

    /// <summary>One sidecar per tenant, shared by all of the tenant's functions that declare it; stopped when the last primary instance it serves is destroyed.</summary>
    PerUser,

    /// <summary>One sidecar per request: started with the request and stopped when it ends.</summary>
    PerRequest,
}
