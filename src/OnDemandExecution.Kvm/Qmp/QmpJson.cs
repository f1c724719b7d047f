using System.Text.Json.Serialization;

namespace OnDemandExecution.Kvm.Qmp;

/// <summary>The QMP greeting: <c>{"QMP": {"version": {...}, "capabilities": [...]}}</c>.</summary>
internal sealed class QmpGreeting
{
    [JsonPropertyName("QMP")]
    public QmpGreetingBody? Qmp { get; set; }
}

internal sealed class QmpGreetingBody
{
    [JsonPropertyName("version")]
    public QmpVersionInfo? Version { get; set; }

    [JsonPropertyName("capabilities")]
    public List<string>? Capabilities { get; set; }
}

internal sealed class QmpVersionInfo
{
    [JsonPropertyName("qemu")]
    public QmpVersionTriple? Qemu { get; set; }

    [JsonPropertyName("package")]
    public string? Package { get; set; }
}

internal sealed class QmpVersionTriple
{
    [JsonPropertyName("major")]
    public int Major { get; set; }

    [JsonPropertyName("minor")]
    public int Minor { get; set; }

    [JsonPropertyName("micro")]
    public int Micro { get; set; }

    public override string ToString() => $"{Major}.{Minor}.{Micro}";
}

/// <summary>The return of <c>query-status</c>.</summary>
internal sealed class QmpStatusInfo
{
    [JsonPropertyName("running")]
    public bool Running { get; set; }

    /// <summary>The run state: <c>running</c>, <c>paused</c>, <c>inmigrate</c>, <c>postmigrate</c>, <c>shutdown</c>...</summary>
    [JsonPropertyName("status")]
    public string Status { get; set; } = string.Empty;
}

/// <summary>The return of <c>query-migrate</c>.</summary>
internal sealed class QmpMigrationInfo
{
    /// <summary><c>setup</c>, <c>active</c>, <c>completed</c>, <c>failed</c>, <c>cancelled</c>... (absent before any migration).</summary>
    [JsonPropertyName("status")]
    public string? Status { get; set; }

    [JsonPropertyName("error-desc")]
    public string? ErrorDescription { get; set; }

    [JsonPropertyName("total-time")]
    public long? TotalTimeMs { get; set; }
}

/// <summary>The arguments of <c>migrate</c>.</summary>
internal sealed class QmpMigrateArguments
{
    [JsonPropertyName("uri")]
    public string Uri { get; set; } = string.Empty;
}

/// <summary>A command on the wire: <c>{"execute": ..., "arguments": ..., "id": ...}</c>.</summary>
internal sealed class QmpCommand
{
    [JsonPropertyName("execute")]
    public string Execute { get; set; } = string.Empty;

    [JsonPropertyName("arguments")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public System.Text.Json.JsonElement? Arguments { get; set; }

    [JsonPropertyName("id")]
    public long Id { get; set; }
}

[JsonSerializable(typeof(QmpGreeting))]
[JsonSerializable(typeof(QmpStatusInfo))]
[JsonSerializable(typeof(QmpMigrationInfo))]
[JsonSerializable(typeof(QmpMigrateArguments))]
[JsonSerializable(typeof(QmpCommand))]
internal sealed partial class QmpJsonContext : JsonSerializerContext
{
}
