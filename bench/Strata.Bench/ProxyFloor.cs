using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Server.Hosting;

/// <summary>
/// The floor of Strata's design for InvokeEndpoint: a process of its own with Kestrel in front and
/// the framed hop to a worker process behind, and nothing else. It takes the same signed request
/// Strata takes and forwards its body to the worker as Strata's router does (the same
/// <see cref="WorkerChannel"/> under an HttpClient, the body handed over as read), but checks no
/// signature, authorizes nothing, records no metric and keeps no audit. What Strata serves
/// beyond what this serves is the cost of its own pipeline; what this serves below the bare worker
/// is the cost of the design (an HTTP server and a second process woken for every request), which
/// no change to the pipeline can win back.
/// <para>Run by <see cref="PairedLoad"/> as a child process:
/// <c>strata-bench.dll proxy-floor PORT FRAMES-SOCKET</c>.</para>
/// </summary>
public static class ProxyFloor
{
    public static async Task RunAsync(int port, string framesPath)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenLocalhost(port);
        });
        var app = builder.Build();
        using var worker = new HttpClient(new WorkerChannel(framesPath)) { BaseAddress = new Uri("http://worker/"), Timeout = TimeSpan.FromSeconds(60) };
        app.MapGet("/ping", () => Results.Ok());
        app.MapPost("/endpoints/{name}/invocations", async (HttpContext http) =>
        {
            var length = (int)(http.Request.ContentLength ?? 0);
            var body = new byte[length];
            await http.Request.Body.ReadExactlyAsync(body, http.RequestAborted);
            using var request = new HttpRequestMessage(HttpMethod.Post, "invocations") { Content = new WorkerBody(body) };
            request.Content.Headers.ContentType = new(http.Request.ContentType ?? "application/octet-stream");
            using var response = await worker.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
            var answer = await WorkerAnswer.ReadAllAsync(response.Content, http.RequestAborted);
            http.Response.StatusCode = (int)response.StatusCode;
            http.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            http.Response.ContentLength = answer.Length;
            await http.Response.Body.WriteAsync(answer, http.RequestAborted);
        });
        await app.RunAsync();
    }
}
