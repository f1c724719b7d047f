using System.Buffers.Binary;

namespace OnDemandExecution.Simulation;

/// <summary>
/// An <see cref="IInstanceProvider"/> on virtual time: creating, loading, running and recycling are delays on its
/// <see cref="TimeProvider"/>, and it accounts what every instance spent its life doing (idle in the warming pool, idle
/// loaded, loading, busy), weighted by the instance's memory.
/// </summary>
/// <remarks>
/// An invocation runs for the duration carried in its payload (<see cref="EncodeDuration"/>); an empty payload runs for
/// zero time. Loads accept any kind of <see cref="FunctionCode"/>. Thread-safe.
/// </remarks>
public sealed class SimulatedInstanceProvider : IInstanceProvider
{
    private readonly TimeProvider _time;
    private readonly SimulatedProviderOptions _options;
    private readonly object _gate = new();
    private readonly HashSet<SimulatedInstance> _live = [];
    private long _nextId;
    private long _createsInFlight;
    private long _created;
    private long _disposed;
    private long _loads;
    private long _recycled;
    private double _idleWarm;
    private double _idleLoaded;
    private double _busy;
    private double _idleGbSeconds;
    private long _preloadedNeverInvoked;
    private long _warmNeverUsed;

    /// <summary>Creates the provider.</summary>
    /// <param name="timeProvider">The virtual clock its delays run on.</param>
    /// <param name="options">Its latencies; defaults when null.</param>
    public SimulatedInstanceProvider(TimeProvider timeProvider, SimulatedProviderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        _options = options ?? new SimulatedProviderOptions();
        Capabilities = new InstanceProviderCapabilities { Isolation = IsolationLevel.Hypervisor, SupportsRecycle = _options.SupportsRecycle };
    }

    /// <inheritdoc />
    public string Name => "simulated";

    /// <inheritdoc />
    public InstanceProviderCapabilities Capabilities { get; }

    /// <summary>Creations started and not finished (the replay waits for these to be registered before time moves).</summary>
    public long CreatesInFlight => Interlocked.Read(ref _createsInFlight);

