using OnDemandExecution;

namespace OnDemandExecution.Sample;

/// <summary>An application service the <see cref="QuoteHandler"/> function gets by constructor injection.</summary>
internal sealed class PriceList
{
    private readonly Dictionary<string, decimal> _listPrices = new(StringComparer.Ordinal)
    {
        ["sku-1"] = 12.50m,
        ["sku-2"] = 99.00m,
        ["sku-3"] = 3.20m,
    };

    /// <summary>The list price of a product, with a discount for some tenants.</summary>
    public decimal PriceOf(TenantId tenant, string sku)
    {
        var price = _listPrices.TryGetValue(sku, out var p) ? p : 1.00m;
        return tenant.Value == "globex" ? decimal.Round(price * 0.9m, 2) : price;
    }
}
