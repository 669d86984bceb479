using System.Globalization;
using System.Text.Json;
using Strata.Server.Storage;

namespace Strata.Server;

/// <summary>`strata audit`: the account's latest CloudTrail events as a table a person reads (who
/// did what, to what, and whether it was refused), newest first, filtered by user, event name
/// and refusals; read from the data directory's event history while the server writes it.</summary>
public static class Audit
{
    /// <summary>One row of the table.</summary>
    public sealed record Row(DateTimeOffset Time, string User, string Event, string Source, string Result, string Resource);

    public static List<Row> Rows(EventHistoryStore store, string account, int last, string? user, string? eventName, bool errorsOnly, DateTimeOffset now)
    {
        // The store filters on one attribute; the others are checked here, page by page.
        (string, string)? filter = user is not null ? ("Username", user) : eventName is not null ? ("EventName", eventName) : null;
        var rows = new List<Row>();
        (long, long)? after = null;
        while (rows.Count < last)
        {
            var page = store.Lookup(account, filter, now - EventHistoryStore.Retention, now, after, 500);
            foreach (var e in page)
            {
                if (eventName is not null && e.EventName != eventName) continue;
                var error = ErrorCode(e.Json);
                if (errorsOnly && error is null) continue;
                rows.Add(new Row(e.EventTime, e.Username ?? "", e.EventName, e.EventSource.Replace(".amazonaws.com", "", StringComparison.Ordinal),
                    error ?? "OK", e.Resources.Count > 0 ? e.Resources[0].Name : ""));
                if (rows.Count == last) break;
            }
            if (page.Count < 500) break;
            after = (page[^1].EventTime.ToUnixTimeMilliseconds(), page[^1].Seq);
        }
        return rows;
    }

    static string? ErrorCode(string json)
    {
        using var record = JsonDocument.Parse(json);
        return record.RootElement.TryGetProperty("errorCode", out var code) && code.ValueKind == JsonValueKind.String ? code.GetString() : null;
    }

    public static void Print(IReadOnlyList<Row> rows, TextWriter output)
    {
        string[] header = ["TIME (UTC)", "USER", "EVENT", "SERVICE", "RESULT", "RESOURCE"];
        var cells = rows.Select(r => new[] { r.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), r.User, r.Event, r.Source, r.Result, r.Resource }).ToList();
        var widths = header.Select((h, i) => cells.Select(c => c[i].Length).Append(h.Length).Max()).ToArray();
        output.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var c in cells) output.WriteLine(string.Join("  ", c.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        if (cells.Count == 0) output.WriteLine("(no events)");
    }
}
