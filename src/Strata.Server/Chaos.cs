using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Hosting;
using Strata.Server.Storage;

namespace Strata.Server;

/// <summary>
/// Failure drills (`strata chaos …`): kill an instance, fail or restore a whole zone, list where
/// instances run. The server answers them under <c>/_strata/chaos/</c> only from loopback and
/// only with the admin token it keeps in the data directory (mode 0600), so only whoever can
/// read the data directory can break things on purpose.
/// </summary>
public static class Chaos
{
    public const string TokenHeader = "X-Strata-Admin-Token";

    public static string TokenPath(string dataDir) => Path.Combine(dataDir, "admin.token");

    /// <summary>The admin token, created on first start.</summary>
    public static string EnsureToken(string dataDir)
    {
        var path = TokenPath(dataDir);
        if (File.Exists(path)) return File.ReadAllText(path).Trim();
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(path, token);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return token;
    }

    /// <summary>The server side: answers one /_strata/chaos/ request (true when it was one).</summary>
    /// <param name="monitorReport">A monitoring schedule's report data (<see cref="MonitorPage.Gather"/>), by account and schedule.</param>
    public static async Task<bool> HandleAsync(HttpContext http, string token, HostingService hosting, Zones zones, MetricsStore metrics, Func<JsonObject> status,
        Func<string, string, (JsonObject? Report, string? Problem)> monitorReport)
    {
        var path = http.Request.Path.Value ?? "";
        if (!path.StartsWith("/_strata/admin/", StringComparison.Ordinal)) return false;
        var remote = http.Connection.RemoteIpAddress;
        var given = http.Request.Headers[TokenHeader].ToString();
        if (remote is null || !IPAddress.IsLoopback(remote) || !CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(token)))
        {
            await Answer(http, 403, new JsonObject { ["message"] = "admin routes need the admin token from the data directory, from this machine" });
            return true;
        }
        var q = http.Request.Query;
        try
        {
            switch (path["/_strata/admin/".Length..])
            {
                case "status" when HttpMethods.IsGet(http.Request.Method):
                    await Answer(http, 200, status());
                    return true;
                case "usage" when HttpMethods.IsGet(http.Request.Method):
                    await Answer(http, 200, new JsonObject
                    {
                        ["serverless"] = new JsonArray(hosting.Running().SelectMany(e => e.Runtime.Variants.Where(v => v.Serverless is not null).Select(v => (JsonNode)new JsonObject
                        {
                            ["account"] = e.Account,
                            ["endpoint"] = e.Runtime.Name,
                            ["variant"] = v.Name,
                            ["memorySizeInMB"] = v.Serverless!.Config.MemorySizeInMB,
                            ["requests"] = v.Serverless.Usage.Requests,
                            ["gbSeconds"] = v.Serverless.Usage.GBSeconds,
                            ["coldStarts"] = v.Serverless.Usage.ColdStarts,
                            ["instances"] = v.Instances.Count,
                        })).ToArray()),
                    });
                    return true;
                case "metrics" when HttpMethods.IsGet(http.Request.Method):
                    {
                        var endpoint = q["endpoint"].ToString();
                        var running = hosting.Running().Where(e => e.Runtime.Name == endpoint).ToList();
                        if (running.Count == 0) { await Answer(http, 404, new JsonObject { ["message"] = $"no endpoint {endpoint} is running" }); return true; }
                        await Answer(http, 200, new JsonObject
                        {
                            ["endpoint"] = endpoint,
                            ["variants"] = new JsonArray(running.SelectMany(e => e.Runtime.Variants.Select(v => (JsonNode)EndpointMetrics.LastMinute(metrics, e.Account, endpoint, v.Name, v.Instances.Count))).ToArray()),
                        });
                        return true;
                    }
                case "monitor/report" when HttpMethods.IsGet(http.Request.Method):
                    {
                        JsonObject? report;
                        string? problem;
                        try { (report, problem) = monitorReport(q["account"].ToString(), q["schedule"].ToString()); }
                        catch (Exception e) when (e is not OperationCanceledException) { (report, problem) = (null, $"the report could not be gathered: {e.Message}"); }
                        await Answer(http, report is null ? 404 : 200, report ?? new JsonObject { ["message"] = problem });
                        return true;
                    }
                case "chaos/instances" when HttpMethods.IsGet(http.Request.Method):
                    await Answer(http, 200, new JsonObject
                    {
                        ["zones"] = new JsonArray(zones.Names.Select(z => (JsonNode)new JsonObject { ["name"] = z, ["failed"] = zones.IsFailed(z) }).ToArray()),
                        ["instances"] = new JsonArray(hosting.AllInstances().Select(i => (JsonNode)new JsonObject
                        {
                            ["endpoint"] = i.Endpoint,
                            ["variant"] = i.Variant,
                            ["instance"] = i.Instance.Id[(i.Instance.Id.LastIndexOf('/') + 1)..],
                            ["zone"] = i.Instance.Zone,
                            ["pid"] = i.Instance.Pid,
                        }).ToArray()),
                    });
                    return true;
                case "chaos/kill-instance" when HttpMethods.IsPost(http.Request.Method):
                    {
                        var endpoint = q["endpoint"].ToString();
                        var instance = q["instance"].ToString();
                        var candidates = hosting.AllInstances().Where(i => (endpoint.Length == 0 || i.Endpoint == endpoint)
                            && (instance.Length == 0 || i.Instance.Id.EndsWith("/" + instance, StringComparison.Ordinal))).ToList();
                        if (candidates.Count == 0) { await Answer(http, 404, new JsonObject { ["message"] = "no such running instance" }); return true; }
                        var victim = candidates[Random.Shared.Next(candidates.Count)];
                        var killed = hosting.Crash(i => i.Instance == victim.Instance);
                        await Answer(http, 200, new JsonObject { ["killed"] = new JsonArray(killed.Select(k => (JsonNode)k).ToArray()) });
                        return true;
                    }
                case "chaos/fail-zone" when HttpMethods.IsPost(http.Request.Method):
                    {
                        var zone = q["zone"].ToString();
                        zones.Fail(zone);
                        var killed = hosting.Crash(i => i.Instance.Zone == zone);
                        await Answer(http, 200, new JsonObject { ["zone"] = zone, ["killed"] = new JsonArray(killed.Select(k => (JsonNode)k).ToArray()) });
                        return true;
                    }
                case "chaos/restore-zone" when HttpMethods.IsPost(http.Request.Method):
                    zones.Restore(q["zone"].ToString());
                    await Answer(http, 200, new JsonObject { ["zone"] = q["zone"].ToString(), ["failed"] = false });
                    return true;
            }
        }
        catch (HostingException e)
        {
            await Answer(http, 400, new JsonObject { ["message"] = e.Message });
            return true;
        }
        await Answer(http, 404, new JsonObject { ["message"] = "no such admin route" });
        return true;
    }

    static async Task Answer(HttpContext http, int status, JsonObject body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString());
    }

    /// <summary>The CLI side: sends a drill to the server of a data directory and prints its answer.</summary>
    public static async Task<int> SendAsync(string dataDir, HttpMethod method, string drill, string query)
    {
        var (code, answer) = await FetchAsync(dataDir, method, drill, query);
        if (code == 0) Console.WriteLine(answer?.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        return code;
    }

    /// <summary>Sends an admin request to the server of a data directory: 0 and its answer, or the
    /// exit code after saying on stderr what went wrong.</summary>
    public static async Task<(int Code, JsonNode? Answer)> FetchAsync(string dataDir, HttpMethod method, string drill, string query)
    {
        var serverFile = Path.Combine(dataDir, "server.json");
        if (!File.Exists(serverFile) || !File.Exists(TokenPath(dataDir)))
        {
            Console.Error.WriteLine($"strata: no server has run with the data directory {dataDir}");
            return (2, null);
        }
        var url = JsonNode.Parse(File.ReadAllText(serverFile))?["http"]?.GetValue<string>()?.Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal);
        using var client = new HttpClient { BaseAddress = new Uri(url + "/") };
        using var request = new HttpRequestMessage(method, $"_strata/admin/{drill}{query}");
        request.Headers.Add(TokenHeader, File.ReadAllText(TokenPath(dataDir)).Trim());
        try
        {
            using var response = await client.SendAsync(request);
            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"strata: {answer?["message"]?.GetValue<string>() ?? response.StatusCode.ToString()}");
                return (1, null);
            }
            return (0, answer);
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"strata: the server at {url} does not answer: {e.Message}");
            return (2, null);
        }
    }
}
