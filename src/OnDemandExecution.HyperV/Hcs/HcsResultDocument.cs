using System.Text;
using System.Text.Json;
using OnDemandExecution.HyperV.Hcs.Schema;

namespace OnDemandExecution.HyperV.Hcs;

/// <summary>Reads HCS result and event documents, tolerating what HCS may send instead (empty, not JSON, another shape).</summary>
internal static class HcsResultDocument
{
    /// <summary>A one-line description of an error document (its message and event messages), or null when it says nothing.</summary>
    public static string? Describe(string? document)
    {
        if (string.IsNullOrWhiteSpace(document))
        {
            return null;
        }

        HcsResult? result;
        try
        {
            result = JsonSerializer.Deserialize(document, HcsJsonContext.Default.HcsResult);
        }
        catch (JsonException)
        {
            return Truncate(document.Trim());
        }

        if (result is null)
        {
            return null;
        }

        var sb = new StringBuilder();
        if (!string.IsNullOrWhiteSpace(result.ErrorMessage))
        {
            sb.Append(result.ErrorMessage.Trim());
        }

        foreach (var e in result.ErrorEvents ?? [])
        {
            if (!string.IsNullOrWhiteSpace(e.Message))
            {
                sb.Append(sb.Length == 0 ? string.Empty : " ").Append('[').Append(e.Message.Trim()).Append(']');
            }
        }

        return sb.Length == 0 ? null : Truncate(sb.ToString());
    }

    /// <summary>The error HRESULT an operation's result document carries, or null.</summary>
    public static int? ErrorCode(string? document)
    {
        if (string.IsNullOrWhiteSpace(document))
        {
            return null;
        }

        try
        {
            var result = JsonSerializer.Deserialize(document, HcsJsonContext.Default.HcsResult);
            return result is { Error: < 0 } ? result.Error : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The VM's runtime id from a properties document.</summary>
    /// <exception cref="HcsException">The document has no valid <c>RuntimeId</c>.</exception>
    public static Guid RuntimeId(string? document)
    {
        ComputeSystemProperties? properties = null;
        try
        {
            properties = string.IsNullOrWhiteSpace(document) ? null : JsonSerializer.Deserialize(document, HcsJsonContext.Default.ComputeSystemProperties);
        }
        catch (JsonException)
        {
        }

        if (properties?.RuntimeId is { } id && Guid.TryParse(id, out var guid) && guid != Guid.Empty)
        {
            return guid;
        }

        throw new HcsException($"HcsGetComputeSystemProperties returned no RuntimeId (the Hyper-V socket VM id): {Truncate(document ?? "<none>")}");
    }

    /// <summary>Reads the exit status of a system-exited event; null when the event carries none.</summary>
    public static SystemExitStatus? ExitStatus(string? eventData)
    {
        if (string.IsNullOrWhiteSpace(eventData))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(eventData, HcsJsonContext.Default.SystemExitStatus);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Truncate(string s) => s.Length <= 500 ? s : s[..500] + "...";
}
