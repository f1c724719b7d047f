using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Execution;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Execution;

public class FunctionCatalogTests
{
    [Fact]
    public void Constructor_ValidFunctions_RegistersThemByExactName()
    {
        var catalog = NewCatalog([Fn("resize"), Fn("thumbs/small")]);

        Assert.Equal(2, catalog.Functions.Count);
        Assert.True(catalog.TryGetFunction("resize", out var found));
        Assert.Equal("resize", found.Name);
        Assert.True(catalog.TryGetFunction("thumbs/small", out _));
        Assert.False(catalog.TryGetFunction("Resize", out _)); // ordinal, case-sensitive
        Assert.False(catalog.TryGetFunction("missing", out _));
    }

    [Fact]
    public void Register_AtRunTime_MakesTheFunctionVisible()
    {
        var catalog = NewCatalog([]);

        catalog.Register(Fn("deployed"));

        Assert.True(catalog.TryGetFunction("deployed", out _));
        Assert.Single(catalog.Functions);
    }

    [Fact]
    public void Register_DuplicateName_ThrowsAndKeepsTheFirst()
    {
        var first = Fn("resize");
        var catalog = NewCatalog([first]);

        var ex = Assert.Throws<ArgumentException>(() => catalog.Register(Fn("resize") with { MaxConcurrency = 3 }));

        Assert.Contains("'resize'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("already registered", ex.Message, StringComparison.Ordinal);
        Assert.True(catalog.TryGetFunction("resize", out var kept));
        Assert.Same(first, kept);
    }

    [Fact]
    public void Constructor_DuplicateNames_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => NewCatalog([Fn("a"), Fn("b"), Fn("a")]));