    /// <summary>Encodes an invocation's simulated duration as its payload.</summary>
    /// <param name="duration">How long the invocation runs.</param>
    /// <returns>The payload.</returns>
    public static byte[] EncodeDuration(TimeSpan duration)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, Math.Max(0, duration.Ticks));
        return bytes;
    }

    /// <inheritdoc />
    public bool CanLoad(FunctionCode code) => true;

    /// <inheritdoc />
    public async ValueTask<IInstance> CreateAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);

        // Counted once its delay is armed on the clock: a replay waits while a slot is provisioning but not yet counted
        // here, so virtual time never moves between the pools' reservation and this delay's start.
        var delay = _options.CreateLatency > TimeSpan.Zero ? Task.Delay(_options.CreateLatency, _time, cancellationToken) : Task.CompletedTask;
        Interlocked.Increment(ref _createsInFlight);
        try
        {
            await delay.ConfigureAwait(false);
            var instance = new SimulatedInstance(this, "sim-" + Interlocked.Increment(ref _nextId), spec.MemoryMb, _time.GetUtcNow());
            lock (_gate)
            {
                _live.Add(instance);
                _created++;
            }

            return instance;
        }
        finally
        {
            Interlocked.Decrement(ref _createsInFlight);
        }
    }

    /// <summary>The accounting up to <paramref name="now"/>, counting live instances' time up to then.</summary>
    /// <param name="now">The moment to account up to (normally the clock's current time).</param>
    /// <returns>The statistics.</returns>
    public ProviderStatistics GetStatistics(DateTimeOffset now)
    {
        lock (_gate)
        {
            double idleWarm = _idleWarm, idleLoaded = _idleLoaded, busy = _busy, gb = _idleGbSeconds;
            foreach (var instance in _live)
            {
                var seconds = Math.Max(0, (now - instance.Since).TotalSeconds);
                switch (instance.State)
                {
                    case SimulatedState.Warm:
                        idleWarm += seconds;
                        gb += seconds * instance.MemoryMb / 1024.0;
                        break;
                    case SimulatedState.Loaded:
                        idleLoaded += seconds;
                        gb += seconds * instance.MemoryMb / 1024.0;
                        break;
                    case SimulatedState.Busy:
                        busy += seconds;
                        break;
                }
            }

            return new ProviderStatistics(_created, _disposed, _loads, _recycled, idleWarm, idleLoaded, busy, gb, _preloadedNeverInvoked, _warmNeverUsed);
        }
    }

    /// <summary>Closes the current phase of an instance and opens the next. Caller holds the lock.</summary>
    private void Move(SimulatedInstance instance, SimulatedState next)
    {
        var now = _time.GetUtcNow();
        var seconds = Math.Max(0, (now - instance.Since).TotalSeconds);
        switch (instance.State)
        {
            case SimulatedState.Warm:
                _idleWarm += seconds;
                _idleGbSeconds += seconds * instance.MemoryMb / 1024.0;
                break;
            case SimulatedState.Loaded:
                _idleLoaded += seconds;
                _idleGbSeconds += seconds * instance.MemoryMb / 1024.0;
                break;
            case SimulatedState.Busy:
                _busy += seconds;
                break;
        }

        instance.State = next;
        instance.Since = now;
    }

    private void Retire(SimulatedInstance instance)
    {
        if (instance.AwaitingFirstInvocation)
        {
            _preloadedNeverInvoked++;
            instance.AwaitingFirstInvocation = false;
        }

        if (!instance.EverLoaded)
        {
            _warmNeverUsed++;
        }
    }

    private enum SimulatedState
    {
        Warm,
        Loading,
        Loaded,
        Busy,
        Recycling,
        Disposed,
    }

    private sealed class SimulatedInstance : IInstance
    {
        private readonly SimulatedInstanceProvider _provider;

        public SimulatedInstance(SimulatedInstanceProvider provider, string id, int memoryMb, DateTimeOffset now)
        {
            _provider = provider;
            Id = id;
            MemoryMb = memoryMb;
            Since = now;
        }

        public string Id { get; }

        public InstanceLocation Location { get; } = new("simulated", "sim");

        public int MemoryMb { get; }

        public SimulatedState State { get; set; } = SimulatedState.Warm;

        public DateTimeOffset Since { get; set; }

        public bool EverLoaded { get; set; }

        public bool AwaitingFirstInvocation { get; set; }

        public async ValueTask LoadAsync(FunctionDefinition definition, TenantId tenant, CancellationToken cancellationToken)
        {
            lock (_provider._gate)
            {
                _provider.Move(this, SimulatedState.Loading);
                _provider._loads++;
            }

            if (_provider._options.LoadLatency > TimeSpan.Zero)
            {
                await Task.Delay(_provider._options.LoadLatency, _provider._time, cancellationToken).ConfigureAwait(false);
            }

            lock (_provider._gate)
            {
                _provider.Move(this, SimulatedState.Loaded);
                EverLoaded = true;
                AwaitingFirstInvocation = true;
            }
        }

        public async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
        {
            lock (_provider._gate)
            {
                _provider.Move(this, SimulatedState.Busy);
                AwaitingFirstInvocation = false;
            }

            try
            {
                var payload = request.Payload.Span;
                var duration = payload.Length >= 8 ? TimeSpan.FromTicks(BinaryPrimitives.ReadInt64LittleEndian(payload)) : TimeSpan.Zero;
                if (duration > TimeSpan.Zero)
                {
                    await Task.Delay(duration, _provider._time, cancellationToken).ConfigureAwait(false);
                }

                return ReadOnlyMemory<byte>.Empty;
            }
            finally
            {
                lock (_provider._gate)
                {
                    _provider.Move(this, SimulatedState.Loaded);
                }
            }
        }

        public async ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
        {
            lock (_provider._gate)
            {
                _provider.Retire(this);
                _provider.Move(this, SimulatedState.Recycling);
            }

            if (_provider._options.RecycleLatency > TimeSpan.Zero)
            {
                await Task.Delay(_provider._options.RecycleLatency, _provider._time, cancellationToken).ConfigureAwait(false);
            }

            lock (_provider._gate)
            {
                _provider.Move(this, SimulatedState.Warm);
                _provider._recycled++;
                EverLoaded = false;
            }

            return true;
        }

        public ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken) => new(InstanceHealth.Healthy);

        /// <summary>A simulated call stops with its token (its delay is cancelled): stopped once it left Busy.</summary>
        public ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
        {
            lock (_provider._gate)
            {
                return new(State is not (SimulatedState.Busy or SimulatedState.Disposed));
            }
        }

        public ValueTask DisposeAsync()
        {
            lock (_provider._gate)
            {
                if (State == SimulatedState.Disposed)
                {
                    return default;
                }

                _provider.Retire(this);
                _provider.Move(this, SimulatedState.Disposed);
                _provider._live.Remove(this);
                _provider._disposed++;
            }

            return default;
        }
    }
}
