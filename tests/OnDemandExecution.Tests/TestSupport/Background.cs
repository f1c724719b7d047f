using System.Collections.Concurrent;
using System.Reflection;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.Tests.TestSupport;

/// <summary>Waiting for the pools' background work (refills, retirements, interrupted-call releases) in tests.</summary>
internal static class Background
{
    // A guard against a hung test, never a timing assertion.
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    /// <summary>Waits until every background task the pool tracks has completed.</summary>
    public static async Task SettleAsync(PoolManager pool)
    {
        var field = typeof(PoolManager).GetField("_background", BindingFlags.NonPublic | BindingFlags.Instance)!;
        var background = (ConcurrentDictionary<Task, byte>)field.GetValue(pool)!;
        Task[] pending;
        while ((pending = background.Keys.Where(t => !t.IsCompleted).ToArray()).Length > 0)
        {
            try
            {
                await Task.WhenAll(pending).WaitAsync(HangGuard);
            }
            catch (Exception ex) when (ex is not TimeoutException)
            {
                // failures are the pool's to log
            }
        }
    }

    /// <summary>
    /// Waits for <paramref name="condition"/>, yielding to the thread pool between looks (no clock involved); fails the
    /// test after many looks rather than hang.
    /// </summary>
    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 2_000_000; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Yield();
            if (i % 100 == 99)
            {
                Thread.Yield();
            }
        }

        Assert.Fail($"Never happened: {what}");
    }
}
