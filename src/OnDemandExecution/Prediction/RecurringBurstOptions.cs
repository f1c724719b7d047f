using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>Options of <see cref="RecurringBurstPolicy"/>, validated at start-up.</summary>
public sealed class RecurringBurstOptions
{
    /// <summary>How long an instance stays loaded after its call when no recurring burst is expected. Default 2 minutes.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The periods a function's bursts may recur with (each a whole number of minutes, at most 6 hours). Default 60 and
    /// 30 minutes: hourly and half-hourly schedules, the commonest in the Azure Functions trace.
    /// </summary>
    public IList<TimeSpan> Periods { get; } = [TimeSpan.FromMinutes(60), TimeSpan.FromMinutes(30)];

    /// <summary>
    /// How many past periods must each have had the burst (its minute, give or take <see cref="Tolerance"/>) before
    /// the policy expects it again; the expected size is the smallest of them. Default 2.
    /// </summary>
    public int Confirmations { get; set; } = 2;

    /// <summary>How far (whole minutes) a recurrence may drift from one period to the next; every period must exceed twice this plus one minute. Default 1 minute.</summary>
    public TimeSpan Tolerance { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long instances loaded ahead of an expected burst wait for it at least (they wait through the burst's whole expected window, its drift either way, when that is longer). Default 2 minutes.</summary>
    public TimeSpan PreloadKeepAlive { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The longest a function's last instance (the one whose call was the only one in flight) stays loaded: it is kept
    /// for 1.1 x the largest of the function's last 16 idle gaps (from the end of one call with nothing else in
    /// flight to the next call), at least <see cref="KeepAlive"/> and at most this. This keeps rarely called functions
    /// warm for the price of one idle instance each. Default 24 hours; <see cref="TimeSpan.Zero"/> turns the rule off
    /// (the last instance gets <see cref="KeepAlive"/> like the others).
    /// </summary>
    public TimeSpan MaxLastInstanceKeepAlive { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The last instance's keep-alive while the function has fewer than 2 idle gaps recorded. Default 4 hours (at most <see cref="MaxLastInstanceKeepAlive"/>).</summary>
    public TimeSpan LastInstanceKeepAliveWithoutHistory { get; set; } = TimeSpan.FromHours(4);

    /// <summary>
    /// At most this many (tenant, function) pairs are tracked (about 0.6 KB each with the default periods); beyond
    /// it the least recently invoked is forgotten. Default 100,000.
    /// </summary>
    public int MaxTrackedFunctions { get; set; } = 100_000;
}

internal sealed class RecurringBurstOptionsValidator : IValidateOptions<RecurringBurstOptions>
{
    public ValidateOptionsResult Validate(string? name, RecurringBurstOptions options)
    {
        const string P = "RecurringBurstOptions.";
        List<string>? failures = null;
        void Fail(string message) => (failures ??= []).Add(P + message);
        if (options.KeepAlive < TimeSpan.Zero)
        {
            Fail($"KeepAlive must be zero or positive (was {options.KeepAlive}).");
        }

        if (options.PreloadKeepAlive <= TimeSpan.Zero)
        {
            Fail($"PreloadKeepAlive must be positive (was {options.PreloadKeepAlive}).");
        }

        if (options.Periods.Count == 0)
        {
            Fail("Periods must name at least one period.");
        }

        foreach (var period in options.Periods)
        {
            if (period < TimeSpan.FromMinutes(2) || period > TimeSpan.FromHours(6) || period.Ticks % TimeSpan.TicksPerMinute != 0)
            {
                Fail($"Periods must be whole minutes from 2 minutes to 6 hours (was {period}).");
            }
            else if (period.TotalMinutes < (2 * Math.Floor(options.Tolerance.TotalMinutes)) + 2)
            {
                Fail($"Periods must be longer than twice the tolerance plus one minute (was {period} with a tolerance of {options.Tolerance}).");
            }
        }

        if (options.Confirmations is < 1 or > 8)
        {
            Fail($"Confirmations must be between 1 and 8 (was {options.Confirmations}).");
        }

        if (options.Tolerance < TimeSpan.Zero || options.Tolerance > TimeSpan.FromMinutes(10) || options.Tolerance.Ticks % TimeSpan.TicksPerMinute != 0)
        {
            Fail($"Tolerance must be whole minutes from 0 to 10 (was {options.Tolerance}).");
        }

        if (options.MaxLastInstanceKeepAlive < TimeSpan.Zero || options.MaxLastInstanceKeepAlive > TimeSpan.FromDays(7))
        {
            Fail($"MaxLastInstanceKeepAlive must be from 0 to 7 days (was {options.MaxLastInstanceKeepAlive}).");
        }

        if (options.LastInstanceKeepAliveWithoutHistory < TimeSpan.Zero)
        {
            Fail($"LastInstanceKeepAliveWithoutHistory must be zero or positive (was {options.LastInstanceKeepAliveWithoutHistory}).");
        }

        if (options.MaxTrackedFunctions < 1)
        {
            Fail($"MaxTrackedFunctions must be at least 1 (was {options.MaxTrackedFunctions}).");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
