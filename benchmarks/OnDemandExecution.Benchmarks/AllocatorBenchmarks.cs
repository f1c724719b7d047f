using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.ObjectPool;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.Benchmarks;

/// <summary>
/// One acquire + release pair of an idle pooled item on one thread: the slot allocator's warm-hit path against the
/// structures a user would pool instances with instead. Baseline: <see cref="DefaultObjectPool{T}"/>.
/// </summary>
[MemoryDiagnoser]
public class AllocatorBenchmarks
{
    private const int Pairs = 1000;
    private const int Items = 16;

    private readonly DefaultObjectPool<Item> _objectPool = new(new DefaultPooledObjectPolicy<Item>(), Items);
    private readonly ConcurrentBag<Item> _bag = [];
    private readonly ConcurrentQueue<Item> _queue = new();
    private readonly ConcurrentStack<Item> _stack = new();
    private readonly Stack<Item> _lockedStack = new();
    private readonly Lock _gate = new();
    private readonly SlotAllocator _allocator = new();
    private readonly TenantId _tenant = new("bench");
    private PoolKey _key = null!;

    [GlobalSetup]
    public void Setup()
    {
        var items = Enumerable.Range(0, Items).Select(_ => new Item()).ToArray();
        foreach (var item in items)
        {
            _objectPool.Return(item);
            _bag.Add(item);
            _queue.Enqueue(item);
            _stack.Push(item);
            _lockedStack.Push(item);
        }

        _key = AllocatorSetup.IdleKey(_allocator, _tenant, "f", Items);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs, Description = "DefaultObjectPool Get+Return")]
    public void ObjectPool()
    {
        for (var i = 0; i < Pairs; i++)
        {
            _objectPool.Return(_objectPool.Get());
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "ConcurrentBag TryTake+Add")]
    public void Bag()
    {
        for (var i = 0; i < Pairs; i++)
        {
            _bag.TryTake(out var item);
            _bag.Add(item!);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "ConcurrentQueue TryDequeue+Enqueue")]
    public void Queue()
    {
        for (var i = 0; i < Pairs; i++)
        {
            _queue.TryDequeue(out var item);
            _queue.Enqueue(item!);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "ConcurrentStack TryPop+Push")]
    public void Stack()
    {
        for (var i = 0; i < Pairs; i++)
        {
            _stack.TryPop(out var item);
            _stack.Push(item!);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "lock + Stack Pop+Push")]
    public void LockedStack()
    {
        for (var i = 0; i < Pairs; i++)
        {
            Item item;
            lock (_gate)
            {
                item = _lockedStack.Pop();
            }

            lock (_gate)
            {
                _lockedStack.Push(item);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "SlotAllocator TryAcquire+Release")]
    public void Allocator()
    {
        for (var i = 0; i < Pairs; i++)
        {
            _allocator.TryAcquire(_key, out var slot);
            _allocator.Release(slot);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "SlotAllocator, key looked up by (tenant, function)")]
    public void AllocatorWithLookup()
    {
        for (var i = 0; i < Pairs; i++)
        {
            _allocator.TryGetKey(_tenant, "f", out var key);
            _allocator.TryAcquire(key, out var slot);
            _allocator.Release(slot);
        }
    }
}

/// <summary>
/// The same pairs with one thread per core, all on one pool (the contended case). Baseline: <c>lock</c> + <see cref="Stack{T}"/>.
/// Each invocation runs <see cref="TotalPairs"/> pairs split over all cores at once; the time is per pair (wall time of the
/// invocation divided by all pairs of all cores), so lower is more throughput.
/// </summary>
[MemoryDiagnoser]
public class ContendedAllocatorBenchmarks
{
    private const int TotalPairs = 64_000;
    private static readonly int Threads = Environment.ProcessorCount;
    private static readonly int PairsPerThread = TotalPairs / Environment.ProcessorCount;

    private readonly DefaultObjectPool<Item> _objectPool = new(new DefaultPooledObjectPolicy<Item>(), 64);
    private readonly ConcurrentBag<Item> _bag = [];
    private readonly ConcurrentQueue<Item> _queue = new();
    private readonly ConcurrentStack<Item> _stack = new();
    private readonly Stack<Item> _lockedStack = new();
    private readonly Lock _gate = new();
    private readonly SlotAllocator _allocator = new();
    private PoolKey _key = null!;
    private AllCores _cores = null!;

