namespace OnDemandExecution.Pooling;

/// <summary>Marks a provider registered by name (one per name), so the pools of every named provider can be built.</summary>
/// <param name="Name">The provider's name (its service key).</param>
internal sealed record NamedProviderRegistration(string Name);
