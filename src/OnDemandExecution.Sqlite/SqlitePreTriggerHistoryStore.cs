using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Sqlite;

/// <summary>
/// A durable <see cref="IPreTriggerHistoryStore"/> in a SQLite database (Microsoft.Data.Sqlite): what the correlator
/// learned is there after a restart. Same bounds and eviction rules as the in-memory store.
/// </summary>
/// <remarks>
/// <para>Tables <c>pretrigger_windows</c> (one row per window), <c>pretrigger_followers</c> (one row per function and
/// window: count, peak concurrency, delays as comma-separated ticks), <c>pretrigger_rates</c> and <c>pretrigger_meta</c>, created when missing.
/// Times are stored as UTC ticks; a null tenant as the empty string (no tenant can be named so).</para>
/// <para>One connection, used under a lock; each append is one transaction. Microsoft.Data.Sqlite does its I/O
/// synchronously, so the async methods complete synchronously. The correlator reads a key once per process and
/// writes when a window closes (on a timer, not on the invocation path).</para>
/// </remarks>
public sealed class SqlitePreTriggerHistoryStore : IPreTriggerHistoryStore, IDisposable
{
    private readonly PreTriggerOptions _options;
    private readonly SqliteConnection _connection;
    private readonly object _gate = new();
    private bool _disposed;

    /// <summary>Opens (creating when missing) the database.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string (<c>Data Source=history.db</c>), or a plain file path.</param>
    /// <param name="options">The bounds.</param>
    public SqlitePreTriggerHistoryStore(string connectionString, IOptions<PreTriggerOptions> options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _connection = new SqliteConnection(ToConnectionString(connectionString));
        _connection.Open();
        Execute("""
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS pretrigger_windows (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                key TEXT NOT NULL,
                tenant TEXT NOT NULL,
                start INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_pretrigger_windows_key ON pretrigger_windows (key, tenant, start);
            CREATE TABLE IF NOT EXISTS pretrigger_followers (
                window_id INTEGER NOT NULL,
                ordinal INTEGER NOT NULL,
                function TEXT NOT NULL,
                count INTEGER NOT NULL,
                peak INTEGER NOT NULL,
                delays TEXT NOT NULL,
                PRIMARY KEY (window_id, ordinal));
            CREATE TABLE IF NOT EXISTS pretrigger_rates (
                tenant TEXT NOT NULL,
                function TEXT NOT NULL,
                arrivals REAL NOT NULL,
                since INTEGER NOT NULL,
                updated INTEGER NOT NULL,
                PRIMARY KEY (tenant, function));
            CREATE TABLE IF NOT EXISTS pretrigger_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """);
    }

