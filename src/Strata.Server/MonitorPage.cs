using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Strata.Algorithms.Monitor;
using Strata.Server.Jobs;
using Strata.Server.Jobs.Processing;
using Strata.Server.Services.SageMaker;

namespace Strata.Server;

/// <summary>
/// `strata monitor report SCHEDULE`: a data-quality schedule's drift as a page a person looks at.
/// The running server gathers the files (the admin route <c>monitor/report</c>: the baseline's
/// statistics.json and each execution's, read from S3 as the server); the command draws, per
/// feature, the baseline's and the latest window's histograms over the same bins, and each
/// execution's distance from the baseline over time (AWS's L-infinity distance against the
/// baseline's threshold, and the population stability index), as inline SVG in one HTML file.
/// </summary>
public static class MonitorPage
{
    /// <summary>The server's side: the schedule's files as JSON, or null with a message.</summary>
    public static (JsonObject? Report, string? Problem) Gather(MonitoringStore monitoring, IProcessingJobs jobs, IJobStorage storage, string account, string schedule)
    {
        if (monitoring.GetSchedule(account, schedule) is not { } row) return (null, $"no monitoring schedule {schedule} in account {account}");
        if (row.MonitoringType != MonitoringStore.DataQuality)
            return (null, $"the schedule {schedule} monitors {row.MonitoringType}: the report draws data-quality drift (a DataQuality schedule's)");
        var config = JsonNode.Parse(row.ConfigJson)!;
        var definitionName = config["MonitoringJobDefinitionName"]?.GetValue<string>() ?? "";
        var definition = monitoring.GetDefinition(MonitoringStore.DataQuality, account, definitionName);
        var baseline = definition is null ? null : JsonNode.Parse(definition.DefinitionJson)?["DataQualityBaselineConfig"];
        string? Read(string? uri)
        {
            if (uri is null || !uri.StartsWith("s3://", StringComparison.Ordinal)) return null;
            var path = uri["s3://".Length..];
            var slash = path.IndexOf('/');
            if (slash <= 0) return null;
            try
            {
                using var stream = storage.OpenRead(path[..slash], path[(slash + 1)..], static (_, _) => { });
                return stream is null ? null : new StreamReader(stream).ReadToEnd();
            }
            // A file that cannot be read (gone, or its key refused) is left out of the page.
            catch (Exception e) when (e is not OperationCanceledException) { return null; }
        }
        var executions = new JsonArray();
        foreach (var e in monitoring.ListExecutions(account, schedule).OrderBy(e => e.ScheduledTime))
        {
            var job = e.ProcessingJobName is null ? null : jobs.Get(account, e.ProcessingJobName);
            var output = job?.Job.Outputs?.FirstOrDefault()?.S3Uri?.TrimEnd('/');
            var status = job?.State.Status ?? "Failed";
            if (status == "Completed" && job?.State.ExitMessage?.StartsWith("CompletedWithViolations", StringComparison.Ordinal) == true) status = "CompletedWithViolations";
            executions.Add(new JsonObject
            {
                ["scheduledTime"] = e.ScheduledTime.ToUnixTimeSeconds(),
                ["status"] = status,
                ["statistics"] = output is null ? null : Read(output + "/statistics.json"),
            });
        }
        return (new JsonObject
        {
            ["schedule"] = schedule,
            ["endpoint"] = row.EndpointName,
            ["baselineStatistics"] = Read(baseline?["StatisticsResource"]?["S3Uri"]?.GetValue<string>()),
            ["baselineConstraints"] = Read(baseline?["ConstraintsResource"]?["S3Uri"]?.GetValue<string>()),
            ["executions"] = executions,
        }, null);
    }

    const int Bins = 10;
    const string BaselineColour = "#4e79a7", CurrentColour = "#f28e2b", ThresholdColour = "#e15759";

