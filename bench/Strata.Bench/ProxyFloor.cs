using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Strata.Server.Hosting;
using Strata.Worker;

/// <summary>
/// The floor of Strata's design for InvokeEndpoint: a process of its own with Kestrel in front and
/// the framed hop to a worker process behind, and nothing else. It takes the same signed request
/// Strata takes and forwards its body to the worker as Strata's router does (in a pooled array,
/// through the same <see cref="WorkerChannel"/> under an HttpClient), but checks no signature,
/// authorizes nothing, records no metric and keeps no audit. What Strata serves beyond what this
/// serves is the cost of its own pipeline. What this serves below the bare worker is the cost of
/// the design (an HTTP server in front, a second process woken for every request) and of the
/// client's signing, which Strata's clients pay too; no change to the pipeline can win it back.
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
            // The bench's requests always say their length (Strata takes chunked bodies too).
            if (http.Request.ContentLength is not { } declared || declared is <= 0 or > 6 * 1024 * 1024)
            {
                http.Response.StatusCode = 400;
                return;
            }
            // As Strata reads a SageMaker Runtime payload: into a pooled array, held until the answer is written.
            var body = PooledBody.Rent((int)declared);
            try
            {
                await http.Request.Body.ReadExactlyAsync(body.Segment, http.RequestAborted);
                using var request = new HttpRequestMessage(HttpMethod.Post, "invocations") { Content = new WorkerBody(body.Segment, body) };
                request.Content.Headers.ContentType = MediaTypeHeaderValue.TryParse(http.Request.ContentType ?? "application/octet-stream", out var type) ? type : new("application/octet-stream");
                using var response = await worker.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
                var answer = await WorkerAnswer.ReadAllAsync(response.Content, http.RequestAborted);
                http.Response.StatusCode = (int)response.StatusCode;
                http.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
                http.Response.ContentLength = answer.Length;
                await http.Response.Body.WriteAsync(answer, http.RequestAborted);
            }
            finally { body.Release(); }
        });
        await app.RunAsync();
    }
}
