namespace OnDemandExecution.Sidecars;

/// <summary>The sidecars one invocation uses: waited for before it runs, bound to its primary instance, detached when it ends.</summary>
internal sealed class SidecarAttachment
{
    private readonly SidecarManager _manager;
    private int _detached;

    public SidecarAttachment(SidecarManager manager, RunningSidecar[] sidecars)
    {
        _manager = manager;
        Sidecars = sidecars;
    }

    public RunningSidecar[] Sidecars { get; }

    public bool IsDetached => Volatile.Read(ref _detached) != 0;

    /// <summary>Waits until every sidecar has started; rethrows the first start failure.</summary>
    public async ValueTask WaitReadyAsync(CancellationToken cancellationToken)
    {
        foreach (var sidecar in Sidecars)
        {
            await sidecar.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public bool Contains(RunningSidecar sidecar) => Array.IndexOf(Sidecars, sidecar) >= 0;

    public RunningSidecar? Find(string name)
    {
        foreach (var sidecar in Sidecars)
        {
            if (string.Equals(sidecar.Definition.Name, name, StringComparison.Ordinal))
            {
                return sidecar;
            }
        }

        return null;
    }

    /// <summary>Binds the shared sidecars to the primary instance that runs the invocation.</summary>
    public void Bind(string primaryInstanceId) => _manager.Bind(this, primaryInstanceId);

    /// <summary>The invocation ended (exactly once): per-request sidecars stop, shared ones stop if nothing else holds them.</summary>
    public void Detach()
    {
        if (Interlocked.Exchange(ref _detached, 1) == 0)
        {
            _manager.Detach(this);
        }
    }
}