    /// <summary>The command's side: the page, from what <see cref="Gather"/> answered.</summary>
    public static string Render(JsonNode report)
    {
        var schedule = report["schedule"]!.GetValue<string>();
        var endpoint = report["endpoint"]!.GetValue<string>();
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").Append(E($"Drift of {schedule}")).Append("</title>\n<style>")
            .Append("body{font-family:sans-serif;margin:2em;color:#222}h2{margin-top:2em}table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right}")
            .Append(".note{color:#666}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}</style></head><body>\n")
            .Append("<h1>").Append(E(schedule)).Append("</h1><p>Data-quality monitoring of endpoint <b>").Append(E(endpoint)).Append("</b>.</p>\n");
        if (report["baselineStatistics"]?.GetValue<string>() is not { } baselineText)
        {
            html.Append("<p>The schedule's job definition has no baseline statistics.json (StatisticsResource), which the charts compare with.</p></body></html>\n");
            return html.ToString();
        }
        var baseline = Baseline.ParseStatistics(baselineText, "the baseline statistics");
        var config = report["baselineConstraints"]?.GetValue<string>() is { } constraints
            ? Baseline.Parse(constraints, null, "the baseline constraints").Config : new MonitoringConfig();
        var runs = report["executions"]!.AsArray()
            .Select(e => (Time: DateTimeOffset.FromUnixTimeSeconds(e!["scheduledTime"]!.GetValue<long>()), Status: e["status"]!.GetValue<string>(),
                Statistics: e["statistics"]?.GetValue<string>() is { } text ? Baseline.ParseStatistics(text, "an execution's statistics") : null))
            .ToList();
        var latest = runs.LastOrDefault(r => r.Statistics is not null);
        html.Append("<p>").Append(runs.Count).Append(" execution(s); ")
            .Append(latest.Statistics is null ? "none with statistics yet." : $"the histograms are the latest window's, scheduled {latest.Time.UtcDateTime:yyyy-MM-dd HH:mm} UTC ({E(latest.Status)}).")
            .Append("</p>\n<p class=\"legend\"><span style=\"background:").Append(BaselineColour).Append("\"></span>baseline<span style=\"background:")
            .Append(CurrentColour).Append("\"></span>window<span style=\"background:").Append(ThresholdColour).Append("\"></span>threshold</p>\n");
        foreach (var (name, reference) in baseline)
        {
            html.Append("<h2>").Append(E(name)).Append(" <span class=\"note\">(").Append(reference.Type).Append(")</span></h2>\n");
            var current = latest.Statistics?.GetValueOrDefault(name);
            html.Append(Histogram(reference, current));
            var threshold = reference.Type == InferredType.String ? config.CategoricalComparisonThreshold : config.ComparisonThreshold;
            var series = runs.Where(r => r.Statistics?.GetValueOrDefault(name) is not null)
                .Select(r => (r.Time, Window: r.Statistics![name], Drift: DriftStatistics.Of(name, reference, r.Statistics![name])))
                .Where(p => p.Drift is not null).ToList();
            html.Append(Line("L-infinity distance (AWS's baseline_drift_check, against the baseline's threshold)",
                [.. series.Select(p => (p.Time, LInfinity(reference, p.Window)))], threshold));
            html.Append(Line("population stability index", [.. series.Select(p => (p.Time, p.Drift!.Psi))], null));
            if (current is not null && DriftStatistics.Of(name, reference, current) is { } now)
                html.Append("<table><tr><th>PSI</th><th>Jensen–Shannon</th><th>KS statistic</th><th>KS p-value</th><th>Wasserstein</th></tr><tr><td>")
                    .Append(N(now.Psi)).Append("</td><td>").Append(N(now.JensenShannon)).Append("</td><td>").Append(N(now.KsStatistic))
                    .Append("</td><td>").Append(N(now.KsPValue)).Append("</td><td>").Append(N(now.Wasserstein)).Append("</td></tr></table>\n");
        }
        html.Append("</body></html>\n");
        return html.ToString();
    }

    static double LInfinity(BaselineFeature reference, BaselineFeature current)
        => reference.Sketch is { Count: > 0 } a && current.Sketch is { Count: > 0 } b ? ConstraintChecks.CdfDistance(a, b)
            : reference.Categories is { Count: > 0 } ca && current.Categories is { Count: > 0 } cb ? ConstraintChecks.FrequencyDistance(ca, cb) : 0;

