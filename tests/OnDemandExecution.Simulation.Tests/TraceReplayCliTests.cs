using OnDemandExecution.Simulation;
using TraceReplay;

namespace OnDemandExecution.Simulation.Tests;

/// <summary>The TraceReplay command line: help, validation, one-line errors, exit codes, the request it builds.</summary>
public sealed class TraceReplayCliTests
{
    private static (int Code, string Output, string Error, Cli.Request? Request) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Cli.Request? seen = null;
        var code = Cli.Invoke(args, r => { seen = r; return Cli.Ok; }, output, error);
        return (code, output.ToString(), error.ToString(), seen);
    }

    [Fact]
    public void Help_ListsTheOptions_AndSucceeds()
    {
        var (code, output, _, request) = Run("--help");
        Assert.Equal(Cli.Ok, code);
        Assert.Null(request);
        Assert.Contains("--azure", output, StringComparison.Ordinal);
        Assert.Contains("--policies", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus", "Unrecognized")]
    [InlineData("--hours|0", "--hours")]
    [InlineData("--events|/no/such/file.csv", "does not exist")]
    [InlineData("--preset|mixed|--all|.", "one trace source")]
    [InlineData("--preset|sunny", "sunny")]
    [InlineData("--policies|fixed10,lru", "Unknown policy 'lru'")]
    [InlineData("--adaptive-cost|100,-3", "positive")]
    [InlineData("--plot|out.txt", ".svg or .png")]
    [InlineData("--seed|many", "many")]
    public void BadInput_IsOneLineAndAUsageExitCode_AndNothingRuns(string args, string expected)
    {
        var (code, _, error, request) = Run(args.Split('|'));
        Assert.Equal(Cli.Usage, code);
        Assert.Null(request);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length); // the error, then the pointer to --help
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal); // no stack trace
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Policies_AndKnobs_BecomeSpecs_InTheGivenOrder()
    {
        var (code, _, _, request) = Run("--preset", "mixed", "--hours", "2", "--policies", "fixed20,adaptive,none", "--adaptive-cost", "100,1000");
        Assert.Equal(Cli.Ok, code);
        Assert.NotNull(request);
        Assert.Equal(["fixed 20 min", "adaptive 100", "adaptive 1000", "no keep-alive"], request.Policies.Select(p => p.Name));
        Assert.Equal("mixed", request.Preset);
        Assert.Equal(2, request.Hours);
        Assert.True(request.Progress);
    }

    [Fact]
    public void FailureWhileReplaying_IsOneLine_WithTheFailureExitCode()
    {
        using var error = new StringWriter();
        var code = Cli.Invoke(["--preset", "mixed"], _ => throw new InvalidDataException("line 3: not a number\nsecond line"), TextWriter.Null, error);
        Assert.Equal(Cli.Failed, code);
        Assert.Equal("trace-replay: line 3: not a number second line", error.ToString().Trim());
    }

    [Fact]
    public void Progress_IsReported_UpToTheWholeTrace()
    {
        var trace = SyntheticTraceGenerator.Preset("mixed", 7, TimeSpan.FromHours(1));
        var reports = new List<ReplayProgress>();
        var progress = new Recorder(reports);
        var result = TraceReplayer.Replay(trace, KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10)), new ReplayOptions { Progress = progress, ProgressInterval = 50 });
        Assert.True(reports.Count >= 2);
        Assert.Equal(1.0, reports[^1].Fraction);
        Assert.Equal(result.Invocations, reports[^1].Invocations);
        Assert.All(reports, r => Assert.Equal("fixed 10 min", r.Policy));
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.Fraction <= p.Second.Fraction));
    }

    private sealed class Recorder(List<ReplayProgress> reports) : IProgress<ReplayProgress>
    {
        public void Report(ReplayProgress value) => reports.Add(value);
    }
}