    [GlobalSetup]
    public void Setup()
    {
        var items = Enumerable.Range(0, Threads * 2).Select(_ => new Item()).ToArray();
        foreach (var item in items)
        {
            _objectPool.Return(item);
            _bag.Add(item);
            _queue.Enqueue(item);
            _stack.Push(item);
            _lockedStack.Push(item);
        }

        _key = AllocatorSetup.IdleKey(_allocator, new TenantId("bench"), "f", Threads * 2);
        _cores = new AllCores(Threads);
    }

    [GlobalCleanup]
    public void Cleanup() => _cores.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = TotalPairs, Description = "lock + Stack Pop+Push")]
    public void LockedStack() => _cores.Run(() =>
    {
        for (var i = 0; i < PairsPerThread; i++)
        {
            Item item;
            lock (_gate)
            {
                item = _lockedStack.Pop();
            }

            lock (_gate)
            {
                _lockedStack.Push(item);
            }
        }
    });

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "DefaultObjectPool Get+Return")]
    public void ObjectPool() => _cores.Run(() =>
    {
        for (var i = 0; i < PairsPerThread; i++)
        {
            _objectPool.Return(_objectPool.Get());
        }
    });

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "ConcurrentBag TryTake+Add")]
    public void Bag() => _cores.Run(() =>
    {
        for (var i = 0; i < PairsPerThread; i++)
        {
            _bag.TryTake(out var item);
            _bag.Add(item!);
        }
    });

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "ConcurrentQueue TryDequeue+Enqueue")]
    public void Queue() => _cores.Run(() =>
    {
        for (var i = 0; i < PairsPerThread; i++)
        {
            _queue.TryDequeue(out var item);
            _queue.Enqueue(item!);
        }
    });

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "ConcurrentStack TryPop+Push")]
    public void Stack() => _cores.Run(() =>
    {
        for (var i = 0; i < PairsPerThread; i++)
        {
            _stack.TryPop(out var item);
            _stack.Push(item!);
        }
    });

    [Benchmark(OperationsPerInvoke = TotalPairs, Description = "SlotAllocator TryAcquire+Release")]
    public void Allocator() => _cores.Run(() =>
    {
        for (var i = 0; i < PairsPerThread; i++)
        {
            _allocator.TryAcquire(_key, out var slot);
            _allocator.Release(slot);
        }
    });
}

/// <summary>A pooled object.</summary>
public sealed class Item
{
    public long Value { get; set; }
}

internal static class AllocatorSetup
{
    /// <summary>A key with <paramref name="count"/> idle instances, as cold starts and releases leave it.</summary>
    public static PoolKey IdleKey(SlotAllocator allocator, TenantId tenant, string function, int count)
    {
        var key = allocator.GetOrAddKey(tenant, function);
        var slots = new List<InstanceSlot>();
        for (var i = 0; i < count; i++)
        {
            var slot = allocator.Rent();
            allocator.Assign(slot, key, InstanceState.Provisioning);
            slot.Transition(InstanceState.Assigned, InstanceState.Busy);
            slots.Add(slot);
        }

        slots.ForEach(s => allocator.Release(s));
        return key;
    }
}

/// <summary>
/// Runs one body on every core at once: the calling thread plus parked workers, released together and awaited. The
/// time includes waking the workers (microseconds, against milliseconds of work per invocation).
/// </summary>
internal sealed class AllCores : IDisposable
{
    private readonly Thread[] _workers;
    private readonly SemaphoreSlim _go = new(0);
    private readonly CountdownEvent _done;
    private Action? _body;
    private volatile bool _stopping;

    public AllCores(int threads)
    {
        _done = new CountdownEvent(threads - 1);
        _workers = Enumerable.Range(0, threads - 1).Select(_ => new Thread(Work) { IsBackground = true }).ToArray();
        foreach (var worker in _workers)
        {
            worker.Start();
        }
    }

    /// <summary>Runs <paramref name="body"/> on every core; returns when all are done.</summary>
    public void Run(Action body)
    {
        _body = body;
        _done.Reset();
        _go.Release(_workers.Length);
        body();
        _done.Wait();
    }

    public void Dispose()
    {
        _stopping = true;
        _go.Release(_workers.Length);
        foreach (var worker in _workers)
        {
            worker.Join();
        }

        _go.Dispose();
        _done.Dispose();
    }

    private void Work()
    {
        while (true)
        {
            _go.Wait();
            if (_stopping)
            {
                return;
            }

            _body!();
            _done.Signal();
        }
    }
}
