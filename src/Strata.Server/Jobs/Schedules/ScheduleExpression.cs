using System.Globalization;

namespace Strata.Server.Jobs.Schedules;

/// <summary>A schedule expression that does not parse; the message says which part and why.</summary>
public sealed class ScheduleExpressionException(string message) : Exception(message);

/// <summary>
/// AWS's schedule expressions, as EventBridge rules (and SageMaker monitoring schedules) take
/// them, all in UTC: <c>rate(5 minutes)</c> (a whole number of minutes, hours or days, the unit
/// singular for 1 and plural otherwise) and the six-field <c>cron(minutes hours day-of-month
/// month day-of-week year)</c> with <c>, - * /</c> everywhere, <c>?</c>, <c>L</c> and <c>W</c> in
/// the day of the month, <c>?</c>, <c>L</c> and <c>#</c> in the day of the week (1 = SUN … 7 =
/// SAT, or their names), and exactly one of the two day fields <c>?</c>. Pure: the caller says
/// from when.
/// </summary>
public abstract record ScheduleExpression
{
    /// <summary>The first occurrence strictly after <paramref name="after"/>, or null when there is
    /// none (a cron expression whose years are over). A rate counts its periods from
    /// <paramref name="anchor"/> (when the schedule was made).</summary>
    public abstract DateTimeOffset? NextAfter(DateTimeOffset after, DateTimeOffset anchor);

    public static ScheduleExpression Parse(string text)
    {
        var t = text.Trim();
        if (t.StartsWith("rate(", StringComparison.Ordinal) && t.EndsWith(')')) return Rate.ParseBody(t[5..^1]);
        if (t.StartsWith("cron(", StringComparison.Ordinal) && t.EndsWith(')')) return Cron.ParseBody(t[5..^1]);
        throw new ScheduleExpressionException($"The schedule expression '{text}' is neither rate(value unit) nor cron(fields).");
    }

    public sealed record Rate(TimeSpan Period) : ScheduleExpression
    {
        internal static Rate ParseBody(string body)
        {
            var parts = body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
                throw new ScheduleExpressionException($"The rate expression 'rate({body})' must be a positive whole number and a unit, as in rate(5 minutes).");
            var unit = parts[1];
            var singular = unit.TrimEnd('s');
            var one = singular switch
            {
                "minute" => TimeSpan.FromMinutes(1),
                "hour" => TimeSpan.FromHours(1),
                "day" => TimeSpan.FromDays(1),
                _ => throw new ScheduleExpressionException($"The unit '{unit}' of 'rate({body})' must be minute(s), hour(s) or day(s)."),
            };
            if (value == 1 ? unit != singular : unit != singular + "s")
                throw new ScheduleExpressionException($"The unit of 'rate({body})' must be {(value == 1 ? $"singular ({singular})" : $"plural ({singular}s)")} for the value {value}.");
            return new Rate(one * value);
        }

        public override DateTimeOffset? NextAfter(DateTimeOffset after, DateTimeOffset anchor)
        {
            if (after < anchor) return anchor + Period;
            var periods = (after - anchor).Ticks / Period.Ticks + 1;
            return anchor + TimeSpan.FromTicks(Period.Ticks * periods);
        }
    }

    /// <summary>A parsed cron expression: for each field, which values it allows (indexed by
    /// value), and the day fields' special forms.</summary>
    public sealed record Cron(
        bool[] Minutes, bool[] Hours, bool[]? DaysOfMonth, bool LastDayOfMonth, int? NearestWeekday, bool[] Months,
        bool[]? DaysOfWeek, int? LastWeekday, (int Day, int Nth)? NthWeekday, bool[] Years) : ScheduleExpression
    {
        static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
        static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        const int FirstYear = 1970, LastYear = 2199;

        /// <summary>True when the day-of-month field is the one in use (day-of-week is '?').</summary>
        bool ByDayOfMonth => DaysOfWeek is null && LastWeekday is null && NthWeekday is null;

        internal static Cron ParseBody(string body)
        {
            var f = body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 6)
                throw new ScheduleExpressionException($"The cron expression 'cron({body})' must have six fields (minutes hours day-of-month month day-of-week year); it has {f.Length}.");
            var (dom, dow) = (f[2], f[4]);
            // Exactly one of the day fields is '?': giving both would be ambiguous, as AWS says.
            if ((dom == "?") == (dow == "?"))
                throw new ScheduleExpressionException($"In 'cron({body})' exactly one of day-of-month and day-of-week must be '?'.");

            bool[]? daysOfMonth = null;
            var lastDay = false;
            int? nearest = null;
            if (dom == "L") lastDay = true;
            else if (dom.EndsWith('W'))
            {
                if (!int.TryParse(dom[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var d) || d is < 1 or > 31)
                    throw new ScheduleExpressionException($"The day-of-month '{dom}' must be a day 1-31 followed by W.");
                nearest = d;
            }
            else if (dom != "?") daysOfMonth = Values(dom, "day-of-month", 1, 31, null);

            bool[]? daysOfWeek = null;
            int? lastWeekday = null;
            (int, int)? nth = null;
            if (dow == "L") daysOfWeek = Values("7", "day-of-week", 1, 7, DayNames); // the week's last day, Saturday
            else if (dow.Length > 1 && dow.EndsWith('L')) lastWeekday = Day(dow[..^1], dow);
            else if (dow.Contains('#'))
            {
                var parts = dow.Split('#');
                if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 5)
                    throw new ScheduleExpressionException($"The day-of-week '{dow}' must be a day and its occurrence in the month 1-5, as in 2#1.");
                nth = (Day(parts[0], dow), n);
            }
            else if (dow != "?") daysOfWeek = Values(dow, "day-of-week", 1, 7, DayNames);

            return new Cron(Values(f[0], "minutes", 0, 59, null), Values(f[1], "hours", 0, 23, null), daysOfMonth, lastDay, nearest,
                Values(f[3], "month", 1, 12, MonthNames), daysOfWeek, lastWeekday, nth, Values(f[5], "year", FirstYear, LastYear, null));
        }

