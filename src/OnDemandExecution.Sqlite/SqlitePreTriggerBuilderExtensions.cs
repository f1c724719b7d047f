using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite pre-trigger history store.</summary>
public static class SqlitePreTriggerBuilderExtensions
{
    /// <summary>
    /// Keeps the pre-trigger history in a SQLite database, so that what the correlator learned survives restarts.
    /// Call with <c>AddPreTriggers(...)</c> (in either order).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionStringOrPath">A Microsoft.Data.Sqlite connection string (<c>Data Source=history.db</c>) or a file path.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseSqlitePreTriggerHistory(this IOnDemandExecutionBuilder builder, string connectionStringOrPath)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var connectionString = SqlitePreTriggerHistoryStore.ToConnectionString(connectionStringOrPath);
        return builder.UsePreTriggerHistoryStore(sp => new SqlitePreTriggerHistoryStore(connectionString, sp.GetRequiredService<IOptions<PreTriggerOptions>>()));
    }
}
