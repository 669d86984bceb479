using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Strata.Server.Tests.E2E;

/// <summary>
/// A real `strata serve` process on free loopback ports with a temporary data directory, as a
/// user would run it. Tests talk to it only over HTTP(S) with unmodified AWS clients.
/// </summary>
public sealed class StrataProcess : IAsyncDisposable
{
    public const string AccessKeyId = "AKIASTRATATEST000001";
    public const string SecretAccessKey = "strata/test/secret/key/0123456789abcdefgh";

    Process? _process;
    readonly List<string> _output = [];

    public string DataDir { get; }
    public int Port { get; private set; }
    public int TlsPort { get; private set; }
    /// <summary>Test servers evaluate autoscaling policies every second, not every minute.</summary>
    public const double AutoScalingPeriodSeconds = 1;

    /// <summary>Serverless variants of test servers scale to zero after 2 idle seconds.</summary>
    public const double ServerlessIdleSeconds = 2;

    /// <summary>The listener that stands for a VPC endpoint (<c>aws:SourceVpce</c>).</summary>
    public int VpcePort { get; private set; }
    public string Endpoint => $"http://127.0.0.1:{Port}";
    public string TlsEndpoint => $"https://127.0.0.1:{TlsPort}";
    public string CertPath => Path.Combine(DataDir, "tls", "cert.pem");
    public IReadOnlyList<string> Output { get { lock (_output) return _output.ToList(); } }

    readonly bool _ownsDataDir;

    StrataProcess(string dataDir, bool ownsDataDir) => (DataDir, _ownsDataDir) = (dataDir, ownsDataDir);

    /// <summary>Starts a server; with <paramref name="dataDir"/> it reuses that directory (a
    /// restart) and leaves it in place when disposed.</summary>
    public static async Task<StrataProcess> StartAsync(string? dataDir = null, bool fixedKeys = true, params string[] extraArgs)
    {
        var server = new StrataProcess(dataDir ?? Directory.CreateTempSubdirectory("strata-test-").FullName, ownsDataDir: dataDir is null);
        await server.StartAsync(fixedKeys, extraArgs);
        return server;
    }

