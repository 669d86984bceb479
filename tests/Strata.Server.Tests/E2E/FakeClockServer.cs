using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Strata.Server.Tests.E2E;

/// <summary>
/// A Strata server whose clock the test drives: the same <see cref="StrataHost"/> that
/// <c>strata serve</c> runs, hosted in the test process on a loopback port with a
/// <see cref="FakeTimeProvider"/>. Clients reach it over real HTTP like any server; time passes
/// only when a test moves the clock (<c>POST /_test/clock?to=EPOCH</c>, or <see cref="Clock"/>
/// directly), so expiry, idle scale-in and cooldowns are tested without waiting for them.
/// The defaults are AWS's: serverless variants idle out after 2 minutes, autoscaling evaluates
/// every minute.
/// </summary>
public sealed class FakeClockServer : IAsyncDisposable
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);
    public string DataDir { get; } = Directory.CreateTempSubdirectory("strata-clock-").FullName;
    public int Port { get; } = FreePort();
    public string Endpoint => $"http://127.0.0.1:{Port}";
    /// <summary>Where SNS sends email: a port a test script may listen on (STRATA_SMTP_PORT).</summary>
    public int SmtpPort { get; } = FreePort();
    public StrataOptions Options { get; }

    readonly StringWriter _output = new();
    readonly Microsoft.AspNetCore.Builder.WebApplication _app;

    FakeClockServer()
    {
        // The same fixed root keys as the test servers `strata serve` runs (given to it in its
        // environment; here in the options, leaving the test process's environment alone).
        Options = new StrataOptions
        {
            DataDir = DataDir,
            Port = Port,
            TlsPort = 0,
            Host = "127.0.0.1",
            Region = "us-east-1",
            RootAccessKeyId = StrataProcess.AccessKeyId,
            RootSecretAccessKey = StrataProcess.SecretAccessKey,
            SmtpUrl = new Uri($"smtp://127.0.0.1:{SmtpPort}"),
        };
        _app = StrataHost.Build(Options, TextWriter.Synchronized(_output), Clock, app => app.Use(ClockRoute));
    }

    public static async Task<FakeClockServer> StartAsync()
    {
        var server = new FakeClockServer();
        await server._app.StartAsync();
        return server;
    }

    public string Output => _output.ToString();

    /// <summary>GET answers the server's time; POST <c>?to=</c> (epoch seconds) moves it forward to
    /// then (never back), firing every timer that falls due on the way.</summary>
    async Task ClockRoute(HttpContext http, Func<Task> next)
    {
        if (!http.Request.Path.Equals("/_test/clock", StringComparison.Ordinal))
        {
            await next();
            return;
        }
        if (HttpMethods.IsPost(http.Request.Method))
        {
            if (!double.TryParse(http.Request.Query["to"], NumberStyles.Float, CultureInfo.InvariantCulture, out var to))
            {
                http.Response.StatusCode = 400;
                return;
            }
            var target = DateTimeOffset.UnixEpoch.AddSeconds(to);
            if (target > Clock.GetUtcNow()) Clock.SetUtcNow(target);
        }
        http.Response.ContentType = "text/plain";
        await http.Response.WriteAsync((Clock.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Environment for an AWS client pointed at this server; STRATA_CLOCK_URL tells the
    /// harness to keep its own clock with the server's (see <c>advance</c> in harness.py).</summary>
    public Dictionary<string, string> ClientEnvironment() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = StrataProcess.AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = StrataProcess.SecretAccessKey,
        ["AWS_DEFAULT_REGION"] = "us-east-1",
        ["AWS_ENDPOINT_URL"] = Endpoint,
        ["STRATA_ENDPOINT"] = Endpoint,
        ["STRATA_CLOCK_URL"] = $"{Endpoint}/_test/clock",
        ["STRATA_SERVERLESS_IDLE"] = Options.ServerlessIdle.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ["STRATA_AUTOSCALING_PERIOD"] = Options.AutoScalingPeriod.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ["STRATA_DATA_DIR"] = DataDir,
        ["STRATA_SMTP_PORT"] = SmtpPort.ToString(CultureInfo.InvariantCulture),
        ["STRATA_DLL"] = StrataProcess.ServerDll,
        ["AWS_CONFIG_FILE"] = "/dev/null",
        ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["PYTHONUNBUFFERED"] = "1",
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
