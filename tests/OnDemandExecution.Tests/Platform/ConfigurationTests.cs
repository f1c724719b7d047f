using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Platform;

/// <summary>Options and functions from configuration, their validation, and reloads without a restart.</summary>
public class ConfigurationTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string?> Settings() => new()
    {
        ["OnDemandExecution:WarmingPoolSize"] = "2",
        ["OnDemandExecution:MaxInstances"] = "50",
        ["OnDemandExecution:KeepAlive"] = "00:05:00",
        ["OnDemandExecution:Functions:report:Program"] = "/bin/report --pdf",
        ["OnDemandExecution:Functions:report:Timeout"] = "00:00:05",
        ["OnDemandExecution:Functions:report:MaxConcurrency"] = "3",
        ["OnDemandExecution:Functions:report:KeepAlive"] = "00:02:00",
        ["OnDemandExecution:Functions:report:Capabilities:0"] = "pdf",
        ["OnDemandExecution:Functions:report:Provisioned:Count"] = "1",
        ["OnDemandExecution:Functions:report:Provisioned:Tenants:0"] = "acme",
        ["OnDemandExecution:Functions:report:Provisioned:Schedule:0:Start"] = "08:00",
        ["OnDemandExecution:Functions:report:Provisioned:Schedule:0:End"] = "18:00",
        ["OnDemandExecution:Functions:report:Provisioned:Schedule:0:Days:0"] = "Monday",
        ["OnDemandExecution:Functions:thumbnail:Program"] = "/bin/thumb",
    };

    private static (ServiceProvider Services, FakeInstanceProvider Provider, ReloadableSource Source) Build(Dictionary<string, string?> settings)
    {
        var source = new ReloadableSource(settings);
        var configuration = new ConfigurationBuilder().Add(source).Build();
        var provider = new FakeInstanceProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero)));
        services.AddOnDemandExecution(configuration.GetSection("OnDemandExecution")).AddProvider(_ => provider);
        return (services.BuildServiceProvider(), provider, source);
    }

    [Fact]
    public async Task OptionsAndFunctions_AreBound_FromTheSection()
    {
        var (services, _, _) = Build(Settings());
        await using var scope = services;

        var options = services.GetRequiredService<IOptions<OnDemandExecutionOptions>>().Value;
        var catalog = services.GetRequiredService<IFunctionCatalog>();

        Assert.Equal((2, 50, TimeSpan.FromMinutes(5)), (options.WarmingPoolSize, options.MaxInstances, options.KeepAlive));
        Assert.True(catalog.TryGetFunction("report", out var report));
        Assert.Equal(new ProgramFunctionCode("/bin/report --pdf").Command, ((ProgramFunctionCode)report.Code).Command);
        Assert.Equal((TimeSpan.FromSeconds(5), 3, TimeSpan.FromMinutes(2)), (report.Timeout!.Value, report.MaxConcurrency!.Value, report.KeepAlive!.Value));
        Assert.Equal(["pdf"], report.Capabilities);
        var floor = report.ProvisionedConcurrency!;
        Assert.Equal((1, new TenantId("acme")), (floor.Count, Assert.Single(floor.Tenants)));
        var window = Assert.Single(floor.Schedule);
        Assert.Equal((new TimeOnly(8, 0), new TimeOnly(18, 0), DayOfWeek.Monday), (window.Start, window.End, Assert.Single(window.Days)));
        Assert.True(catalog.TryGetFunction("thumbnail", out _));
    }

    [Theory]
    [InlineData("OnDemandExecution:Functions:report:Timeout", "soon", "'OnDemandExecution:Functions:report:Timeout' 'soon' is not a time span")]
    [InlineData("OnDemandExecution:Functions:report:MaxConcurrency", "many", "'OnDemandExecution:Functions:report:MaxConcurrency' 'many' is not a whole number")]
    [InlineData("OnDemandExecution:Functions:report:Color", "blue", "'OnDemandExecution:Functions:report:Color' is not a function setting")]
    [InlineData("OnDemandExecution:Functions:report:Provisioned:Schedule:0:Days:0", "Someday", "'Someday' is not a day of the week")]
    public void UnreadableSettings_FailAtRegistration_NamingTheKey(string key, string value, string expected)
    {
        var settings = Settings();
        settings[key] = value;
        var error = Assert.Throws<InvalidOperationException>(() => Build(settings));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidOptions_FailValidation_LikeOptionsSetInCode()
    {
        var settings = Settings();
        settings["OnDemandExecution:WarmingPoolSize"] = "-1";
        var (services, _, _) = Build(settings);
        using var scope = services;
        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<OnDemandExecutionOptions>>().Value);
    }

    [Fact]
    public void InvalidFunctions_FailTheCatalog_LikeFunctionsAddedInCode()
    {
        var settings = Settings();
        settings["OnDemandExecution:Functions:report:Provider"] = "nowhere";
        var (services, _, _) = Build(settings);
        using var scope = services;
        var error = Assert.Throws<ArgumentException>(() => services.GetRequiredService<IFunctionCatalog>());
        Assert.Contains("nowhere", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reloads_ChangeTheWarmingPool_AndAddReplaceAndRemoveFunctions()
    {
        var settings = Settings();
        var (services, provider, source) = Build(settings);
        await using var scope = services;
        foreach (var hosted in services.GetServices<IHostedService>().Where(h => h.GetType().Name == "ConfigurationReloadService"))
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        var catalog = services.GetRequiredService<IFunctionCatalog>();
        var pools = services.GetRequiredService<IInstancePoolManager>();
        var executor = services.GetRequiredService<IFunctionExecutor>();
        provider.OnInvoke = (i, r, _) => new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(i.Id));
        var first = await executor.InvokeAsync("thumbnail", "x", new TenantId("t"));
        var thumbInstance = provider.Instances[first.InstanceId];

        // Warming pool size, a new function, a provisioned floor changed, a function removed.
        settings["OnDemandExecution:WarmingPoolSize"] = "5";
        settings["OnDemandExecution:Functions:resize:Program"] = "/bin/resize";
        settings["OnDemandExecution:Functions:report:Provisioned:Count"] = "2";
        settings.Remove("OnDemandExecution:Functions:thumbnail:Program");
        source.Reload(settings);

        Assert.Equal(5, pools.WarmingPoolTarget);
        Assert.True(catalog.TryGetFunction("resize", out _));
        Assert.True(catalog.TryGetFunction("report", out var report));
        Assert.Equal(2, report.ProvisionedConcurrency!.Count);
        Assert.Equal(TimeSpan.FromSeconds(5), report.Timeout); // the rest of the definition kept
        Assert.False(catalog.TryGetFunction("thumbnail", out _));
        await Assert.ThrowsAsync<FunctionNotFoundException>(async () => await executor.InvokeAsync("thumbnail", "x", new TenantId("t")));
        await WaitUntil(() => thumbInstance.IsDisposed || thumbInstance.LoadedFunction is null);

        // An invalid reload is not applied.
        settings["OnDemandExecution:Functions:resize:Timeout"] = "later";
        source.Reload(settings);
        Assert.True(catalog.TryGetFunction("resize", out var resize));
        Assert.Null(resize.Timeout);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTimeOffset.UtcNow + HangGuard; // a hang guard, not a timing assertion
        while (!condition() && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.True(condition());
    }

    /// <summary>An in-memory configuration source whose whole content can be swapped, as a file reload does.</summary>
    private sealed class ReloadableSource(Dictionary<string, string?> initial) : ConfigurationProvider, IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder)
        {
            Data = new Dictionary<string, string?>(initial, StringComparer.OrdinalIgnoreCase);
            return this;
        }

        public void Reload(Dictionary<string, string?> settings)
        {
            Data = new Dictionary<string, string?>(settings, StringComparer.OrdinalIgnoreCase);
            OnReload();
        }
    }
}
