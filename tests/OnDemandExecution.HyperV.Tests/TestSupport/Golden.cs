using System.Text.Json.Nodes;

namespace OnDemandExecution.HyperV.Tests.TestSupport;

/// <summary>Compares a JSON document with a checked-in golden file, after normalization (parsed, so whitespace and key order inside objects do not matter).</summary>
internal static class Golden
{
    public static void AssertMatches(string goldenFile, string actualJson)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", goldenFile);
        var expected = JsonNode.Parse(File.ReadAllText(path));
        var actual = JsonNode.Parse(actualJson);
        Assert.True(
            JsonNode.DeepEquals(expected, actual),
            $"The document differs from Golden/{goldenFile}.\nExpected:\n{expected?.ToJsonString(Indented)}\nActual:\n{actual?.ToJsonString(Indented)}");
    }

    private static readonly System.Text.Json.JsonSerializerOptions Indented = new() { WriteIndented = true };
}
