using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Tests.Placement;

/// <summary>HttpProbe sends through the application's named HttpClient when one is configured.</summary>
public class HttpProbeClientFactoryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task NamedClient_FromTheFactory_CarriesTheProbe_ThroughItsHandlers()
    {
        await using var server = new LoopbackHttpServer(TimeSpan.Zero);
        var seen = new RecordingHandler();
        var services = new ServiceCollection();
        services.AddHttpClient("probe").AddHttpMessageHandler(() => seen);
        await using var provider = services.BuildServiceProvider();
        var options = Options.Create(new ChannelQualityPlacementOptions { HttpClientName = "probe" });
        using var probe = new HttpProbe(TimeProvider.System, options, provider.GetRequiredService<IHttpClientFactory>());

        var result = await probe.ProbeAsync(server.Address, Timeout, CancellationToken.None);

        Assert.True(probe.UsesHttpClientFactory);
        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(1, server.Requests);
        Assert.Equal([server.Address], seen.Requests);
    }

    [Fact]
    public void NoClientName_UsesItsOwnClient_EvenWithAFactory()
    {
        var services = new ServiceCollection();
        services.AddHttpClient();
        using var provider = services.BuildServiceProvider();
        using var probe = new HttpProbe(TimeProvider.System, Options.Create(new ChannelQualityPlacementOptions()), provider.GetRequiredService<IHttpClientFactory>());

        Assert.False(probe.UsesHttpClientFactory);
    }

    [Fact]
    public void ClientName_WithoutAFactory_IsAClearError()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            new HttpProbe(TimeProvider.System, Options.Create(new ChannelQualityPlacementOptions { HttpClientName = "probe" })));
        Assert.Contains("AddHttpClient(\"probe\")", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThroughDI_ThePlacersHttpProbe_TakesTheNamedClient()
    {
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddHttpClient("probe");
        services.AddOnDemandExecution().AddChannelQualityPlacement(o => o.HttpClientName = "probe");
        using var provider = services.BuildServiceProvider();

        var http = Assert.Single(provider.GetServices<IChannelQualityProbe>().OfType<HttpProbe>());
        Assert.True(http.UsesHttpClientFactory);
    }

    private sealed class RecordingHandler : DelegatingHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests)
            {
                Requests.Add(request.RequestUri!);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
