namespace OnDemandExecution.Oci;

/// <summary>Options of the OCI container provider (<c>builder.AddOciProvider(o =&gt; ...)</c>), validated when the host starts.</summary>
public sealed class OciProviderOptions
{
    /// <summary>The OCI runtime binary: a path, or a name looked up on <c>PATH</c>. Default <c>runc</c> (Debian package <c>runc</c>); <c>crun</c> works where its cgroup support matches the host.</summary>
    public string RuntimePath { get; set; } = "runc";

    /// <summary>
    /// The container image: a bundle directory holding <c>rootfs/</c> (as <c>tools/build-oci-bundle.sh</c> builds), a
    /// root file system directory itself (it holds <c>bin/</c>), or an OCI image layout (<c>oci-layout</c>,
    /// <c>index.json</c>, <c>blobs/</c>) whose first manifest is unpacked once under <see cref="WorkingDirectory"/>.
    /// Nothing is pulled from a registry. Required.
    /// </summary>
    public string BundlePath { get; set; } = string.Empty;

    /// <summary>The guest agent inside the image, started as the container's init with <c>--connect /odx/agent.sock</c>. Default <c>/bin/odx-agent</c>.</summary>
    public string AgentPath { get; set; } = "/bin/odx-agent";

    /// <summary>
    /// The runtime's state directory (<c>runc --root</c>), one per provider. Containers of a host process that died
    /// are found here and removed when the next provider with the same directory starts. Default <c>/run/odx-oci</c>.
    /// </summary>
    public string StateDirectory { get; set; } = "/run/odx-oci";

    /// <summary>
    /// Where per-container directories (config.json, the agent socket, the writable <c>/work</c>) are created.
    /// Default <c>/var/tmp/odx-oci</c>. Keep it short: Unix socket paths are limited to 107 bytes.
    /// </summary>
    public string WorkingDirectory { get; set; } = "/var/tmp/odx-oci";

    /// <summary>The user id the agent and the function run as inside the container. Default 1000 (not root).</summary>
    public int ContainerUid { get; set; } = 1000;

    /// <summary>
    /// Whether containers get a user namespace (where the host allows it): container ids 0-65535 map to host ids
    /// <see cref="HostIdBase"/> and up, so even the container's root is an unprivileged host user. Default true.
    /// Without one, the agent runs as host uid <see cref="HostIdBase"/> + <see cref="ContainerUid"/> directly.
    /// </summary>
    public bool UseUserNamespace { get; set; } = true;

    /// <summary>The first host uid/gid of the containers' id range. Default 100000 (the usual start of subordinate ids); no host user should own ids in this range.</summary>
    public int HostIdBase { get; set; } = 100000;

    /// <summary>The container's network. Default <see cref="OciNetwork.None"/>; an <see cref="InstanceSpec"/> label <c>oci.network</c> (<c>none</c> or <c>host</c>) overrides it per instance.</summary>
    public OciNetwork Network { get; set; } = OciNetwork.None;

    /// <summary>Whether containers get the provider's seccomp profile (a deny list of kernel-administration, namespace and tracing system calls). Default true.</summary>
    public bool UseSeccomp { get; set; } = true;

    /// <summary>The most processes (threads included) a container may hold (cgroup pids limit). Default 256.</summary>
    public int PidsLimit { get; set; } = 256;

    /// <summary>The size of the container's <c>/tmp</c> tmpfs, in MiB. Default 64.</summary>
    public int TmpSizeMb { get; set; } = 64;

    /// <summary>The largest memory limit an <see cref="InstanceSpec"/> may ask for, in MiB. Default 4096.</summary>
    public int MaxMemoryMb { get; set; } = 4096;

    /// <summary>The most CPUs an <see cref="InstanceSpec"/> may ask for (the cgroup CPU quota). Default 8.</summary>
    public int MaxVCpuCount { get; set; } = 8;

    /// <summary>How long creating and starting a container may take until the agent is ready. Default 30 s.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the agent may take to answer a control request (load, health, recycle, cancel) before the container counts as dead. Default 10 s.</summary>
    public TimeSpan AgentTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest frame the host accepts from an agent (the function's output and error), in bytes. Default 64 MiB.</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024 * 1024;
}
