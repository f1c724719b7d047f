using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using OnDemandExecution.Simulation;

namespace TraceReplay;

/// <summary>The command line: options, validation, one-line errors and exit codes.</summary>
internal static class Cli
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The replay failed (an unreadable trace, say): one line on stderr.</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: one line on stderr, then a pointer to --help.</summary>
    public const int Usage = 2;

    private static readonly string[] PolicyNames = ["none", "fixed10", "fixed20", "hybrid", "periodic", "adaptive", "burst"];

    /// <summary>What the command line asked for.</summary>
    internal sealed record Request(
        string? Preset,
        double Hours,
        FileInfo? Events,
        FileInfo? Azure,
        FileInfo? Durations,
        FileInfo? Memory,
        DirectoryInfo? All,
        DirectoryInfo? Generate,
        string Plot,
        string? Markdown,
        int Seed,
        bool Details,
        IReadOnlyList<KeepAlivePolicySpec> Policies,
        bool Progress);

    /// <summary>Parses <paramref name="args"/>; on success runs <paramref name="run"/> with the request.</summary>
    public static int Invoke(string[] args, Func<Request, int> run, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var preset = new Option<string>("--preset") { Description = "A synthetic trace: timer-heavy, mixed or poisson (the default source, timer-heavy).", HelpName = "name" };
        preset.AcceptOnlyFromAmong("timer-heavy", "mixed", "poisson");
        var hours = new Option<double>("--hours") { Description = "Length of a synthetic trace, in hours.", DefaultValueFactory = _ => 6, HelpName = "h" };
        hours.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is var h && (h <= 0 || h > 24 * 14))
            {
                r.AddError("--hours must be more than 0 and at most 336.");
            }
        });
        var events = new Option<FileInfo>("--events") { Description = "An event trace (CSV: timestamp,tenant,function,duration_ms,pretrigger).", HelpName = "file" }.AcceptExistingOnly();
        var azure = new Option<FileInfo>("--azure") { Description = "An Azure Functions 2019 invocations file (invocations_per_function_md.anon.dNN.csv).", HelpName = "file" }.AcceptExistingOnly();
        var durations = new Option<FileInfo>("--durations") { Description = "With --azure: the function durations file.", HelpName = "file" }.AcceptExistingOnly();
        var memory = new Option<FileInfo>("--memory") { Description = "With --azure: the app memory file (drives idle GB-s).", HelpName = "file" }.AcceptExistingOnly();
        var all = new Option<DirectoryInfo>("--all") { Description = "Replay every sample trace in a folder.", HelpName = "dir" }.AcceptExistingOnly();
        var generate = new Option<DirectoryInfo>("--generate") { Description = "(Re)write the sample traces into a folder, then exit.", HelpName = "dir" };
        var plot = new Option<string>("--plot") { Description = "Where to write the plot (.svg or .png).", DefaultValueFactory = _ => "trace-replay.svg", HelpName = "file" };
        plot.Validators.Add(r =>
        {
            var ext = Path.GetExtension(r.GetValueOrDefault<string>() ?? "");
            if (!ext.Equals(".svg", StringComparison.OrdinalIgnoreCase) && !ext.Equals(".png", StringComparison.OrdinalIgnoreCase))
            {
                r.AddError("--plot must name a .svg or .png file.");
            }
        });
        var markdown = new Option<string>("--markdown") { Description = "Append the tables to this markdown file.", HelpName = "file" };
        var seed = new Option<int>("--seed") { Description = "Seed of synthetic traces and of arrival offsets within a minute.", DefaultValueFactory = _ => 42 };
        var details = new Option<bool>("--details") { Description = "Also print each function's start kinds per policy." };
        var policies = new Option<string[]>("--policies")
        {
            Description = "Policies to replay, comma separated: " + string.Join(", ", PolicyNames) + ".",
            DefaultValueFactory = _ => PolicyNames.Where(p => p != "fixed20").ToArray(),
            HelpName = "list",
            CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray(),
        };
        policies.Validators.Add(r =>
        {
            foreach (var name in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (!PolicyNames.Contains(name, StringComparer.Ordinal))
                {
                    r.AddError($"Unknown policy '{name}'; the policies are: {string.Join(", ", PolicyNames)}.");
                    return;
                }
            }
        });
        var costs = new Option<double[]>("--adaptive-cost")
        {
            Description = "The adaptive policy's cold-start cost knob(s), comma separated (GB-s of idle memory one cold start is worth).",
            DefaultValueFactory = _ => [300],
            HelpName = "list",
            CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 ? d : double.NaN).ToArray(),
        };
        costs.Validators.Add(r =>
        {
            if ((r.GetValueOrDefault<double[]>() ?? []).Any(double.IsNaN))
            {
                r.AddError("--adaptive-cost takes positive numbers, comma separated (e.g. 100,300,1000).");
            }
        });
        var floor = new Option<double?>("--adaptive-floor")
        {
            Description = "The adaptive policy's MinimumKeepAlive in seconds: no instance is given up sooner after a call (default: the option's default, 120).",
            HelpName = "seconds",
        };
        floor.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } f && (f < 0 || f > 7200))
            {
                r.AddError("--adaptive-floor must be 0 to 7200 seconds.");
            }
        });
        var burstKeepAlive = new Option<double[]>("--burst-keep-alive")
        {
            Description = "The recurring-burst policy's keep-alive(s) between bursts, in seconds, comma separated.",
            DefaultValueFactory = _ => [120],
            HelpName = "list",
            CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 && d <= 7200 ? d : double.NaN).ToArray(),
        };
        burstKeepAlive.Validators.Add(r =>
        {
            if ((r.GetValueOrDefault<double[]>() ?? []).Any(double.IsNaN))
            {
                r.AddError("--burst-keep-alive takes seconds from 0 to 7200, comma separated (e.g. 120,180).");
            }
        });
        var noProgress = new Option<bool>("--no-progress") { Description = "No progress bar (it is shown only on a terminal, for replays longer than a second)." };

        var root = new RootCommand("Replays a trace of function calls with keep-alive policies on virtual time, prints their cold starts and idle memory side by side and plots one against the other.")
        {
            preset, hours, events, azure, durations, memory, all, generate, plot, markdown, seed, details, policies, costs, floor, burstKeepAlive, noProgress,
        };
        root.Validators.Add(r =>
        {
            var sources = new Option[] { preset, events, azure, all, generate }.Where(o => r.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
            if (sources.Count > 1)
            {
                r.AddError($"Choose one trace source; got {string.Join(" and ", sources)}.");
            }

            if (r.GetResult(azure) is null && (r.GetResult(durations) is not null || r.GetResult(memory) is not null))
            {
                r.AddError("--durations and --memory go with --azure.");
            }
        });

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            error.WriteLine($"trace-replay: {OneLine(result.Errors[0].Message)}");
            error.WriteLine("Try 'trace-replay --help'.");
            return Usage;
        }

        if (result.Action is HelpAction)
        {
            return result.Invoke(new InvocationConfiguration { Output = output, Error = error });
        }

        var specs = new List<KeepAlivePolicySpec>();
        foreach (var name in result.GetValue(policies)!)
        {
            switch (name)
            {
                case "none": specs.Add(KeepAlivePolicySpec.None); break;
                case "fixed10": specs.Add(KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10))); break;
                case "fixed20": specs.Add(KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(20))); break;
                case "hybrid": specs.Add(KeepAlivePolicySpec.HybridHistogram()); break;
                case "periodic": specs.Add(KeepAlivePolicySpec.Periodic()); break;
                case "burst":
                    specs.AddRange(result.GetValue(burstKeepAlive)!.Select(k => KeepAlivePolicySpec.RecurringBurst(o => o.KeepAlive = TimeSpan.FromSeconds(k))
                        with { Name = string.Create(CultureInfo.InvariantCulture, $"recurring burst {k / 60:0.#} min") }));
                    break;
                default:
                    var seconds = result.GetValue(floor);
                    specs.AddRange(result.GetValue(costs)!.Select(c => seconds is not { } s
                        ? KeepAlivePolicySpec.Adaptive(c)
                        : KeepAlivePolicySpec.Adaptive(c, o => o.MinimumKeepAlive = TimeSpan.FromSeconds(s)) with { Name = string.Create(CultureInfo.InvariantCulture, $"adaptive {c:0.##} floor {s:0}s") }));
                    break;
            }
        }

        var request = new Request(
            result.GetValue(preset), result.GetValue(hours), result.GetValue(events), result.GetValue(azure), result.GetValue(durations),
            result.GetValue(memory), result.GetValue(all), result.GetValue(generate), result.GetValue(plot)!, result.GetValue(markdown),
            result.GetValue(seed), result.GetValue(details), specs.DistinctBy(s => s.Name).ToList(), !result.GetValue(noProgress));
        try
        {
            return run(request);
        }
        catch (Exception ex) when (ex is IOException or FormatException or InvalidDataException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
        {
            error.WriteLine($"trace-replay: {OneLine(ex.Message)}");
            return Failed;
        }
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
}
