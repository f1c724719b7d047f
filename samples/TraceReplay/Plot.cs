using OnDemandExecution.Simulation;

namespace TraceReplay;

/// <summary>
/// Cold-start % against idle memory, one point per policy (ScottPlot, rendered headless). Points carry no text: each
/// policy has a colour and each trace a marker shape, named in a legend beside the plot, so labels never overlap. Both
/// axes start at 0.
/// </summary>
internal static class Plot
{
    private static readonly ScottPlot.MarkerShape[] Shapes =
    [
        ScottPlot.MarkerShape.FilledCircle, ScottPlot.MarkerShape.FilledSquare, ScottPlot.MarkerShape.FilledTriangleUp,
        ScottPlot.MarkerShape.FilledDiamond, ScottPlot.MarkerShape.OpenCircle, ScottPlot.MarkerShape.OpenSquare,
    ];

    public static void Write(string path, IReadOnlyList<(string Trace, IReadOnlyList<ReplayResult> Results)> series)
    {
        var plot = new ScottPlot.Plot();
        var policies = series.SelectMany(s => s.Results.Select(r => r.Policy)).Distinct(StringComparer.Ordinal).ToList();

        // one colour per policy: ten well-separated ones while they suffice, twenty (pairs of shades) beyond
        ScottPlot.IPalette palette = policies.Count <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        double maxX = 0, maxY = 0;
        for (var t = 0; t < series.Count; t++)
        {
            var (trace, results) = series[t];
            foreach (var result in results)
            {
                var x = result.Provider.IdleGbSeconds / 3600;
                var y = result.ColdStartPercent;
                maxX = Math.Max(maxX, x);
                maxY = Math.Max(maxY, y);
                var point = plot.Add.ScatterPoints(new[] { x }, new[] { y });
                point.Color = palette.GetColor(policies.IndexOf(result.Policy));
                point.MarkerShape = Shapes[t % Shapes.Length];
                point.MarkerSize = 10;
                point.LegendText = series.Count == 1 ? result.Policy : $"{result.Policy} ({trace})";
            }
        }

        plot.Title("Cold starts vs idle memory (one point per keep-alive policy)");
        plot.XLabel("idle memory (GB-hours, to the trace's end)");
        plot.YLabel("cold-start % (code not loaded at arrival)");
        plot.Axes.SetLimits(0, maxX > 0 ? maxX * 1.1 : 1, 0, maxY > 0 ? maxY * 1.1 : 1);
        plot.ShowLegend(ScottPlot.Edge.Right);
        if (Path.GetExtension(path).Equals(".png", StringComparison.OrdinalIgnoreCase))
        {
            plot.SavePng(path, 1000, 600);
        }
        else
        {
            plot.SaveSvg(path, 1000, 600);
        }
    }
}
