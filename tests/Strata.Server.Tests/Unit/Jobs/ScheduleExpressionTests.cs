using System.Globalization;
using Strata.Server.Jobs.Schedules;

namespace Strata.Server.Tests.Unit;

public sealed class ScheduleExpressionTests
{
    static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    static string Next(string expression, string after, string? anchor = null)
        => ScheduleExpression.Parse(expression).NextAfter(At(after), At(anchor ?? after)) is { } next
            ? next.UtcDateTime.ToString("yyyy-MM-dd HH:mm ddd", CultureInfo.InvariantCulture) : "never";

    // AWS's documented examples (EventBridge "Schedule expressions for rules"), from Tuesday
    // 1 December 2026 09:07:30 UTC.
    [Theory]
    [InlineData("cron(0 10 * * ? *)", "2026-12-01 10:00 Tue")]                  // 10:00 every day
    [InlineData("cron(15 12 * * ? *)", "2026-12-01 12:15 Tue")]                 // 12:15 every day
    [InlineData("cron(0 18 ? * MON-FRI *)", "2026-12-01 18:00 Tue")]            // 18:00 on weekdays
    [InlineData("cron(0 8 1 * ? *)", "2027-01-01 08:00 Fri")]                   // 8:00 on the first of each month
    [InlineData("cron(0/15 * * * ? *)", "2026-12-01 09:15 Tue")]                // every 15 minutes
    [InlineData("cron(0/10 * ? * MON-FRI *)", "2026-12-01 09:10 Tue")]          // every 10 minutes on weekdays
    [InlineData("cron(0/5 8-17 ? * MON-FRI *)", "2026-12-01 09:10 Tue")]        // every 5 minutes, 8:00-17:55, weekdays
    [InlineData("cron(0 9 ? * 2#1 *)", "2026-12-07 09:00 Mon")]                 // 9:00 on the first Monday of the month
    [InlineData("cron(0 0 L * ? *)", "2026-12-31 00:00 Thu")]                   // the last day of the month
    [InlineData("cron(0 0 ? * 6L *)", "2026-12-25 00:00 Fri")]                  // the last Friday of the month
    [InlineData("cron(0 0 ? * L *)", "2026-12-05 00:00 Sat")]                   // the last day of the week
    [InlineData("cron(30 6 5W * ? *)", "2026-12-04 06:30 Fri")]                 // the weekday nearest the 5th, a Saturday
    [InlineData("cron(30 6 6W * ? *)", "2026-12-07 06:30 Mon")]                 // the weekday nearest the 6th, a Sunday
    [InlineData("cron(0 12 1W * ? *)", "2026-12-01 12:00 Tue")]                 // the 1st, a weekday
    [InlineData("cron(0 0 29 FEB ? *)", "2028-02-29 00:00 Tue")]                // the next leap day
    [InlineData("cron(0 0 1 JAN,jul ? 2027/2)", "2027-01-01 00:00 Fri")]        // names in any case, years by steps
    [InlineData("cron(7 9 1 DEC ? 2026)", "never")]                              // the only occurrence is now, not after it
    [InlineData("cron(8 9 * * ? 2026)", "2026-12-01 09:08 Tue")]
    [InlineData("cron(0 0 31 * ? *)", "2026-12-31 00:00 Thu")]
    [InlineData("cron(0 0 ? * SUN,SAT *)", "2026-12-05 00:00 Sat")]
    [InlineData("cron(0 0 ? * 1 *)", "2026-12-06 00:00 Sun")]                    // 1 is Sunday
    public void FindsTheNextOccurrence(string expression, string expected) => Assert.Equal(expected, Next(expression, "2026-12-01T09:07:30Z"));

    [Fact]
    public void TheWeekdayNearestASaturdayFirstStaysInItsMonth()
        => Assert.Equal("2027-05-03 12:00 Mon", Next("cron(0 12 1W * ? *)", "2027-04-02T00:00:00Z")); // 1 May 2027 is a Saturday

    [Theory]
    [InlineData("rate(1 minute)", "2026-12-01T09:00:00Z", "2026-12-01 09:08 Tue")]
    [InlineData("rate(5 minutes)", "2026-12-01T09:00:00Z", "2026-12-01 09:10 Tue")]
    [InlineData("rate(2 hours)", "2026-12-01T08:30:00Z", "2026-12-01 10:30 Tue")]
    [InlineData("rate(1 day)", "2026-11-30T12:00:00Z", "2026-12-01 12:00 Tue")]
    [InlineData("rate(1 day)", "2026-12-02T00:00:00Z", "2026-12-03 00:00 Thu")] // made later: the first period from then
    public void RatesCountFromTheirAnchor(string expression, string anchor, string expected)
        => Assert.Equal(expected, Next(expression, "2026-12-01T09:07:30Z", anchor));

    [Fact]
    public void ARateAtAnOccurrenceGoesToTheNextOne()
        => Assert.Equal("2026-12-01 09:10 Tue", Next("rate(5 minutes)", "2026-12-01T09:05:00Z", "2026-12-01T09:00:00Z"));

    [Theory]
    [InlineData("rate(1 minutes)", "singular")]
    [InlineData("rate(5 minute)", "plural")]
    [InlineData("rate(0 minutes)", "positive")]
    [InlineData("rate(-1 minutes)", "positive")]
    [InlineData("rate(5 weeks)", "minute(s), hour(s) or day(s)")]
    [InlineData("rate(5)", "positive")]
    [InlineData("every 5 minutes", "neither")]
    [InlineData("cron(0 10 * * * *)", "exactly one")]                             // both day fields
    [InlineData("cron(0 10 ? * ? *)", "exactly one")]
    [InlineData("cron(0 10 * * ?)", "six fields")]
    [InlineData("cron(60 10 * * ? *)", "from 0 to 59")]
    [InlineData("cron(0 24 * * ? *)", "from 0 to 23")]
    [InlineData("cron(0 0 32 * ? *)", "from 1 to 31")]
    [InlineData("cron(0 0 0 * ? *)", "from 1 to 31")]
    [InlineData("cron(0 0 ? FOO * *)", "JAN-DEC")]
    [InlineData("cron(0 0 ? * 8 *)", "1 to 7")]
    [InlineData("cron(0 0 ? * 2#6 *)", "occurrence")]
    [InlineData("cron(0 0 ? * X#1 *)", "does not name a day")]
    [InlineData("cron(0 0 32W * ? *)", "followed by W")]
    [InlineData("cron(0/0 0 * * ? *)", "increment")]
    [InlineData("cron(30-10 0 * * ? *)", "ends before it starts")]
    [InlineData("cron(0 0 * * ? 2200)", "from 1970 to 2199")]
    public void RefusesInvalidExpressions(string expression, string says)
        => Assert.Contains(says, Assert.Throws<ScheduleExpressionException>(() => ScheduleExpression.Parse(expression)).Message);
}
