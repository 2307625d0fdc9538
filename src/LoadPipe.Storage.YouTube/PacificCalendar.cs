namespace LoadPipe.Storage.YouTube;

/// <summary>
/// YouTube's quota day: it resets at midnight Pacific time (America/Los_Angeles, PST -8 / PDT -7). The zone comes
/// from the system's time zone data when there is some (Linux reads /usr/share/zoneinfo, which InvariantGlobalization
/// does not affect); a machine without it (a slim container) falls back to the US rules in force since 2007: daylight
/// time from the second Sunday of March, 02:00 PST, to the first Sunday of November, 02:00 PDT.
/// </summary>
public static class PacificCalendar
{
    private static readonly TimeZoneInfo? Zone = FindZone();

    /// <summary>The Pacific calendar day <paramref name="instant"/> falls on.</summary>
    public static DateOnly DayOf(DateTimeOffset instant) => DateOnly.FromDateTime(instant.ToOffset(OffsetAt(instant)).DateTime);

    /// <summary>The instant the day after <paramref name="day"/> begins (00:00 Pacific): when <paramref name="day"/>'s quota is reset.</summary>
    public static DateTimeOffset ResetAfter(DateOnly day)
    {
        var midnight = day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        // Clocks change at 02:00, so midnight has one offset; ask at 00:00 PST, which is 00:00 or 01:00 local.
        var offset = OffsetAt(new DateTimeOffset(midnight, TimeSpan.FromHours(-8)));
        return new DateTimeOffset(midnight, offset);
    }

    /// <summary>The Pacific offset from UTC at <paramref name="instant"/>.</summary>
    public static TimeSpan OffsetAt(DateTimeOffset instant) => Zone?.GetUtcOffset(instant) ?? RuleOffsetAt(instant);

    /// <summary>The offset by the US rules alone (no time zone data); public for the test that compares it with the system's.</summary>
    public static TimeSpan RuleOffsetAt(DateTimeOffset instant)
    {
        var utc = instant.UtcDateTime;
        // Daylight time starts at 02:00 PST (10:00 UTC) and ends at 02:00 PDT (09:00 UTC).
        var start = NthSunday(utc.Year, 3, 2).AddHours(10);
        var end = NthSunday(utc.Year, 11, 1).AddHours(9);
        return utc >= start && utc < end ? TimeSpan.FromHours(-7) : TimeSpan.FromHours(-8);
    }

    private static DateTime NthSunday(int year, int month, int n)
    {
        var first = new DateTime(year, month, 1, 0, 0, 0, DateTimeKind.Utc);
        var toSunday = ((int)DayOfWeek.Sunday - (int)first.DayOfWeek + 7) % 7;
        return first.AddDays(toSunday + 7 * (n - 1));
    }

    private static TimeZoneInfo? FindZone()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or System.Security.SecurityException)
        {
            return null;
        }
    }
}
