using System.Net;
using Orleans.Runtime;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Tests;

public sealed class CapacityViewTests
{
    private static readonly SiloAddress A = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 1001), 1);
    private static readonly SiloAddress B = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 1002), 1);
    private static readonly SiloAddress C = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 1003), 1);
    private static readonly TenantId T = new("t");

    private static ClusterCapacityView View(params HostCapacityReport[] reports)
    {
        var view = new ClusterCapacityView();
        view.Apply(new CapacityViewUpdate(1, reports));
        return view;
    }

    private static HostCapacityReport Report(SiloAddress host, long warming, long busy, params FunctionCapacity[] functions) =>
        new(host, 1, warming, busy, warming + busy, functions);

    [Fact]
    public void The_host_with_the_most_idle_instances_wins_and_a_burst_spreads_over_every_idle_instance()
    {
        var view = View(Report(A, 5, 0), Report(B, 0, 0, new FunctionCapacity("t", "f", 2)), Report(C, 0, 0, new FunctionCapacity("t", "f", 1)));

        var routes = Enumerable.Range(0, 4).Select(_ => view.Route(T, "f")).ToList();

        Assert.Equal((B, RouteKind.Warm), routes[0]); // the most idle first
        Assert.Equal(2, routes.Take(3).Count(r => r == (B, RouteKind.Warm)));
        Assert.Equal(1, routes.Take(3).Count(r => r == (C, RouteKind.Warm)));
        Assert.Equal((A, RouteKind.WarmingPool), routes[3]); // the idle ones are spoken for
    }

    [Fact]
    public void Without_idle_instances_a_function_has_one_home_among_the_hosts_with_warming_capacity()
    {
        var view = View(Report(A, 3, 0), Report(B, 3, 0), Report(C, 3, 0));
        var other = View(Report(C, 3, 0), Report(A, 3, 0), Report(B, 3, 0)); // another silo's copy, other order

        var home = view.PreloadTarget(T, "periodic");

        Assert.NotNull(home);
        Assert.Equal(home, other.PreloadTarget(T, "periodic")); // every silo sends its preloads to the same host
        Assert.Equal(home, view.Route(T, "periodic").Host);
        var homes = Enumerable.Range(0, 60).Select(i => view.PreloadTarget(T, $"fn{i}")).Distinct().Count();
        Assert.Equal(3, homes); // different functions spread over the hosts
    }

    [Fact]
    public void Without_any_capacity_the_least_loaded_host_is_chosen_and_counted_busy()
    {
        var view = View(Report(A, 0, 4), Report(B, 0, 1), Report(C, 0, 2));

        Assert.Equal((B, RouteKind.LeastLoaded), view.Route(T, "f"));
        Assert.Equal((B, RouteKind.LeastLoaded), view.Route(T, "g"));
        var third = view.Route(T, "h"); // B now counts 3 busy: C (2) is the least loaded
        Assert.Equal(C, third.Host);
    }

    [Fact]
    public void A_host_that_membership_no_longer_lists_leaves_the_view_before_any_report_says_so()
    {
        var view = View(Report(A, 0, 0), Report(B, 0, 0, new FunctionCapacity("t", "f", 9)));

        view.SetActiveHosts([A]);

        Assert.Equal([A], view.Hosts);
        Assert.Equal((A, RouteKind.LeastLoaded), view.Route(T, "f"));
        view.Apply(new CapacityViewUpdate(2, [Report(A, 0, 0), Report(B, 0, 0, new FunctionCapacity("t", "f", 9))])); // a late report
        Assert.Equal([A], view.Hosts);
    }

    [Fact]
    public void An_empty_view_routes_locally_and_a_noted_preload_counts_as_idle_until_the_next_pull()
    {
        Assert.Equal(((SiloAddress?)null, RouteKind.Local), new ClusterCapacityView().Route(T, "f"));
        var view = View(Report(A, 0, 0), Report(B, 0, 0));

        view.NotePreloaded(B, T, "f", 1);

        Assert.Equal((B, RouteKind.Warm), view.Route(T, "f"));
        Assert.Equal(0, view.IdleOn(B, T, "f"));
    }
}

public sealed class CapacityViewCompletionTests
{
    private static readonly SiloAddress A = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 1001), 1);
    private static readonly SiloAddress B = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 1002), 1);
    private static readonly TenantId T = new("t");

    [Fact]
    public void Sequential_calls_keep_finding_the_instance_they_just_used()
    {
        var view = new ClusterCapacityView();
        view.Apply(new CapacityViewUpdate(1, [new(A, 1, 5, 0, 5, []), new(B, 1, 0, 0, 1, [new FunctionCapacity("t", "f", 1)])]));

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal((B, RouteKind.Warm), view.Route(T, "f"));
            view.Completed(B, T, "f", succeeded: true);
        }

        Assert.Equal((B, RouteKind.Warm), view.Route(T, "f"));
        view.Completed(B, T, "f", succeeded: false); // a failed call gives nothing back
        Assert.Equal((A, RouteKind.WarmingPool), view.Route(T, "f"));
    }
}
