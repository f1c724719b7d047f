namespace OnDemandExecution.Tests.TestSupport;

/// <summary>Where the OnDemandExecution.TestFunctions assembly is copied (functions/ beside the tests), never loaded by the default context.</summary>
public static class TestFunctionsAssembly
{
    public static string Path { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, "functions", "OnDemandExecution.TestFunctions.dll");

    public const string EchoHandler = "OnDemandExecution.TestFunctions.EchoHandler";

    public const string NotAHandler = "OnDemandExecution.TestFunctions.NotAHandler";
}
