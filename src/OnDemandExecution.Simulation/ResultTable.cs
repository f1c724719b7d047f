using System.Globalization;
using System.Text;

namespace OnDemandExecution.Simulation;

/// <summary>Formats replay results side by side, one column per policy, as a GitHub-markdown table.</summary>
public static class ResultTable
{
    /// <summary>Formats the results.</summary>
    /// <param name="results">One result per policy.</param>
    /// <returns>The table, one metric per row.</returns>
    public static string Format(IReadOnlyList<ReplayResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<(string Metric, Func<ReplayResult, string> Value)>
        {
            ("invocations", r => N(r.Invocations)),
            ("failures", r => N(r.Failures)),
            ("cold-start % (code not loaded)", r => P(r.ColdStartPercent)),
            ("  of which new instance %", r => P(r.NewInstanceStartPercent)),
            ("  of which warming pool %", r => P(r.WarmPoolStartPercent)),
            ("warm-hit %", r => P(r.WarmHitPercent)),
            ("idle instance-s", r => F(r.Provider.IdleSeconds)),
            ("  of which warming pool", r => F(r.Provider.IdleWarmSeconds)),
            ("idle GB-s (to trace end)", r => F(r.Provider.IdleGbSeconds)),
            ("instances created", r => N(r.Provider.Created)),
            ("code loads", r => N(r.Provider.Loads)),
            ("over-provisioned", r => N(r.Provider.OverProvisioned)),
            ("  pre-loaded, never invoked", r => N(r.Provider.PreloadedNeverInvoked)),
            ("  pre-warmed, never loaded", r => N(r.Provider.WarmNeverUsed)),
            ("cold % per function p50", r => P(r.FunctionColdStartP50)),
            ("cold % per function p75", r => P(r.FunctionColdStartP75)),
            ("cold % per function p99", r => P(r.FunctionColdStartP99)),
            ("accounted up to (trace end), h", r => r.SimulatedTime.TotalHours.ToString("0.##", CultureInfo.InvariantCulture)),
        };

        var sb = new StringBuilder();
        sb.Append("| metric |");
        foreach (var r in results)
        {
            sb.Append(' ').Append(r.Policy).Append(" |");
        }

        sb.AppendLine().Append("| --- |");
        foreach (var _ in results)
        {
            sb.Append(" ---: |");
        }

        sb.AppendLine();
        foreach (var (metric, value) in rows)
        {
            sb.Append("| ").Append(metric).Append(" |");
            foreach (var r in results)
            {
                sb.Append(' ').Append(value(r)).Append(" |");
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string P(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