    /// <summary>Starts a server with these variables in its environment (beside the test's own, or
    /// instead of them where both name one; null removes one).</summary>
    public static async Task<StrataProcess> StartWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment, params string[] extraArgs)
    {
        var server = new StrataProcess(Directory.CreateTempSubdirectory("strata-test-").FullName, ownsDataDir: true) { _environment = environment };
        await server.StartAsync(fixedKeys: true, extraArgs);
        return server;
    }

    IReadOnlyDictionary<string, string?> _environment = new Dictionary<string, string?>();

    /// <summary>The strata.dll built next to the tests (the test project references the server).</summary>
    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "strata.dll");

    async Task StartAsync(bool fixedKeys, string[] extraArgs)
    {
        // A port found free can be taken by another suite's server before this one binds it (many
        // start at once): that server then says the port is in use (naming it, or, when Kestrel's bind
        // lost the race, "a port is in use") and exits; start again on others.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync(fixedKeys, extraArgs);
                return;
            }
            catch (InvalidOperationException e) when (attempt < 3 && (e.Message.Contains(" is in use by ", StringComparison.Ordinal)
                && e.Message.Contains("strata: port ", StringComparison.Ordinal) || e.Message.Contains("strata: a port is in use", StringComparison.Ordinal)))
            {
                lock (_output) _output.Clear();
            }
        }
    }

    async Task StartOnceAsync(bool fixedKeys, string[] extraArgs)
    {
        Port = FreePort();
        TlsPort = FreePort();
        VpcePort = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { ServerDll, "serve", "--port", Port.ToString(), "--tls-port", TlsPort.ToString(), "--vpce-port", VpcePort.ToString(), "--data-dir", DataDir,
            "--autoscaling-period", AutoScalingPeriodSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--serverless-idle", ServerlessIdleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(extraArgs))
            psi.ArgumentList.Add(arg);
        if (fixedKeys)
        {
            psi.Environment["STRATA_ROOT_ACCESS_KEY_ID"] = AccessKeyId;
            psi.Environment["STRATA_ROOT_SECRET_ACCESS_KEY"] = SecretAccessKey;
        }
        else
        {
            psi.Environment.Remove("STRATA_ROOT_ACCESS_KEY_ID");
            psi.Environment.Remove("STRATA_ROOT_SECRET_ACCESS_KEY");
        }
        foreach (var (name, value) in _environment)
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        var process = Process.Start(psi)!;
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Add(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        // Seconds on an idle machine; a shared, loaded one has taken over a minute.
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException("strata serve exited:\n" + string.Join('\n', Output));
            try
            {
                var response = await http.GetAsync($"{Endpoint}/_strata/health");
                // Ready: healthy, and the listener lines (printed once started) are out.
                if (response.StatusCode == HttpStatusCode.OK && Output.Any(l => l.StartsWith($"strata: listening on https://", StringComparison.Ordinal)))
                    return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException("strata serve did not become healthy:\n" + string.Join('\n', Output));
    }

    /// <summary>The server's process id.</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException("not started");

    /// <summary>SIGTERM, as `kill` or a service manager stops a server: it shuts down gracefully.
    /// Returns its exit code once it has exited and its output has been read.</summary>
    public async Task<int> TerminateAsync(TimeSpan? timeout = null)
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(1));
        await _process!.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a power cut or OOM kill.</summary>
    public void Kill() => Kill(entireProcessTree: true);

    /// <summary>SIGKILL to the server alone, as the OOM killer sends it: what it started (the
    /// containers, in sessions of their own) is left running, orphaned.</summary>
    public void KillAlone() => Kill(entireProcessTree: false);

    void Kill(bool entireProcessTree)
    {
        if (_process is null) return;
        var pid = _process.Id;
        _process.Kill(entireProcessTree);
        _process.WaitForExit();
        // A killed server cannot remove its workers' socket directory itself.
        try { Directory.Delete(Path.Combine(Path.GetTempPath(), "strata-" + pid), recursive: true); }
        catch (IOException) { }
    }

    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited) return;
        var pid = _process.Id;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        // A killed server cannot remove its workers' socket directory itself.
        try { Directory.Delete(Path.Combine(Path.GetTempPath(), "strata-" + pid), recursive: true); }
        catch (IOException) { }
    }

    /// <summary>Environment for an AWS client pointed at this server.</summary>
    public Dictionary<string, string> ClientEnvironment() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = SecretAccessKey,
        ["AWS_DEFAULT_REGION"] = "us-east-1",
        ["AWS_ENDPOINT_URL"] = Endpoint,
        ["AWS_CA_BUNDLE"] = CertPath,
        ["STRATA_ENDPOINT"] = Endpoint,
        ["STRATA_TLS_ENDPOINT"] = TlsEndpoint,
        ["STRATA_VPCE_ENDPOINT"] = $"http://127.0.0.1:{VpcePort}",
        ["STRATA_VPCE_ID"] = StrataOptions.DefaultVpceId,
        ["STRATA_AUTOSCALING_PERIOD"] = AutoScalingPeriodSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["STRATA_SERVERLESS_IDLE"] = ServerlessIdleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["STRATA_DATA_DIR"] = DataDir,
        ["STRATA_DLL"] = ServerDll,
        ["AWS_CONFIG_FILE"] = "/dev/null",
        ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["PYTHONUNBUFFERED"] = "1",
    };

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        if (_ownsDataDir)
        {
            try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One server shared by the tests of a class (each test uses its own buckets).</summary>
public sealed class StrataFixture : IAsyncLifetime
{
    public StrataProcess Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await StrataProcess.StartAsync();
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Runs an external client (python, aws CLI) and captures what it printed.</summary>
public static class ClientProcess
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string> env, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} timed out:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
