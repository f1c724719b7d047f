using System.Globalization;

namespace OnDemandExecution.Oci.Runtime;

/// <summary>Container ids (also the names of their directories): <c>odx-PID-STARTTIME-TOKEN-N</c>, so the owner of an orphan can be told.</summary>
internal static class ContainerNames
{
    public const string Prefix = "odx-";

    public static string Make(string ownerTag, string token, long n)
        => Prefix + ownerTag + "-" + token + "-" + n.ToString(CultureInfo.InvariantCulture);

    /// <summary>The owner tag (<c>PID-STARTTIME</c>) of an id made by <see cref="Make"/>, or null for any other name.</summary>
    public static string? Owner(string id)
    {
        if (!id.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var parts = id[Prefix.Length..].Split('-');
        if (parts.Length != 4 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out _) || parts[1].Length == 0)
        {
            return null;
        }

        return parts[0] + "-" + parts[1];
    }
}
