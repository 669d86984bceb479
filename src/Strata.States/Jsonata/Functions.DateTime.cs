using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Strata.States.Jsonata;

// $now, $millis, $fromMillis, $toMillis: ISO 8601 by default, XPath fn:format-dateTime pictures otherwise.
internal static partial class Functions
{
    private static readonly string[] MonthNames =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    private static readonly string[] DayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

    private static void AddDateTime(Dictionary<string, Builtin> lib)
    {
        Add(lib, "millis", "<:n>", (c, a) => (double)c.Env.Context.Now.ToUnixTimeMilliseconds());
        Add(lib, "now", "<s?s?:s>", (c, a) =>
            FromMillis(c.Env.Context.Now.ToUnixTimeMilliseconds(), Arg(a, 0) as string, Arg(a, 1) as string, c));
        Add(lib, "fromMillis", "<n-s?s?:s>", (c, a) =>
            a[0] is double d ? FromMillis((long)Math.Floor(d), Arg(a, 1) as string, Arg(a, 2) as string, c) : null);
        Add(lib, "toMillis", "<s-s?:n>", (c, a) => a[0] is string s ? ToMillis(s, Arg(a, 1) as string, c) : null);
    }

    private static string FromMillis(long millis, string? picture, string? timezone, CallContext c)
    {
        var utc = DateTimeOffset.FromUnixTimeMilliseconds(millis);
        if (picture is null && timezone is null) return utc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var offset = TimeSpan.Zero;
        if (timezone is not null)
        {
            var m = TimezoneText().Match(timezone);
            if (m.Success)
            {
                offset = new TimeSpan(int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), 0);
                if (m.Groups[1].Value == "-") offset = -offset;
            }
        }
        var t = utc.ToOffset(offset);
        picture ??= "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";
        var sb = new StringBuilder();
        var i = 0;
        while (i < picture.Length)
        {
            var ch = picture[i];
            if (ch == '[')
            {
                if (i + 1 < picture.Length && picture[i + 1] == '[')
                {
                    sb.Append('[');
                    i += 2;
                    continue;
                }
                var end = picture.IndexOf(']', i);
                if (end < 0) throw c.Error("D3135");
                var marker = WhitespaceRun().Replace(picture[(i + 1)..end], "");
                sb.Append(FormatComponent(t, marker, c));
                i = end + 1;
                continue;
            }
            if (ch == ']' && i + 1 < picture.Length && picture[i + 1] == ']')
            {
                sb.Append(']');
                i += 2;
                continue;
            }
            sb.Append(ch);
            i++;
        }
        return sb.ToString();
    }

    [GeneratedRegex(@"^([+-])(\d\d):?(\d\d)$")]
    private static partial Regex TimezoneText();

    private static string FormatComponent(DateTimeOffset t, string marker, CallContext c)
    {
        if (marker.Length == 0) throw c.Error("D3132", marker);
        var component = marker[0];
        var rest = marker[1..];
        string? width = null;
        var comma = rest.LastIndexOf(',');
        if (comma >= 0)
        {
            width = rest[(comma + 1)..];
            rest = rest[..comma];
        }
        var presentation = rest.Length > 0 ? rest : component switch
        {
            'F' => "n",
            'P' => "n",
            'm' or 's' => "01",
            'Z' or 'z' => "01:01",
            'f' => "1",
            _ => "1",
        };
        var ordinal = false;
        if (presentation.Length > 1 && presentation[^1] == 'o')
        {
            ordinal = true;
            presentation = presentation[..^1];
        }
        else if (presentation.Length > 1 && presentation[^1] == 't') presentation = presentation[..^1];
        (int Min, int Max)? widths = null;
        if (width is not null)
        {
            var parts = width.Split('-');
            var min = parts[0] == "*" ? 1 : int.Parse(parts[0], CultureInfo.InvariantCulture);
            var max = parts.Length > 1 && parts[1] != "*" ? int.Parse(parts[1], CultureInfo.InvariantCulture) : int.MaxValue;
            widths = (min, max);
        }
        switch (component)
        {
            case 'Y':
                {
                    var year = t.Year;
                    var digits = presentation.Count(char.IsAsciiDigit);
                    if (digits == 2 && presentation.All(char.IsAsciiDigit) || widths?.Max == 2) year %= 100;
                    return Numeric(year, presentation, ordinal, widths);
                }
            case 'M':
                if (presentation[0] is 'N' or 'n') return Name(MonthNames[t.Month - 1], presentation, widths);
                return Numeric(t.Month, presentation, ordinal, widths);
            case 'D': return Numeric(t.Day, presentation, ordinal, widths);
            case 'd': return Numeric(t.DayOfYear, presentation, ordinal, widths);
            case 'F':
                {
                    var dow = ((int)t.DayOfWeek + 6) % 7; // ISO: Monday is 1
                    if (presentation[0] is 'N' or 'n') return Name(DayNames[dow], presentation, widths);
                    return Numeric(dow + 1, presentation, ordinal, widths);
                }
            case 'W': return Numeric(ISOWeek.GetWeekOfYear(t.DateTime), presentation, ordinal, widths);
            case 'w':
                {
                    var first = new DateTime(t.Year, t.Month, 1);
                    var week = (t.Day + ((int)first.DayOfWeek + 6) % 7 - 1) / 7 + 1;
                    return Numeric(week, presentation, ordinal, widths);
                }
            case 'H': return Numeric(t.Hour, presentation, ordinal, widths);
            case 'h': return Numeric(t.Hour % 12 == 0 ? 12 : t.Hour % 12, presentation, ordinal, widths);
            case 'P':
                {
                    var ampm = t.Hour < 12 ? "am" : "pm";
                    return presentation[0] == 'N' ? ampm.ToUpperInvariant() : ampm;
                }
            case 'm': return Numeric(t.Minute, presentation, ordinal, widths);
            case 's': return Numeric(t.Second, presentation, ordinal, widths);
            case 'f':
                {
                    var digits = Math.Max(presentation.Count(char.IsAsciiDigit), widths?.Min ?? 0);
                    if (digits == 0) digits = 3;
                    var frac = t.Millisecond.ToString("000", CultureInfo.InvariantCulture);
                    return digits <= 3 ? frac[..digits] : frac + new string('0', digits - 3);
                }
            case 'Z' or 'z':
                {
                    var off = t.Offset;
                    if (component == 'Z' && rest.EndsWith('t') && off == TimeSpan.Zero) return "Z";
                    var sign = off < TimeSpan.Zero ? "-" : "+";
                    off = off.Duration();
                    string text;
                    var p = presentation;
                    if (p.Contains(':')) text = $"{off.Hours.ToString(p.Split(':')[0].Length >= 2 ? "00" : "0", CultureInfo.InvariantCulture)}:{off.Minutes:00}";
                    else if (p.Length >= 3) text = $"{off.Hours:00}{off.Minutes:00}";
                    else text = off.Minutes == 0 ? off.Hours.ToString(p.Length == 2 ? "00" : "0", CultureInfo.InvariantCulture) : $"{off.Hours:00}:{off.Minutes:00}";
                    return (component == 'z' ? "GMT" : "") + sign + text;
                }
            case 'C': return "ISO";
            case 'E': return "AD";
            default: throw c.Error("D3132", component.ToString());
        }
    }

    private static string Name(string name, string presentation, (int Min, int Max)? widths)
    {
        var n = presentation switch
        {
            "N" => name.ToUpperInvariant(),
            "n" => name.ToLowerInvariant(),
            _ => name,
        };
        if (widths is { } w && n.Length > w.Max) n = n[..w.Max];
        return n;
    }

    private static string Numeric(int value, string presentation, bool ordinal, (int Min, int Max)? widths)
    {
        if (presentation is "I" or "i") return FormatInteger(value, presentation, null);
        if (presentation[0] is 'W' or 'w') return FormatInteger(value, presentation + (ordinal ? ";o" : ""), null);
        var minDigits = Math.Max(presentation.Count(char.IsAsciiDigit), widths?.Min ?? 1);
        var text = value.ToString(new string('0', Math.Max(minDigits, 1)), CultureInfo.InvariantCulture);
        if (ordinal) text += OrdinalSuffix(value);
        return text;
    }

    private static string OrdinalSuffix(long n)
    {
        var lastTwo = n % 100;
        if (lastTwo is 11 or 12 or 13) return "th";
        return (n % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" };
    }

    [GeneratedRegex(@"^\d{4}(-[01]\d)*(-[0-3]\d)*(T[0-2]\d:[0-5]\d:[0-5]\d)*(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$")]
    private static partial Regex Iso8601();

    private static object? ToMillis(string timestamp, string? picture, CallContext c)
    {
        if (picture is null)
        {
            if (!Iso8601().IsMatch(timestamp)) throw c.Error("D3110", timestamp);
            var formats = new[]
            {
                "yyyy", "yyyy-MM", "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
                "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
            };
            var text = timestamp;
            // "+0100" as well as "+01:00"
            var tz = Regex.Match(text, @"([+-]\d\d)(\d\d)$");
            if (tz.Success && text.Contains('T')) text = text[..tz.Index] + tz.Groups[1].Value + ":" + tz.Groups[2].Value;
            if (text.Length > 23 && text.Contains('.'))
            {
                // more than 7 fractional digits: keep milliseconds
                text = Regex.Replace(text, @"\.(\d{1,7})\d*", ".$1");
            }
            if (DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
                return (double)parsed.ToUnixTimeMilliseconds();
            return null;
        }
        return ParseWithPicture(timestamp, picture, c);
    }

    // The picture becomes a pattern with one group per component; what a picture leaves out defaults as XPath says.
    private static object? ParseWithPicture(string timestamp, string picture, CallContext c)
    {
        var pattern = new StringBuilder("^");
        var components = new List<(char Component, string Presentation)>();
        var i = 0;
        while (i < picture.Length)
        {
            var ch = picture[i];
            if (ch == '[')
            {
                if (i + 1 < picture.Length && picture[i + 1] == '[')
                {
                    pattern.Append(Regex.Escape("["));
                    i += 2;
                    continue;
                }
                var end = picture.IndexOf(']', i);
                if (end < 0) throw c.Error("D3135");
                var marker = WhitespaceRun().Replace(picture[(i + 1)..end], "");
                var comma = marker.IndexOf(',');
                if (comma >= 0) marker = marker[..comma];
                var comp = marker[0];
                var pres = marker.Length > 1 ? marker[1..] : (comp is 'F' or 'P' ? "n" : "1");
                components.Add((comp, pres));
                var isName = pres[0] is 'N' or 'n';
                var digits = pres.Count(char.IsAsciiDigit);
                pattern.Append(comp switch
                {
                    'Z' => @"(Z|[+-]\d\d:?\d\d|[+-]\d\d?)",
                    'z' => @"GMT([+-]\d\d:?\d\d)",
                    'P' => "([AaPp][Mm])",
                    _ when isName => "([A-Za-z]+)",
                    _ when digits > 1 && comp != 'Y' => @"(\d{" + digits + "})",
                    _ => @"(\d+)",
                });
                i = end + 1;
                continue;
            }
            pattern.Append(Regex.Escape(ch.ToString()));
            i++;
        }
        pattern.Append('$');
        var m = Regex.Match(timestamp, pattern.ToString(), RegexOptions.CultureInvariant);
        if (!m.Success) return null;
        int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0, dayOfYear = -1;
        var pm = (bool?)null;
        var hasDate = false;
        var offset = TimeSpan.Zero;
        for (var k = 0; k < components.Count; k++)
        {
            var (comp, pres) = components[k];
            var text = m.Groups[k + 1].Value;
            int Num() => int.Parse(text, CultureInfo.InvariantCulture);
            switch (comp)
            {
                case 'Y':
                    year = Num();
                    if (text.Length == 2 && pres.Count(char.IsAsciiDigit) == 2) year += 2000;
                    hasDate = true;
                    break;
                case 'M':
                    month = pres[0] is 'N' or 'n'
                        ? Array.FindIndex(MonthNames, n => n.StartsWith(text, StringComparison.OrdinalIgnoreCase)) + 1
                        : Num();
                    hasDate = true;
                    break;
                case 'D':
                    day = Num();
                    hasDate = true;
                    break;
                case 'd':
                    dayOfYear = Num();
                    hasDate = true;
                    break;
                case 'H': hour = Num(); break;
                case 'h': hour = Num() % 12; break;
                case 'P': pm = text.StartsWith('p') || text.StartsWith('P'); break;
                case 'm': minute = Num(); break;
                case 's': second = Num(); break;
                case 'f': millis = (int)Math.Round(double.Parse("0." + text, CultureInfo.InvariantCulture) * 1000); break;
                case 'Z' or 'z':
                    if (text != "Z")
                    {
                        var t = text.Replace(":", "", StringComparison.Ordinal);
                        var h = int.Parse(t.Length > 3 ? t[1..3] : t[1..], CultureInfo.InvariantCulture);
                        var mi = t.Length > 3 ? int.Parse(t[3..], CultureInfo.InvariantCulture) : 0;
                        offset = new TimeSpan(h, mi, 0);
                        if (t[0] == '-') offset = -offset;
                    }
                    break;
                case 'F' or 'W' or 'w' or 'E' or 'C': break;
                default: throw c.Error("D3132", comp.ToString());
            }
        }
        if (!hasDate && components.Count > 0 && components.All(x => x.Component is 'F' or 'W' or 'w')) throw c.Error("D3136");
        if (pm == true) hour += 12;
        try
        {
            var date = dayOfYear > 0 ? new DateTime(year, 1, 1).AddDays(dayOfYear - 1) : new DateTime(year, month, day);
            var dto = new DateTimeOffset(date.Year, date.Month, date.Day, hour, minute, second, millis, offset);
            return (double)dto.ToUnixTimeMilliseconds();
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
