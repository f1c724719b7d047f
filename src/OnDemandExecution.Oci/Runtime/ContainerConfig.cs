namespace OnDemandExecution.Oci.Runtime;

/// <summary>Everything that goes into one container's config.json (<see cref="OciSpecWriter"/>).</summary>
internal sealed record ContainerConfig
{
    /// <summary>The root file system on the host (mounted read-only).</summary>
    public required string RootFs { get; init; }

    /// <summary>The host directory mounted read-write at <c>/work</c> (the function's files).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>The host directory mounted read-only at <c>/odx</c>, holding the socket the agent connects to.</summary>
    public required string SocketDirectory { get; init; }

    /// <summary>The container's init: the agent and its arguments.</summary>
    public required IReadOnlyList<string> Args { get; init; }

    /// <summary>The uid/gid the init runs as inside the container.</summary>
    public int Uid { get; init; } = 1000;

    /// <summary>Map container ids 0-65535 onto host ids starting here (a user namespace); null for no user namespace.</summary>
    public int? UserNamespaceHostBase { get; init; }

    /// <summary>Whether the container gets a network namespace of its own (only loopback).</summary>
    public bool IsolateNetwork { get; init; } = true;

    /// <summary>Whether to apply the seccomp profile.</summary>
    public bool Seccomp { get; init; } = true;

    /// <summary>The cgroup path (relative to the runtime's cgroup root).</summary>
    public required string CgroupsPath { get; init; }

    /// <summary>Memory limit in bytes, or null for none (cgroup limits not applied).</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>CPU quota in CPUs, or null for none.</summary>
    public int? CpuLimit { get; init; }

    /// <summary>Process-count limit, or null for none.</summary>
    public int? PidsLimit { get; init; }

    /// <summary>The size of <c>/tmp</c> in MiB.</summary>
    public int TmpSizeMb { get; init; } = 64;

    /// <summary>The container's hostname.</summary>
    public string Hostname { get; init; } = "odx";
}
