using OnDemandExecution.Simulation;

namespace TraceReplay;

/// <summary>Cold-start % against idle memory, one point per policy and one series per trace (ScottPlot, rendered headless).</summary>
internal static class Plot
{
    public static void Write(string path, IReadOnlyList<(string Trace, IReadOnlyList<ReplayResult> Results)> series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (trace, results) in series)
        {
            var xs = results.Select(r => r.Provider.IdleGbSeconds / 3600).ToArray();
            var ys = results.Select(r => r.ColdStartPercent).ToArray();
            var scatter = plot.Add.ScatterPoints(xs, ys);
            scatter.LegendText = trace;
            scatter.MarkerSize = 9;
            for (var i = 0; i < results.Count; i++)
            {
                var label = plot.Add.Text(results[i].Policy, xs[i], ys[i]);
                label.LabelFontSize = 11;
                label.OffsetX = 6;
                label.OffsetY = -6;
            }
        }

        plot.Title("Cold starts vs idle memory (one point per keep-alive policy)");
        plot.XLabel("idle memory (GB-hours)");
        plot.YLabel("cold-start %");
        plot.Axes.Margins(left: 0.05, right: 0.3, bottom: 0.1, top: 0.15);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        if (Path.GetExtension(path).Equals(".png", StringComparison.OrdinalIgnoreCase))
        {
            plot.SavePng(path, 900, 600);
        }
        else
        {
            plot.SaveSvg(path, 900, 600);
        }
    }
}