        /// <summary>A day of the week 1-7 or SUN-SAT, as 0 (Sunday) to 6.</summary>
        static int Day(string text, string field)
        {
            var named = Array.IndexOf(DayNames, text.ToUpperInvariant());
            if (named >= 0) return named;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d is >= 1 and <= 7) return d - 1;
            throw new ScheduleExpressionException($"The day-of-week '{field}' does not name a day (1-7 or SUN-SAT).");
        }

        /// <summary>Which values a field allows, indexed by value: lists of values, ranges a-b, '*'
        /// and increments x/n (from x to the field's end), with names for months and days.</summary>
        static bool[] Values(string field, string name, int min, int max, string[]? names)
        {
            var allowed = new bool[max + 1];
            foreach (var item in field.Split(','))
            {
                var (range, step) = item.Split('/') switch
                {
                    [var r] => (r, 1),
                    [var r, var s] when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 => (r, n),
                    _ => throw new ScheduleExpressionException($"The {name} field '{field}' has an invalid increment in '{item}'."),
                };
                int from, to;
                if (range == "*") (from, to) = (min, max);
                else if (range.Split('-') is [var a, var b]) (from, to) = (Value(a), Value(b));
                else (from, to) = (Value(range), step > 1 ? max : Value(range));
                if (from > to) throw new ScheduleExpressionException($"The {name} field '{field}' has a range '{range}' that ends before it starts.");
                for (var v = from; v <= to; v += step) allowed[v] = true;
            }
            return allowed;

            int Value(string text)
            {
                if (names is not null && Array.IndexOf(names, text.ToUpperInvariant()) is var i and >= 0) return i + 1;
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
                throw new ScheduleExpressionException($"The {name} field '{field}' has '{text}', which is not a value from {min} to {max}{(names is null ? "" : $" or {names[0]}-{names[^1]}")}.");
            }
        }

        bool DayMatches(DateOnly day)
        {
            var daysInMonth = DateTime.DaysInMonth(day.Year, day.Month);
            if (ByDayOfMonth)
            {
                if (LastDayOfMonth) return day.Day == daysInMonth;
                if (NearestWeekday is { } target) return day == Nearest(day.Year, day.Month, Math.Min(target, daysInMonth));
                return DaysOfMonth![day.Day];
            }
            var weekday = (int)day.DayOfWeek;
            if (LastWeekday is { } last) return weekday == last && day.Day + 7 > daysInMonth;
            if (NthWeekday is { } nth) return weekday == nth.Day && (day.Day - 1) / 7 + 1 == nth.Nth;
            return DaysOfWeek![weekday + 1];
        }

        /// <summary>The weekday nearest a day of the month, never leaving the month (the W of
        /// Quartz, which AWS's cron follows).</summary>
        static DateOnly Nearest(int year, int month, int day)
        {
            var d = new DateOnly(year, month, day);
            return d.DayOfWeek switch
            {
                DayOfWeek.Saturday => day == 1 ? d.AddDays(2) : d.AddDays(-1),
                DayOfWeek.Sunday => day == DateTime.DaysInMonth(year, month) ? d.AddDays(-2) : d.AddDays(1),
                _ => d,
            };
        }

        public override DateTimeOffset? NextAfter(DateTimeOffset after, DateTimeOffset anchor)
        {
            // The next whole minute after `after`, then day by day to a matching day, then its first
            // matching hour and minute (at most some 84 000 days to the last year).
            var at = after.UtcDateTime;
            var start = new DateTime(at.Year, at.Month, at.Day, at.Hour, at.Minute, 0, DateTimeKind.Utc).AddMinutes(1);
            var first = DateOnly.FromDateTime(start);
            for (var day = first; day.Year <= LastYear; day = day.AddDays(1))
            {
                if (!Years[day.Year])
                {
                    day = new DateOnly(day.Year, 12, 31);
                    continue;
                }
                if (!Months[day.Month] || !DayMatches(day)) continue;
                for (var m = day == first ? start.Hour * 60 + start.Minute : 0; m < 24 * 60; m++)
                    if (Hours[m / 60] && Minutes[m % 60])
                        return new DateTimeOffset(day.ToDateTime(new TimeOnly(m / 60, m % 60)), TimeSpan.Zero);
            }
            return null;
        }
    }
}