    /// <summary>The baseline's and the window's shares side by side: ten bins over both ranges for
    /// a number, the ten most frequent categories for a string.</summary>
    static string Histogram(BaselineFeature reference, BaselineFeature? current)
    {
        List<string> labels;
        double[] a, b;
        if (reference.Sketch is { Count: > 0 } sa)
        {
            var sb = current?.Sketch is { Count: > 0 } s ? s : null;
            var items = Items(sa).Concat(sb is null ? [] : Items(sb)).ToList();
            double min = items.Min(), max = items.Max();
            if (max <= min) max = min + 1;
            var width = (max - min) / Bins;
            labels = [.. Enumerable.Range(0, Bins).Select(i => N(min + i * width))];
            a = Shares(sa, min, width);
            b = sb is null ? new double[Bins] : Shares(sb, min, width);
        }
        else if (reference.Categories is { Count: > 0 } ca)
        {
            var cb = current?.Categories ?? [];
            labels = [.. ca.Concat(cb).GroupBy(c => c.Key).OrderByDescending(g => g.Sum(c => c.Value)).Take(Bins).Select(g => g.Key)];
            double ta = Math.Max(1, ca.Sum(c => c.Value)), tb = Math.Max(1, cb.Sum(c => c.Value));
            a = [.. labels.Select(l => ca.Where(c => c.Key == l).Sum(c => c.Value) / ta)];
            b = [.. labels.Select(l => cb.Where(c => c.Key == l).Sum(c => c.Value) / tb)];
        }
        else return "<p class=\"note\">No distribution in the baseline.</p>\n";
        const int w = 560, h = 180, left = 40, bottom = 30;
        var top = Math.Max(a.Max(), b.Max());
        if (top <= 0) top = 1;
        var slot = (w - left) / (double)labels.Count;
        var svg = new StringBuilder($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h + bottom}\" font-size=\"10\">");
        svg.Append($"<line x1=\"{left}\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#999\"/><text x=\"2\" y=\"12\">{N(top)}</text><text x=\"2\" y=\"{h}\">0</text>");
        for (var i = 0; i < labels.Count; i++)
        {
            var x = left + i * slot;
            foreach (var (share, offset, colour) in new[] { (a[i], 0.1, BaselineColour), (b[i], 0.5, CurrentColour) })
            {
                var bar = share / top * (h - 15);
                svg.Append(F($"<rect x=\"{x + slot * offset:0.#}\" y=\"{h - bar:0.#}\" width=\"{slot * 0.4:0.#}\" height=\"{bar:0.#}\" fill=\"{colour}\"><title>{share:0.###}</title></rect>"));
            }
            svg.Append(F($"<text x=\"{x + slot / 2:0.#}\" y=\"{h + 14}\" text-anchor=\"middle\">{E(labels[i].Length > 12 ? labels[i][..11] + "…" : labels[i])}</text>"));
        }
        return svg.Append("</svg>\n").ToString();
    }

    static IEnumerable<double> Items(KllSketch sketch) => sketch.Levels.SelectMany(l => l);

    static double[] Shares(KllSketch sketch, double min, double width)
    {
        var shares = new double[Bins];
        double total = 0;
        for (var h = 0; h < sketch.Levels.Count; h++)
            foreach (var item in sketch.Levels[h])
            {
                var weight = Math.Pow(2, h);
                shares[Math.Clamp((int)((item - min) / width), 0, Bins - 1)] += weight;
                total += weight;
            }
        return [.. shares.Select(s => total == 0 ? 0 : s / total)];
    }

    /// <summary>A value per execution over time, with the threshold as a line when there is one.</summary>
    static string Line(string what, List<(DateTimeOffset Time, double Value)> points, double? threshold)
    {
        if (points.Count == 0) return "";
        const int w = 560, h = 120, left = 40, bottom = 20;
        var top = Math.Max(points.Max(p => p.Value), threshold ?? 0) * 1.1;
        if (top <= 0) top = 1;
        long t0 = points[0].Time.ToUnixTimeSeconds(), t1 = Math.Max(t0 + 1, points[^1].Time.ToUnixTimeSeconds());
        double X(DateTimeOffset t) => left + (w - left - 10) * (points.Count == 1 ? 0.5 : (t.ToUnixTimeSeconds() - t0) / (double)(t1 - t0));
        double Y(double v) => h - v / top * (h - 10);
        var svg = new StringBuilder($"<p class=\"note\">{E(what)} per execution</p><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h + bottom}\" font-size=\"10\">");
        svg.Append(F($"<line x1=\"{left}\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#999\"/><text x=\"2\" y=\"12\">{N(top)}</text><text x=\"2\" y=\"{h}\">0</text>"));
        if (threshold is { } t)
            svg.Append(F($"<line x1=\"{left}\" y1=\"{Y(t):0.#}\" x2=\"{w}\" y2=\"{Y(t):0.#}\" stroke=\"{ThresholdColour}\" stroke-dasharray=\"4 3\"/>"));
        svg.Append("<polyline fill=\"none\" stroke=\"").Append(CurrentColour).Append("\" stroke-width=\"2\" points=\"")
            .Append(string.Join(' ', points.Select(p => F($"{X(p.Time):0.#},{Y(p.Value):0.#}")))).Append("\"/>");
        foreach (var p in points)
            svg.Append(F($"<circle cx=\"{X(p.Time):0.#}\" cy=\"{Y(p.Value):0.#}\" r=\"3\" fill=\"{CurrentColour}\"><title>{p.Time.UtcDateTime:yyyy-MM-dd HH:mm}: {p.Value:0.####}</title></circle>"));
        svg.Append(F($"<text x=\"{left}\" y=\"{h + 14}\">{points[0].Time.UtcDateTime:MM-dd HH:mm}</text><text x=\"{w}\" y=\"{h + 14}\" text-anchor=\"end\">{points[^1].Time.UtcDateTime:MM-dd HH:mm}</text>"));
        return svg.Append("</svg>\n").ToString();
    }

    static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    static string N(double? v) => v is { } d ? d.ToString("G4", CultureInfo.InvariantCulture) : "—";

    static string E(string s) => WebUtility.HtmlEncode(s);
}
