namespace OnDemandExecution;

/// <summary>
/// Identifies the user or tenant on whose behalf a function runs. An instance assigned to one tenant is
/// never handed to another tenant without being recycled (scrubbed) by its provider first.
/// </summary>
/// <remarks>Compared ordinally and case-sensitively.</remarks>
public readonly record struct TenantId
{
    /// <summary>Creates a tenant identity.</summary>
    /// <param name="value">A non-empty identifier, such as an account or user id.</param>
    /// <exception cref="ArgumentException"><paramref name="value"/> is null, empty or white space.</exception>
    public TenantId(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        Value = value;
    }

    /// <summary>The tenant used when the caller does not name one (single-tenant hosts).</summary>
    public static TenantId Default { get; } = new("default");

    /// <summary>The identifier.</summary>
    public string Value { get; }

    /// <summary>True for <c>default(TenantId)</c>, which names no tenant.</summary>
    public bool IsEmpty => Value is null;

    /// <inheritdoc/>
    public override string ToString() => Value ?? string.Empty;
}
