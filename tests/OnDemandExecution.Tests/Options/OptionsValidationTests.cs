using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Tests.TestSupport;

// Not "...Tests.Options": a namespace of that name would hide Microsoft.Extensions.Options.Options in every test namespace.
namespace OnDemandExecution.Tests.OptionsValidation;

public class OptionsValidationTests
{
    [Fact]
    public void Validate_Defaults_Succeeds()
    {
        var result = Validate(new OnDemandExecutionOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Validate_InclusiveBounds_Succeeds()
    {
        var options = new OnDemandExecutionOptions
        {
            WarmingPoolSize = 0,
            MaxInstances = 1,
            MaxConcurrentProvisioning = 1024,
            DefaultMaxConcurrency = 1,
            DefaultMaxQueueLength = 0,
            DefaultMaxPayloadBytes = int.MaxValue,
            KeepAlive = TimeSpan.FromDays(7),
            MaintenanceInterval = TimeSpan.FromHours(1),
            InstanceStartTimeout = TimeSpan.FromTicks(1),
            DefaultTimeout = TimeSpan.FromDays(1),
            WarmInstance = new InstanceSpec { MemoryMb = 1, VCpuCount = 1024 },
        };

        var result = Validate(options);

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData(nameof(OnDemandExecutionOptions.WarmingPoolSize), "-1")]
    [InlineData(nameof(OnDemandExecutionOptions.WarmingPoolSize), "100001")]
    [InlineData(nameof(OnDemandExecutionOptions.MaxInstances), "0")]
    [InlineData(nameof(OnDemandExecutionOptions.MaxInstances), "1000001")]
    [InlineData(nameof(OnDemandExecutionOptions.MaxConcurrentProvisioning), "0")]
    [InlineData(nameof(OnDemandExecutionOptions.MaxConcurrentProvisioning), "1025")]
    [InlineData(nameof(OnDemandExecutionOptions.DefaultMaxConcurrency), "0")]
    [InlineData(nameof(OnDemandExecutionOptions.DefaultMaxQueueLength), "-1")]
    [InlineData(nameof(OnDemandExecutionOptions.DefaultMaxPayloadBytes), "0")]
    [InlineData(nameof(OnDemandExecutionOptions.KeepAlive), "00:00:00")]
    [InlineData(nameof(OnDemandExecutionOptions.KeepAlive), "7.00:00:01")]
    [InlineData(nameof(OnDemandExecutionOptions.MaintenanceInterval), "00:00:00")]
    [InlineData(nameof(OnDemandExecutionOptions.MaintenanceInterval), "-00:00:01")]
    [InlineData(nameof(OnDemandExecutionOptions.InstanceStartTimeout), "-00:00:01")]
    [InlineData(nameof(OnDemandExecutionOptions.InstanceStartTimeout), "01:00:01")]
    [InlineData(nameof(OnDemandExecutionOptions.DefaultTimeout), "00:00:00")]
    [InlineData(nameof(OnDemandExecutionOptions.DefaultTimeout), "1.00:00:01")]
    [InlineData("WarmInstance.MemoryMb", "0")]
    [InlineData("WarmInstance.VCpuCount", "0")]
    [InlineData("WarmInstance.VCpuCount", "1025")]
    public void Validate_InvalidOption_FailsNamingTheOptionAndValue(string option, string value)
    {
        var options = new OnDemandExecutionOptions { WarmingPoolSize = 0 };
        Set(options, option, value);

        var result = Validate(options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains($"OnDemandExecutionOptions.{option} ", failure, StringComparison.Ordinal);
        Assert.Contains($"(was {value})", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NullWarmInstance_FailsNamingTheOption()
    {
        var result = Validate(new OnDemandExecutionOptions { WarmInstance = null! });

        var failure = Assert.Single(result.Failures!);
        Assert.Contains("OnDemandExecutionOptions.WarmInstance", failure, StringComparison.Ordinal);
        Assert.Contains("required", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WarmingPoolLargerThanMaxInstances_FailsNamingBothValues()
    {
        var result = Validate(new OnDemandExecutionOptions { WarmingPoolSize = 8, MaxInstances = 4 });

        var failure = Assert.Single(result.Failures!);
        Assert.Contains("OnDemandExecutionOptions.WarmingPoolSize (8)", failure, StringComparison.Ordinal);
        Assert.Contains("MaxInstances (4)", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralInvalidOptions_ReportsEach()
    {
        var result = Validate(new OnDemandExecutionOptions { WarmingPoolSize = 0, MaxInstances = 0, KeepAlive = TimeSpan.Zero, DefaultMaxConcurrency = -3 });

        Assert.Equal(3, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.Contains("MaxInstances", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("KeepAlive", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("DefaultMaxConcurrency", StringComparison.Ordinal) && f.Contains("(was -3)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HostStart_InvalidOptions_ThrowsOptionsValidationException()
    {
        using var host = BuildHost(o => o.MaxConcurrentProvisioning = 0);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal(typeof(OnDemandExecutionOptions), ex.OptionsType);
        Assert.Contains(ex.Failures, f => f.Contains("OnDemandExecutionOptions.MaxConcurrentProvisioning", StringComparison.Ordinal) && f.Contains("(was 0)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HostStart_InvalidOptionsAndNoFunctions_FailsBeforeAnyInstanceIsCreated()
    {
        var provider = new FakeInstanceProvider();
        using var host = BuildHost(o => o.KeepAlive = TimeSpan.FromDays(30), provider);

        await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal(0, provider.Created);
    }

    [Fact]
    public async Task HostStart_ValidOptions_StartsAndStops()
    {
        var provider = new FakeInstanceProvider();
        using var host = BuildHost(o => o.WarmingPoolSize = 0, provider);

        await host.StartAsync();
        await host.StopAsync();

        Assert.Equal(0, provider.Live);
    }

    private static ValidateOptionsResult Validate(OnDemandExecutionOptions options) =>
        new OnDemandExecutionOptionsValidator().Validate(Microsoft.Extensions.Options.Options.DefaultName, options);

    private static IHost BuildHost(Action<OnDemandExecutionOptions> configure, FakeInstanceProvider? provider = null)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        builder.Services.AddOnDemandExecution(configure).AddProvider(_ => provider ?? new FakeInstanceProvider());
        return builder.Build();
    }

    private static void Set(OnDemandExecutionOptions o, string option, string value)
    {
        static int Int(string v) => int.Parse(v, CultureInfo.InvariantCulture);
        static TimeSpan Time(string v) => TimeSpan.Parse(v, CultureInfo.InvariantCulture);
        switch (option)
        {
            case nameof(o.WarmingPoolSize): o.WarmingPoolSize = Int(value); o.MaxInstances = 1_000_000; break;
            case nameof(o.MaxInstances): o.MaxInstances = Int(value); break;
            case nameof(o.MaxConcurrentProvisioning): o.MaxConcurrentProvisioning = Int(value); break;
            case nameof(o.DefaultMaxConcurrency): o.DefaultMaxConcurrency = Int(value); break;
            case nameof(o.DefaultMaxQueueLength): o.DefaultMaxQueueLength = Int(value); break;
            case nameof(o.DefaultMaxPayloadBytes): o.DefaultMaxPayloadBytes = Int(value); break;
            case nameof(o.KeepAlive): o.KeepAlive = Time(value); break;
            case nameof(o.MaintenanceInterval): o.MaintenanceInterval = Time(value); break;
            case nameof(o.InstanceStartTimeout): o.InstanceStartTimeout = Time(value); break;
            case nameof(o.DefaultTimeout): o.DefaultTimeout = Time(value); break;
            case "WarmInstance.MemoryMb": o.WarmInstance = o.WarmInstance with { MemoryMb = Int(value) }; break;
            case "WarmInstance.VCpuCount": o.WarmInstance = o.WarmInstance with { VCpuCount = Int(value) }; break;
            default: throw new ArgumentOutOfRangeException(nameof(option));
        }
    }
}
