using System.Globalization;
using System.Text.Json.Nodes;
using Strata.Server.Hosting;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server;

/// <summary>
/// `strata status`: what a data directory's server runs — endpoints and their instances, jobs in
/// progress, its ports, the data directory and the disk it takes — or, clearly, that no server
/// runs there. The server answers <c>/_strata/admin/status</c> with <see cref="Snapshot"/>, which
/// its shutdown also sums up in one line (<see cref="Stopped"/>).
/// </summary>
public static class Status
{
    /// <summary>Exit code when no server runs on the data directory (LSB's "program is not running").</summary>
    public const int NotRunning = 3;

    /// <summary>What the server runs now: its endpoints with their instances, and the jobs in progress.</summary>
    public static JsonObject Snapshot(HostingService hosting, IStateStore state) => new()
    {
        ["endpoints"] = new JsonArray(hosting.Running().OrderBy(e => e.Runtime.Name, StringComparer.Ordinal).Select(e => (JsonNode)new JsonObject
        {
            ["account"] = e.Account,
            ["name"] = e.Runtime.Name,
            ["variants"] = new JsonArray(e.Runtime.Variants.Select(v => (JsonNode)new JsonObject
            {
                ["name"] = v.Name,
                ["serverless"] = v.Serverless is not null,
                ["instances"] = new JsonArray(v.Instances.Select(i => (JsonNode)new JsonObject { ["pid"] = i.Pid, ["zone"] = i.Zone }).ToArray()),
            }).ToArray()),
        }).ToArray()),
        ["jobs"] = new JsonArray(JobsInProgress(state).Select(j => (JsonNode)new JsonObject
        {
            ["type"] = j.Type,
            ["account"] = j.Account,
            ["name"] = j.Name,
            ["status"] = j.Status,
        }).ToArray()),
    };

    /// <summary>Jobs that have not ended: what the runners are running (or resume at the next start).</summary>
    public static List<(string Type, string Account, string Name, string Status)> JobsInProgress(IStateStore state)
    {
        var jobs = new List<(string Type, string Account, string Name, string Status)>();
        jobs.AddRange(new TransformJobStore(state).All().Where(j => j.Record.TransformJobStatus is "InProgress" or "Stopping")
            .Select(j => ("transform", j.Account, j.Record.TransformJobName, j.Record.TransformJobStatus)));
        jobs.AddRange(new TrainingJobStore(state).All().Where(j => !j.Record.State.IsTerminal)
            .Select(j => ("training", j.Account, j.Record.Job.Name, $"{j.Record.State.Status} ({j.Record.State.SecondaryStatus})")));
        jobs.AddRange(new ProcessingJobStore(state).All().Where(j => !j.Record.State.IsTerminal)
            .Select(j => ("processing", j.Account, j.Record.Job.Name, j.Record.State.Status)));
        return jobs;
    }

    /// <summary>The line shutdown prints: what it stopped, from the snapshot taken as it began.</summary>
    public static string Stopped(JsonObject snapshot)
    {
        var endpoints = snapshot["endpoints"]!.AsArray();
        var instances = endpoints.Sum(e => e!["variants"]!.AsArray().Sum(v => v!["instances"]!.AsArray().Count));
        var jobs = snapshot["jobs"]!.AsArray();
        var parts = new List<string> { $"{Count(endpoints.Count, "endpoint")} ({Count(instances, "instance")})" };
        parts.Add(jobs.Count == 0 ? "no job in progress" : Count(jobs.Count, "job") + " in progress (" +
            string.Join(", ", jobs.GroupBy(j => (string)j!["type"]!).Select(g => $"{g.Count()} {g.Key}")) + "; they resume at the next start)");
        return "strata: stopped " + string.Join(", ", parts);
    }

    static string Count(int n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";

    /// <summary>The CLI side: prints the status of the data directory's server; 0 when one runs,
    /// <see cref="NotRunning"/> when none does.</summary>
    public static async Task<int> RunAsync(string dataDir, TextWriter output)
    {
        if (!Directory.Exists(dataDir))
        {
            output.WriteLine($"no server runs on {dataDir}: the directory does not exist");
            return NotRunning;
        }
        var size = DiskUsed(dataDir);
        if (DataDirectoryLock.Holder(dataDir) is not { } holder)
        {
            output.WriteLine($"no server runs on {dataDir} ({Size(size)}); `strata serve --data-dir {dataDir}` starts one");
            return NotRunning;
        }
        output.WriteLine($"{DataDirectoryLock.Name(holder)} runs on {dataDir} ({Size(size)})");
        if (holder["started"]?.GetValue<DateTimeOffset>() is { } started)
            output.WriteLine($"  up since {started.ToLocalTime():yyyy-MM-dd HH:mm:ss} ({Duration(DateTimeOffset.UtcNow - started)})");
        foreach (var listener in new[] { "http", "https", "vpce" })
            if (holder[listener]?.GetValue<string>() is { } url) output.WriteLine($"  listening on {url}{(listener == "vpce" ? " (VPC endpoint)" : "")}");
        var (code, answer) = await Chaos.FetchAsync(dataDir, HttpMethod.Get, "status", "");
        if (code != 0 || answer is null) return 1;

        var endpoints = answer["endpoints"]!.AsArray();
        var instances = endpoints.Sum(e => e!["variants"]!.AsArray().Sum(v => v!["instances"]!.AsArray().Count));
        output.WriteLine(endpoints.Count == 0 ? "endpoints: none" : $"endpoints: {endpoints.Count} ({Count(instances, "instance")})");
        foreach (var e in endpoints)
        {
            var variants = e!["variants"]!.AsArray().Select(v =>
            {
                var running = v!["instances"]!.AsArray();
                var where = string.Join(", ", running.Select(i => $"pid {i!["pid"]}{(i["zone"] is { } z ? " in " + z : "")}"));
                return $"{v["name"]}: {Count(running.Count, "instance")}{((bool)v["serverless"]! ? " (serverless)" : "")}{(running.Count > 0 ? $" ({where})" : "")}";
            });
            output.WriteLine($"  {e["name"]} (account {e["account"]}): {string.Join("; ", variants)}");
        }
        var jobs = answer["jobs"]!.AsArray();
        output.WriteLine(jobs.Count == 0 ? "jobs in progress: none" : $"jobs in progress: {jobs.Count}");
        foreach (var j in jobs) output.WriteLine($"  {j!["type"]} job {j["name"]} (account {j["account"]}): {j["status"]}");
        return 0;
    }

    /// <summary>Bytes the files under <paramref name="dir"/> take (links not followed).</summary>
    public static long DiskUsed(string dir)
    {
        long total = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var file in new DirectoryInfo(dir).EnumerateFiles("*", options))
        {
            try { total += file.Length; }
            catch (FileNotFoundException) { } // removed meanwhile
        }
        return total;
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} bytes",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes / 1024.0 / 1024).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / 1024.0 / 1024 / 1024).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
    };

    static string Duration(TimeSpan t) => t.TotalDays >= 1 ? $"{(int)t.TotalDays}d {t.Hours}h"
        : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes}m"
        : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m {t.Seconds}s"
        : $"{Math.Max(0, (int)t.TotalSeconds)}s";
}
