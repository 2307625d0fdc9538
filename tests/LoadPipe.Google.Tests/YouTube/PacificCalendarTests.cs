using LoadPipe.Storage.YouTube;

namespace LoadPipe.Google.Tests.YouTube;

public sealed class PacificCalendarTests
{
    [Theory]
    [InlineData("2026-11-24T07:59:59Z", "2026-11-23")] // 23:59:59 PST
    [InlineData("2026-11-24T08:00:00Z", "2026-11-24")] // 00:00 PST
    [InlineData("2026-07-01T06:59:59Z", "2026-06-30")] // 23:59:59 PDT
    [InlineData("2026-07-01T07:00:00Z", "2026-07-01")] // 00:00 PDT
    public void DayOf_AroundMidnight_FollowsPacificTime(string instant, string day) =>
        Assert.Equal(DateOnly.Parse(day), PacificCalendar.DayOf(DateTimeOffset.Parse(instant)));

    [Theory]
    [InlineData("2026-11-23", "2026-11-24T08:00:00Z")] // PST
    [InlineData("2026-06-30", "2026-07-01T07:00:00Z")] // PDT
    [InlineData("2026-03-07", "2026-03-08T08:00:00Z")] // the night before daylight time starts (02:00 on the 8th)
    [InlineData("2026-03-08", "2026-03-09T07:00:00Z")] // the day it started: 23 hours long
    [InlineData("2026-10-31", "2026-11-01T07:00:00Z")] // the night before it ends (02:00 on Nov 1st)
    [InlineData("2026-11-01", "2026-11-02T08:00:00Z")] // the day it ended: 25 hours long
    public void ResetAfter_Day_IsTheNextPacificMidnight(string day, string reset) =>
        Assert.Equal(DateTimeOffset.Parse(reset), PacificCalendar.ResetAfter(DateOnly.Parse(day)));

    [Fact]
    public void RuleOffsetAt_EveryHourOfThreeYears_AgreesWithTheSystemZone()
    {
        TimeZoneInfo zone;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
        }
        catch (TimeZoneNotFoundException)
        {
            return; // no zone data on this machine: the rules are what LoadPipe uses, checked by the cases above
        }
        for (var t = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero); t.Year < 2028; t = t.AddHours(1))
            Assert.True(zone.GetUtcOffset(t) == PacificCalendar.RuleOffsetAt(t), $"offsets differ at {t:O}");
    }
}
