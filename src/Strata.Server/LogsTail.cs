using System.Globalization;
using Strata.Server.Storage;

namespace Strata.Server;

/// <summary>`strata logs ENDPOINT [--follow]`: an endpoint's log events (all its instances, in time
/// order) read from the data directory's log store, then, with --follow, each new one as it is
/// stored (twice a second; the store is read while the server writes it).</summary>
public static class LogsTail
{
    public static async Task<int> RunAsync(LogStore store, string account, string endpoint, TimeSpan since, bool follow, TextWriter output, CancellationToken ct,
        TimeProvider? clock = null)
    {
        var groupName = $"/aws/sagemaker/Endpoints/{endpoint}";
        var group = store.GetGroup(account, groupName);
        if (group is null && !follow)
        {
            Console.Error.WriteLine($"strata: no log group {groupName} in account {account} (has the endpoint started?)");
            return 2;
        }
        long last = 0;
        clock ??= TimeProvider.System;
        var start = clock.GetUtcNow().Subtract(since).ToUnixTimeMilliseconds();
        if (group is not null)
        {
            var streams = Streams(store, group);
            LogCursor? cursor = null;
            while (true)
            {
                var page = store.ReadGroup(group.Id, streams, true, start, null, cursor, 1_000);
                foreach (var e in page) Print(output, e);
                if (page.Count < 1_000) break;
                cursor = new LogCursor(page[^1].Timestamp, page[^1].Id);
            }
            // Following goes on from the newest event stored so far, in the order of storing.
            last = store.LastStoredId(group.Id);
        }
        await output.FlushAsync(ct);
        if (!follow) return 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                group ??= store.GetGroup(account, groupName);
                if (group is not null)
                {
                    var page = store.ReadGroupStored(group.Id, Streams(store, group), last, 1_000);
                    foreach (var e in page) Print(output, e);
                    if (page.Count > 0)
                    {
                        last = page[^1].Id;
                        await output.FlushAsync(ct);
                        continue;
                    }
                }
                await Task.Delay(TimeSpan.FromMilliseconds(500), clock, ct);
            }
        }
        catch (OperationCanceledException) { }
        return 0;
    }

    static Dictionary<long, string> Streams(LogStore store, LogGroupRow group) => store.StreamsOf(group.Id, null, null).ToDictionary(s => s.Id, s => s.Name);

    static void Print(TextWriter output, LogEventRow e)
        => output.WriteLine($"{DateTimeOffset.FromUnixTimeMilliseconds(e.Timestamp).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} {e.StreamName} {e.Message}");

    /// <summary>A duration as `aws logs tail --since` writes one: 30s, 10m, 2h, 1d, 1w.</summary>
    public static TimeSpan? ParseSince(string text)
    {
        if (text.Length < 2 || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return null;
        return text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            'w' => TimeSpan.FromDays(7 * n),
            _ => null,
        };
    }
}