        Assert.Contains("'a'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_NamesDifferingOnlyInCase_AreDistinct()
    {
        var catalog = NewCatalog([Fn("resize"), Fn("Resize")]);

        Assert.Equal(2, catalog.Functions.Count);
    }

    [Fact]
    public void Register_CodeTheProviderCannotLoad_ThrowsNamingFunctionProviderAndKind()
    {
        var catalog = NewCatalog([]);
        var function = new FunctionDefinition("typed", new HandlerTypeFunctionCode(typeof(object)));

        var ex = Assert.Throws<ArgumentException>(() => catalog.Register(function));

        Assert.Contains("'typed'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'fake'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("handler-type", ex.Message, StringComparison.Ordinal);
        Assert.Equal("definition", ex.ParamName);
        Assert.False(catalog.TryGetFunction("typed", out _));
    }

    [Theory]
    [InlineData(nameof(FunctionDefinition.MemoryMb), "0")]
    [InlineData(nameof(FunctionDefinition.MemoryMb), "-512")]
    [InlineData(nameof(FunctionDefinition.MaxConcurrency), "0")]
    [InlineData(nameof(FunctionDefinition.MaxConcurrency), "-1")]
    [InlineData(nameof(FunctionDefinition.MaxPayloadBytes), "0")]
    [InlineData(nameof(FunctionDefinition.MaxQueueLength), "-1")]
    [InlineData(nameof(FunctionDefinition.Timeout), "00:00:00")]
    [InlineData(nameof(FunctionDefinition.Timeout), "-00:00:05")]
    [InlineData(nameof(FunctionDefinition.KeepAlive), "00:00:00")]
    [InlineData(nameof(FunctionDefinition.KeepAlive), "-00:01:00")]
    public void Register_InvalidLimit_ThrowsNamingThePropertyAndValue(string property, string value)
    {
        var catalog = NewCatalog([]);
        var function = WithLimit(Fn("limited"), property, value);

        var ex = Assert.Throws<ArgumentException>(() => catalog.Register(function));

        Assert.Contains("'limited'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(property, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"(was {value})", ex.Message, StringComparison.Ordinal);
        Assert.Equal("definition", ex.ParamName);
        Assert.False(catalog.TryGetFunction("limited", out _));
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void Register_AuxiliaryLikelihoodOutOfRange_ThrowsNamingTheEndpoint(double likelihood)
    {
        var catalog = NewCatalog([]);
        var function = Fn("profiled") with
        {
            TaskProfile = new TaskProfile { AuxiliaryEndpoints = new Dictionary<string, double> { ["tcp://db:5432"] = likelihood } },
        };

        var ex = Assert.Throws<ArgumentException>(() => catalog.Register(function));

        Assert.Contains("tcp://db:5432", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 1]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_BoundaryLimits_AreAccepted()
    {
        var catalog = NewCatalog([]);
        var function = Fn("edge") with
        {
            MemoryMb = 1,
            MaxConcurrency = 1,
            MaxPayloadBytes = 1,
            MaxQueueLength = 0,
            Timeout = Timeout.InfiniteTimeSpan,
            KeepAlive = Timeout.InfiniteTimeSpan,
            TaskProfile = new TaskProfile { AuxiliaryEndpoints = new Dictionary<string, double> { ["a"] = 0, ["b"] = 1 } },
        };

        catalog.Register(function);

        Assert.True(catalog.TryGetFunction("edge", out _));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsOptionsValidationException()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.MaxInstances = 0).AddProvider(_ => new FakeInstanceProvider());
        using var sp = services.BuildServiceProvider();

        Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IFunctionCatalog>());
    }

    [Fact]
    public async Task HostStart_InvalidFunctionRegistration_Fails()
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddProvider(_ => new FakeInstanceProvider())
            .AddFunction("dup", TestHost.Noop)
            .AddFunction("dup", TestHost.Noop);
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => host.StartAsync());

        Assert.Contains("'dup'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("has space")]
    [InlineData("bang!")]
    [InlineData("caf\u00e9")]
    [InlineData("tab\there")]
    [InlineData("trailing-newline\n")]
    [InlineData("a\nb")]
    public void FunctionDefinition_InvalidName_ThrowsArgumentException(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => new FunctionDefinition(name, Code()));

        Assert.Equal("name", ex.ParamName);
    }

    [Fact]
    public void FunctionDefinition_NullName_ThrowsArgumentException()
    {
        Assert.ThrowsAny<ArgumentException>(() => new FunctionDefinition(null!, Code()));
    }

    [Fact]
    public void FunctionDefinition_NameLongerThan128_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => new FunctionDefinition(new string('a', 129), Code()));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("resize-image_v2.1")]
    [InlineData("team/thumbs")]
    [InlineData("ABC.xyz-09_/")]
    public void FunctionDefinition_ValidName_IsKept(string name)
    {
        Assert.Equal(name, new FunctionDefinition(name, Code()).Name);
    }

    [Fact]
    public void FunctionDefinition_NameOf128Characters_IsAccepted()
    {
        var name = new string('x', 128);

        Assert.Equal(name, new FunctionDefinition(name, Code()).Name);
    }

    [Fact]
    public void FunctionDefinition_NullCode_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => new FunctionDefinition("f", null!));
    }

    private static DelegateFunctionCode Code() => new(TestHost.Noop);

    private static FunctionDefinition Fn(string name) => new(name, Code());

    private static FunctionCatalog NewCatalog(IEnumerable<FunctionDefinition> functions)
    {
        var options = Options.Create(new OnDemandExecutionOptions());
        var pool = new OnDemandExecution.Pooling.PoolManager(new FakeInstanceProvider(), options, TimeProvider.System, new OnDemandExecution.Diagnostics.OnDemandMetrics());
        return new(functions, new OnDemandExecution.Pooling.ProviderPools(pool), options);
    }

    private static FunctionDefinition WithLimit(FunctionDefinition f, string property, string value) => property switch
    {
        nameof(FunctionDefinition.MemoryMb) => f with { MemoryMb = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
        nameof(FunctionDefinition.MaxConcurrency) => f with { MaxConcurrency = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
        nameof(FunctionDefinition.MaxPayloadBytes) => f with { MaxPayloadBytes = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
        nameof(FunctionDefinition.MaxQueueLength) => f with { MaxQueueLength = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
        nameof(FunctionDefinition.Timeout) => f with { Timeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
        nameof(FunctionDefinition.KeepAlive) => f with { KeepAlive = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
        _ => throw new ArgumentOutOfRangeException(nameof(property)),
    };
}
