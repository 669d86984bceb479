using System.Globalization;
using System.Text.RegularExpressions;

namespace Strata.States;

/// <summary>RFC 3339 timestamps as the ASL compares them (<c>2016-03-14T01:59:00Z</c>, with an optional
/// fraction and an offset), and the form Step Functions writes (<c>$$.Execution.StartTime</c>).</summary>
internal static partial class Timestamps
{
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();

    public static bool TryParse(string s, out DateTimeOffset value)
    {
        value = default;
        return Rfc3339().IsMatch(s)
            && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out value);
    }

    public static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