    /// <summary>Turns a plain path into a connection string; a string with <c>=</c> is taken as a connection string.</summary>
    /// <param name="connectionStringOrPath">The connection string or path.</param>
    /// <returns>The connection string.</returns>
    public static string ToConnectionString(string connectionStringOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionStringOrPath);
        return connectionStringOrPath.Contains('=', StringComparison.Ordinal)
            ? connectionStringOrPath
            : new SqliteConnectionStringBuilder { DataSource = connectionStringOrPath }.ToString();
    }

    /// <inheritdoc />
    public ValueTask AppendWindowAsync(PreTriggerWindow window, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(window);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = _connection.BeginTransaction();
            var tenant = window.Tenant ?? string.Empty;
            var start = window.Start.UtcTicks;
            using (var insert = Command("INSERT INTO pretrigger_windows (key, tenant, start) VALUES ($key, $tenant, $start); SELECT last_insert_rowid();", transaction))
            {
                insert.Parameters.AddWithValue("$key", window.Key);
                insert.Parameters.AddWithValue("$tenant", tenant);
                insert.Parameters.AddWithValue("$start", start);
                var id = (long)insert.ExecuteScalar()!;
                for (var i = 0; i < window.Followers.Count; i++)
                {
                    var follower = window.Followers[i];
                    using var add = Command("INSERT INTO pretrigger_followers (window_id, ordinal, function, count, peak, delays) VALUES ($id, $ordinal, $function, $count, $peak, $delays);", transaction);
                    add.Parameters.AddWithValue("$id", id);
                    add.Parameters.AddWithValue("$ordinal", i);
                    add.Parameters.AddWithValue("$function", follower.Function);
                    add.Parameters.AddWithValue("$count", follower.Count);
                    add.Parameters.AddWithValue("$peak", follower.Peak);
                    add.Parameters.AddWithValue("$delays", string.Join(',', follower.Delays.Select(d => d.Ticks.ToString(CultureInfo.InvariantCulture))));
                    add.ExecuteNonQuery();
                }
            }

            // The newest start ever appended is "now" for retention (as in the in-memory store).
            using (var meta = Command("INSERT INTO pretrigger_meta (name, value) VALUES ('newest', $start) ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value);", transaction))
            {
                meta.Parameters.AddWithValue("$start", start);
                meta.ExecuteNonQuery();
            }

            var cutoff = Newest(transaction) - _options.HistoryRetention.Ticks;
            using (var trim = Command("""
                DELETE FROM pretrigger_windows WHERE key = $key AND tenant = $tenant AND (start < $cutoff OR id NOT IN (
                    SELECT id FROM pretrigger_windows WHERE key = $key AND tenant = $tenant ORDER BY start DESC, id DESC LIMIT $max));
                """, transaction))
            {
                trim.Parameters.AddWithValue("$key", window.Key);
                trim.Parameters.AddWithValue("$tenant", tenant);
                trim.Parameters.AddWithValue("$cutoff", cutoff);
                trim.Parameters.AddWithValue("$max", _options.MaxWindowsPerKey);
                trim.ExecuteNonQuery();
            }

            // Key cap: evict the pairs whose newest window is the oldest (ties by key, then tenant).
            using (var evict = Command("""
                DELETE FROM pretrigger_windows WHERE (key, tenant) IN (
                    SELECT key, tenant FROM pretrigger_windows GROUP BY key, tenant ORDER BY MAX(start), key, tenant
                    LIMIT MAX(0, (SELECT COUNT(*) FROM (SELECT DISTINCT key, tenant FROM pretrigger_windows)) - $max));
                DELETE FROM pretrigger_followers WHERE window_id NOT IN (SELECT id FROM pretrigger_windows);
                """, transaction))
            {
                evict.Parameters.AddWithValue("$max", _options.MaxTrackedKeys);
                evict.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<PreTriggerWindow>> GetWindowsAsync(string key, string? tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var cutoff = Newest(null) - _options.HistoryRetention.Ticks;
            var windows = new List<(long Id, DateTimeOffset Start, List<PreTriggerFollower> Followers)>();
            using (var select = Command("SELECT id, start FROM pretrigger_windows WHERE key = $key AND tenant = $tenant AND start >= $cutoff ORDER BY start, id;", null))
            {
                select.Parameters.AddWithValue("$key", key);
                select.Parameters.AddWithValue("$tenant", tenant ?? string.Empty);
                select.Parameters.AddWithValue("$cutoff", cutoff);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    windows.Add((reader.GetInt64(0), new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero), []));
                }
            }

            var byId = windows.ToDictionary(w => w.Id, w => w.Followers);
            using (var followers = Command("""
                SELECT f.window_id, f.function, f.count, f.delays, f.peak FROM pretrigger_followers f JOIN pretrigger_windows w ON w.id = f.window_id
                WHERE w.key = $key AND w.tenant = $tenant AND w.start >= $cutoff ORDER BY f.window_id, f.ordinal;
                """, null))
            {
                followers.Parameters.AddWithValue("$key", key);
                followers.Parameters.AddWithValue("$tenant", tenant ?? string.Empty);
                followers.Parameters.AddWithValue("$cutoff", cutoff);
                using var reader = followers.ExecuteReader();
                while (reader.Read())
                {
                    var delays = reader.GetString(3);
                    var parsed = delays.Length == 0
                        ? []
                        : delays.Split(',').Select(d => TimeSpan.FromTicks(long.Parse(d, CultureInfo.InvariantCulture))).ToArray();
                    if (byId.TryGetValue(reader.GetInt64(0), out var list))
                    {
                        list.Add(new PreTriggerFollower(reader.GetString(1), reader.GetInt32(2), parsed, reader.GetInt32(4)));
                    }
                }
            }

            IReadOnlyList<PreTriggerWindow> result = windows.Select(w => new PreTriggerWindow(key, tenant, w.Start, w.Followers.ToArray())).ToArray();
            return new(result);
        }
    }

    /// <inheritdoc />
    public ValueTask<int> CountKeysAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var count = Command("SELECT COUNT(*) FROM (SELECT DISTINCT key, tenant FROM pretrigger_windows);", null);
            return new((int)(long)count.ExecuteScalar()!);
        }
    }

    /// <inheritdoc />
    public ValueTask SaveRateAsync(PreTriggerFunctionRate rate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rate);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var save = Command("""
                INSERT OR REPLACE INTO pretrigger_rates (tenant, function, arrivals, since, updated) VALUES ($tenant, $function, $arrivals, $since, $updated);
                DELETE FROM pretrigger_rates WHERE rowid IN (
                    SELECT rowid FROM pretrigger_rates ORDER BY updated, function, tenant
                    LIMIT MAX(0, (SELECT COUNT(*) FROM pretrigger_rates) - $max));
                """, null);
            save.Parameters.AddWithValue("$tenant", rate.Tenant ?? string.Empty);
            save.Parameters.AddWithValue("$function", rate.Function);
            save.Parameters.AddWithValue("$arrivals", rate.DecayedArrivals);
            save.Parameters.AddWithValue("$since", rate.Since.UtcTicks);
            save.Parameters.AddWithValue("$updated", rate.Updated.UtcTicks);
            save.Parameters.AddWithValue("$max", _options.MaxTrackedFunctions);
            save.ExecuteNonQuery();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<PreTriggerFunctionRate?> GetRateAsync(string? tenant, string functionName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(functionName);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var select = Command("SELECT arrivals, since, updated FROM pretrigger_rates WHERE tenant = $tenant AND function = $function;", null);
            select.Parameters.AddWithValue("$tenant", tenant ?? string.Empty);
            select.Parameters.AddWithValue("$function", functionName);
            using var reader = select.ExecuteReader();
            if (!reader.Read())
            {
                return new((PreTriggerFunctionRate?)null);
            }

            return new(new PreTriggerFunctionRate(tenant, functionName, reader.GetDouble(0), new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero), new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero)));
        }
    }

    /// <summary>Closes the connection.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _connection.Dispose();
        }
    }

    private long Newest(SqliteTransaction? transaction)
    {
        using var select = Command("SELECT value FROM pretrigger_meta WHERE name = 'newest';", transaction);
        return select.ExecuteScalar() is long value ? value : DateTimeOffset.MinValue.UtcTicks + _options.HistoryRetention.Ticks;
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction)
    {
        var command = _connection.CreateCommand();
#pragma warning disable CA2100 // constant SQL; values go through parameters
        command.CommandText = sql;
#pragma warning restore CA2100
        command.Transaction = transaction;
        return command;
    }

    private void Execute(string sql)
    {
        using var command = Command(sql, null);
        command.ExecuteNonQuery();
    }
}
