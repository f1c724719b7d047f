namespace OnDemandExecution.HyperV.Tests.TestSupport;

internal static class TestProvider
{
    public static HyperVProviderOptions Options() => new()
    {
        KernelPath = @"C:\odx\vmlinux",
        InitrdPath = @"C:\odx\initrd.img",
        KernelArguments = "init=/init",
        BootTimeout = TimeSpan.FromSeconds(10),
        OperationTimeout = TimeSpan.FromSeconds(5),
        AgentTimeout = TimeSpan.FromSeconds(5),
        MaxMemoryMb = 2048,
        MaxVCpuCount = 4,
    };

    public static HyperVInstanceProvider Create(HcsFake fake, HyperVProviderOptions? options = null)
        => new(options ?? Options(), fake.Api, fake.Connector, fake.Time, null, null, TimeSpan.FromMilliseconds(100));

    public static InstanceSpec Spec => new() { MemoryMb = 512, VCpuCount = 2 };

    /// <summary>Advances fake time in small steps until <paramref name="task"/> completes (for waits that retry on a timer).</summary>
    public static async Task<T> DriveAsync<T>(Task<T> task, Microsoft.Extensions.Time.Testing.FakeTimeProvider time, TimeSpan step)
    {
        for (var i = 0; i < 10_000 && !task.IsCompleted; i++)
        {
            time.Advance(step);
            await Task.Delay(1);
        }

        return await task;
    }
}
