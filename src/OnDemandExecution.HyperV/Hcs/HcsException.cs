namespace OnDemandExecution.HyperV.Hcs;

/// <summary>
/// An HCS call or operation failed: the HRESULT, and what the result document said (HCS returns an error document,
/// <c>{"Error": hr, "ErrorMessage": "...", "ErrorEvents": [{"Message": "..."}]}</c>, as hcsshim's
/// internal/hcs/errors.go <c>hcsResult</c> reads it). Internal: the provider maps it to the library's exceptions.
/// </summary>
internal sealed class HcsException : Exception
{
    public HcsException()
    {
    }

    public HcsException(string message)
        : base(message)
    {
    }

    public HcsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public HcsException(string operation, int hresult, string? resultDocument)
        : base(Format(operation, hresult, resultDocument))
    {
        Operation = operation;
        HResult = hresult;
        ResultDocument = resultDocument;
    }

    /// <summary>The HCS call that failed (<c>HcsStartComputeSystem</c>...).</summary>
    public string Operation { get; } = string.Empty;

    /// <summary>The raw result document, when HCS returned one.</summary>
    public string? ResultDocument { get; }

    private static string Format(string operation, int hresult, string? resultDocument)
    {
        var message = $"{operation} failed with {HcsErrors.Describe(hresult)}";
        var detail = HcsResultDocument.Describe(resultDocument);
        if (detail is not null)
        {
            message += ": " + detail.TrimEnd('.');
        }

        message += ".";
        if (HcsErrors.Hint(hresult) is { } hint)
        {
            message += " " + hint;
        }

        return message;
    }
}
