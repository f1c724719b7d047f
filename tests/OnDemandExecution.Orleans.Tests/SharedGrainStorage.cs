using System.Collections.Concurrent;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace OnDemandExecution.Orleans.Tests;

/// <summary>
/// Grain storage that outlives any silo of an in-process cluster (it lives in the test, as a database would outside
/// the cluster): what a silo wrote is read by the silo a grain is re-activated on after the first one died. Each silo
/// gets a <see cref="View"/> that deep-copies states in and out with the silo's own copier.
/// </summary>
public sealed class SharedGrainStorage
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), (object Value, string ETag)> _records = new();

    private int _writes;

    public int Records => _records.Count;

    public int Writes => Volatile.Read(ref _writes);

    public IGrainStorage View(DeepCopier copier) => new StorageView(this, copier);

    private sealed class StorageView(SharedGrainStorage shared, DeepCopier copier) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (shared._records.TryGetValue((stateName, grainId), out var record))
            {
                grainState.State = copier.Copy((T)record.Value);
                grainState.ETag = record.ETag;
                grainState.RecordExists = true;
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            var etag = Guid.NewGuid().ToString("N");
            shared._records[(stateName, grainId)] = (copier.Copy(grainState.State)!, etag);
            Interlocked.Increment(ref shared._writes);
            grainState.ETag = etag;
            grainState.RecordExists = true;
            return Task.CompletedTask;
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            shared._records.TryRemove((stateName, grainId), out _);
            grainState.ETag = null;
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }
    }
}
