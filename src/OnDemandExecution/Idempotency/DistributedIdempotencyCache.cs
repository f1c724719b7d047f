using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// An <see cref="IIdempotencyCache"/> over the application's <see cref="IDistributedCache"/> (Redis, SQL Server, the
/// in-memory one, or the distributed tier a <c>HybridCache</c> uses), so that results outlive the process and are shared
/// by every host that uses the same cache. Register it with <c>builder.UseDistributedIdempotencyCache()</c>.
/// </summary>
/// <remarks>
/// <para><b>Tenant isolation</b> is in the key: it is the SHA-256 of the function, the tenant, the input and every
/// dependency's state, so no request of another tenant can read a result. Entries are stored under
/// <see cref="DistributedIdempotencyCacheOptions.KeyPrefix"/> + key, with the result's expiry as their absolute expiration.</para>
/// <para><b>Single flight</b> stays per host: the executor runs concurrent identical requests of one host once; two hosts
/// that miss at the same moment both execute, and the later store wins (both results are valid: idempotent functions
/// with unchanged dependencies give the same result).</para>
/// <para>Results larger than <see cref="IdempotencyOptions.MaxResultBytes"/> are returned but not stored. A cache that
/// fails is logged by the executor and costs an execution, never the call.</para>
/// </remarks>
public sealed class DistributedIdempotencyCache : IIdempotencyCache
{
    private const byte FormatVersion = 1;
    private readonly IDistributedCache _cache;
    private readonly string _prefix;
    private readonly int _maxResultBytes;

    /// <summary>Creates the cache.</summary>
    /// <param name="cache">The distributed cache.</param>
    /// <param name="options">Its key prefix.</param>
    /// <param name="idempotencyOptions">The largest result stored.</param>
    public DistributedIdempotencyCache(IDistributedCache cache, IOptions<DistributedIdempotencyCacheOptions> options, IOptions<IdempotencyOptions> idempotencyOptions)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(idempotencyOptions);
        _cache = cache;
        _prefix = options.Value.KeyPrefix ?? string.Empty;
        _maxResultBytes = idempotencyOptions.Value.MaxResultBytes;
    }

    /// <inheritdoc/>
    public async ValueTask<StoredResult?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bytes = await _cache.GetAsync(_prefix + key, cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : Decode(bytes);
    }

    /// <inheritdoc/>
    public async ValueTask SetAsync(string key, StoredResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(result);
        if (result.Output.Length > _maxResultBytes)
        {
            return;
        }

        var entry = new DistributedCacheEntryOptions { AbsoluteExpiration = result.ExpiresAt };
        await _cache.SetAsync(_prefix + key, Encode(result), entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Version, start kind, expiry (ticks, offset minutes; 0 ticks = none), instance id (length + UTF-8), output.</summary>
    internal static byte[] Encode(StoredResult result)
    {
        var id = Encoding.UTF8.GetBytes(result.InstanceId);
        var bytes = new byte[1 + 1 + 8 + 2 + 4 + id.Length + result.Output.Length];
        var span = bytes.AsSpan();
        span[0] = FormatVersion;
        span[1] = (byte)result.StartKind;
        BinaryPrimitives.WriteInt64LittleEndian(span[2..], result.ExpiresAt?.UtcTicks ?? 0);
        BinaryPrimitives.WriteInt16LittleEndian(span[10..], (short)(result.ExpiresAt?.Offset.TotalMinutes ?? 0));
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], id.Length);
        id.CopyTo(span[16..]);
        result.Output.Span.CopyTo(span[(16 + id.Length)..]);
        return bytes;
    }

    /// <summary>Reads what <see cref="Encode"/> wrote; null (a miss) for anything else.</summary>
    internal static StoredResult? Decode(byte[] bytes)
    {
        if (bytes.Length < 16 || bytes[0] != FormatVersion)
        {
            return null;
        }

        var span = bytes.AsSpan();
        var kind = (StartKind)span[1];
        var ticks = BinaryPrimitives.ReadInt64LittleEndian(span[2..]);
        var offset = BinaryPrimitives.ReadInt16LittleEndian(span[10..]);
        var idLength = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
        if (idLength < 0 || idLength > bytes.Length - 16 || !Enum.IsDefined(kind))
        {
            return null;
        }

        DateTimeOffset? expires = ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(offset));
        var id = Encoding.UTF8.GetString(span.Slice(16, idLength));
        return new StoredResult(bytes.AsMemory(16 + idLength), kind, id, expires);
    }
}
