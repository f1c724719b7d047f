using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using OnDemandExecution.Execution;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.DependencyInjection;

/// <summary>
/// Follows reloads of the configuration section the host was set up from: the warming pool's size (through
/// <see cref="IOptionsMonitor{TOptions}"/>), and the configured functions: added ones are registered, removed ones
/// drained, changed ones replaced (a provisioned count alone changes the floor without draining).
/// </summary>
internal sealed partial class ConfigurationReloadService : IHostedService, IDisposable
{
    private readonly IConfiguration _section;
    private readonly FunctionCatalog _catalog;
    private readonly ProviderPools _pools;
    private readonly IOptionsMonitor<OnDemandExecutionOptions> _options;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private Dictionary<string, (string Definition, string Floor)> _configured;
    private IDisposable? _functionsSubscription;
    private IDisposable? _optionsSubscription;

    [RequiresUnreferencedCode(AssemblyLoading.UnreferencedCodeMessage)]
    [RequiresDynamicCode(AssemblyLoading.DynamicCodeMessage)]
    public ConfigurationReloadService(ConfiguredSection section, FunctionCatalog catalog, ProviderPools pools, IOptionsMonitor<OnDemandExecutionOptions> options, ILoggerFactory? loggerFactory = null)
    {
        _section = section.Configuration;
        _catalog = catalog;
        _pools = pools;
        _options = options;
        _logger = (ILogger?)loggerFactory?.CreateLogger<ConfigurationReloadService>() ?? NullLogger.Instance;
        _configured = FunctionConfiguration.Fingerprints(_section);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The host was set up from configuration through the annotated AddOnDemandExecution(IConfiguration).")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "The host was set up from configuration through the annotated AddOnDemandExecution(IConfiguration).")]
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _optionsSubscription = _options.OnChange((o, name) =>
        {
            if (name == Options.DefaultName)
            {
                ApplyWarmingPool(o);
            }
        });
        _functionsSubscription = ChangeToken.OnChange(_section.GetReloadToken, ReloadFunctions);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _optionsSubscription?.Dispose();
        _functionsSubscription?.Dispose();
    }

    private void ApplyWarmingPool(OnDemandExecutionOptions options)
    {
        var pool = _pools.Default;
        var target = Math.Min(options.WarmingPoolSize, pool.Options.MaxInstances);
        pool.WarmingPoolTarget = target;
        Log.WarmingPoolReloaded(_logger, target);
    }

    [RequiresUnreferencedCode(AssemblyLoading.UnreferencedCodeMessage)]
    [RequiresDynamicCode(AssemblyLoading.DynamicCodeMessage)]
    internal void ReloadFunctions()
    {
        lock (_lock)
        {
            IReadOnlyList<FunctionDefinition> functions;
            Dictionary<string, (string Definition, string Floor)> next;
            try
            {
                functions = FunctionConfiguration.Read(_section);
                next = FunctionConfiguration.Fingerprints(_section);
            }
            catch (InvalidOperationException ex)
            {
                Log.ReloadRejected(_logger, ex.Message); // keeps running with what it has
                return;
            }

            foreach (var function in functions)
            {
                var name = function.Name;
                var now = next[name];
                try
                {
                    if (!_configured.TryGetValue(name, out var before) || !_catalog.TryGetFunction(name, out _))
                    {
                        _catalog.Register(function);
                        Log.FunctionChanged(_logger, name, "added");
                    }
                    else if (before.Definition != now.Definition)
                    {
                        _catalog.Replace(function);
                        Log.FunctionChanged(_logger, name, "replaced");
                    }
                    else if (before.Floor != now.Floor)
                    {
                        _catalog.UpdateProvisioned(name, function.ProvisionedConcurrency);
                        Log.FunctionChanged(_logger, name, "provisioned floor changed");
                    }
                }
                catch (ArgumentException ex)
                {
                    Log.ReloadRejected(_logger, ex.Message);
                    if (_configured.TryGetValue(name, out var kept))
                    {
                        next[name] = kept; // not applied: compare with what runs next time
                    }
                    else
                    {
                        next.Remove(name);
                    }
                }
            }

            foreach (var name in _configured.Keys.Except(next.Keys, StringComparer.Ordinal))
            {
                if (_catalog.Remove(name))
                {
                    Log.FunctionChanged(_logger, name, "removed");
                }
            }

            _configured = next;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 90, Level = LogLevel.Information, Message = "Configuration reload: warming pool target {Target}.")]
        public static partial void WarmingPoolReloaded(ILogger logger, int target);

        [LoggerMessage(EventId = 91, Level = LogLevel.Information, Message = "Configuration reload: function '{Function}' {Change}.")]
        public static partial void FunctionChanged(ILogger logger, string function, string change);

        [LoggerMessage(EventId = 92, Level = LogLevel.Warning, Message = "Configuration reload not applied: {Problem}")]
        public static partial void ReloadRejected(ILogger logger, string problem);
    }
}

/// <summary>The configuration section a host was set up from (by <c>AddOnDemandExecution(IConfiguration)</c>).</summary>
internal sealed record ConfiguredSection(IConfiguration Configuration);
