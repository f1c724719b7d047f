using System.Text.Json.Serialization;

namespace OnDemandExecution.HyperV.Hcs.Schema;

/// <summary>
/// Source-generated System.Text.Json metadata for every HCS document (no reflection: trimming and AOT safe). HCS
/// property names are PascalCase, which is what the records' names already are.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ComputeSystem))]
[JsonSerializable(typeof(PauseOptions))]
[JsonSerializable(typeof(SaveOptions))]
[JsonSerializable(typeof(HcsResult))]
[JsonSerializable(typeof(SystemExitStatus))]
[JsonSerializable(typeof(ComputeSystemProperties))]
internal sealed partial class HcsJsonContext : JsonSerializerContext
{
}
