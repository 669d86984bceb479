using System.Diagnostics;
using System.Net.Sockets;
using Strata.Server.Jobs.Containers;

namespace Strata.Server.Hosting;

/// <summary>
/// One instance of an endpoint variant: a child process implementing the serving-container
/// contract, listening on a Unix domain socket, reached through a pooled keep-alive client.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly List<string> _log = [];
    int _outstanding;

    public string Id { get; }
    /// <summary>The availability zone the instance runs in.</summary>
    public string? Zone { get; init; }
    public int Pid => _process.Id;
    public int MemoryMiB { get; private init; }
    public string SocketPath { get; }
    public HttpClient Http { get; }
    /// <summary>Where invocations go (POST /invocations, /models/{name}/invoke): the framed
    /// transport for the built-in worker (<see cref="WorkerChannel"/>), <see cref="Http"/> for a
    /// container of one's own, which keeps the SageMaker HTTP contract.</summary>
    public HttpClient Invocations { get; }
    /// <summary>The built-in worker's framed socket; null when invocations go over HTTP.</summary>
    public string? FramesPath { get; }
    public int Outstanding => Volatile.Read(ref _outstanding);
    public bool HasExited => _process.HasExited;

    /// <summary>Where the instance's output goes (its log file and CloudWatch Logs stream); null
    /// when it is not kept.</summary>
    public WorkerLog? Log { get; private init; }

    WorkerProcess(string id, Process process, string socketPath, int? tcpPort, string? framesPath)
    {
        Id = id;
        _process = process;
        SocketPath = socketPath;
        FramesPath = framesPath;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = 256,
        };
        if (tcpPort is null) handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        // With a Unix socket the host name is never resolved: every connection goes to the socket.
        Http = new HttpClient(handler) { BaseAddress = new Uri(tcpPort is { } p ? $"http://127.0.0.1:{p}/" : "http://worker/"), Timeout = TimeSpan.FromSeconds(60) };
        Invocations = framesPath is null ? Http : new HttpClient(new WorkerChannel(framesPath)) { BaseAddress = Http.BaseAddress, Timeout = Http.Timeout };
    }

    /// <summary>STRATA_WORKER_TRANSPORT=http: invocations of the built-in worker go over HTTP as
    /// well (the transport before the framed one; kept to compare the two and as a way back).</summary>
    static bool FramesWanted => Environment.GetEnvironmentVariable("STRATA_WORKER_TRANSPORT") is not "http";

    /// <summary>Starts the worker and waits until GET /ping answers 200. Throws
    /// <see cref="HostingException"/> with what the worker printed if it exits or never answers.</summary>
    /// <param name="command">A bring-your-own container's command (it listens on
    /// SAGEMAKER_BIND_TO_PORT); null for the built-in worker (on a Unix socket).</param>
    /// <param name="isolated">EnableNetworkIsolation: the worker runs in a network namespace of
    /// its own (unshare --net) and is reached over a Unix socket, the only way in or out.</param>
    public static async Task<WorkerProcess> StartAsync(string id, string modelDir, string runDir, InstanceType type,
        IReadOnlyDictionary<string, string>? environment, TimeSpan healthTimeout, CancellationToken ct, WorkerLog? log = null, IReadOnlyList<string>? command = null,
        bool isolated = false, string? zone = null, TimeProvider? clock = null, string? volume = null, string? dataDir = null, InstanceGpus? gpus = null)
    {
        clock ??= TimeProvider.System;
        Directory.CreateDirectory(runDir);
        var socketPath = Path.Combine(runDir, Guid.NewGuid().ToString("N")[..12] + ".sock");
        var workerDll = Path.Combine(AppContext.BaseDirectory, "strata-worker.dll");
        List<string> argv = command is null ? [DotnetHost(), workerDll] : [.. command];
        // A container of one's own runs in the sandbox, as training's does, where the server may
        // make one: its model directory at /opt/ml/model (read-only), as SageMaker mounts it.
        // The built-in worker is Strata's own code, not the model's.
        var user = command is not null && Sandbox.Available ? Sandbox.Allocate() : null;
        Sandbox.Spec? spec = null;
        try
        {
            if (user is not null)
            {
                Sandbox.ShareModel(modelDir);
                spec = new Sandbox.Spec
                {
                    User = user,
                    Binds = [(Path.GetFullPath(modelDir), SandboxModelDir, true)],
                    DataDir = dataDir ?? throw new ArgumentNullException(nameof(dataDir)),
                    WorkingDirectory = "/",
                    ReadsModels = true,
                    // The contract's variables win over the container's own.
                    Environment = [.. (environment ?? new Dictionary<string, string>()).Where(kv => !ContractVariables.Contains(kv.Key))],
                };
                try { argv = Sandbox.Wrap(spec, argv); }
                catch (ArgumentException e) { throw new HostingException(e.Message); }
            }
            if (isolated)
            {
                if (!Environment.IsPrivilegedProcess)
                    throw new HostingException("EnableNetworkIsolation needs the server to run as root: its workers start in a network namespace of their own (unshare --net)");
                // A container of one's own still serves TCP, inside the namespace: the built-in
                // worker (root there) relays the Unix socket to it, and starts its sandbox.
                if (command is not null) argv = [DotnetHost(), workerDll, "--isolated-container", "--", .. argv];
                argv = ["unshare", "--net", "--", .. argv];
            }
        }
        catch
        {
            user?.Dispose();
            throw;
        }
        int? tcpPort = command is null || isolated ? null : FreePort();
        var framesPath = command is null && FramesWanted ? Path.ChangeExtension(socketPath, ".frm") : null;
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in argv.Skip(1)) psi.ArgumentList.Add(arg);
        // The container's own Environment first: the contract's variables win over it.
        if (user is null)
            foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        else
            // The container's Environment is applied as it starts, as its user, never to the root
            // wrapper before it (LD_PRELOAD, PATH) nor on a command line.
            Sandbox.SetEnvironment(psi.Environment, spec!);
        psi.Environment["SM_MODEL_DIR"] = user is null ? modelDir : SandboxModelDir;
        if (tcpPort is { } port) psi.Environment["SAGEMAKER_BIND_TO_PORT"] = port.ToString();
        else psi.Environment["STRATA_WORKER_SOCKET"] = socketPath;
        if (framesPath is not null) psi.Environment["STRATA_WORKER_FRAMES"] = framesPath;
        psi.Environment["STRATA_WORKER_THREADS"] = type.Threads.ToString();
        psi.Environment["STRATA_PARENT_PID"] = Environment.ProcessId.ToString();
        if (zone is not null) psi.Environment["STRATA_AVAILABILITY_ZONE"] = zone;
        psi.Environment["DOTNET_GCHeapHardLimit"] = "0x" + ((long)type.MemoryMiB * 1024 * 1024).ToString("X");
        // ONNX Runtime's official builds report to Microsoft (a device id in ~/.cache, the
        // process, its sessions, models and errors, sent to events.data.microsoft.com) unless this
        // is set before it starts; a self-hosted platform's inference stays on its machine. Only
        // the built-in worker's: a container of one's own runs as its image says.
        if (command is null) psi.Environment["ORT_DISABLE_TELEMETRY"] = "1";
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new HostingException("the worker process could not be started");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            user?.Dispose();
            throw new HostingException($"the container command {psi.FileName} could not be started: {e.Message}");
        }
        var worker = new WorkerProcess(id, process, socketPath, tcpPort, framesPath)
        {
            _user = user,
            MemoryMiB = type.MemoryMiB,
            Zone = zone,
            Volume = volume ?? modelDir,
            Gpus = gpus,
            _clock = clock,
            Log = log,
            // A new process has used no CPU yet: the first sample is its average since it started.
            _lastSample = clock.GetUtcNow(),
        };
        if (log is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(log.File)!);
            worker._logFile = new StreamWriter(new FileStream(log.File, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        }
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var begun = clock.GetTimestamp();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                await process.WaitForExitAsync(ct);
                var (code, output) = (process.ExitCode, worker.LogTail());
                await worker.DisposeAsync();
                throw new HostingException($"the container exited with code {code} before it was healthy: {output}");
            }
            if (tcpPort is not null || File.Exists(socketPath))
            {
                try
                {
                    using var ping = await worker.Http.GetAsync("ping", ct);
                    if (ping.IsSuccessStatusCode) return worker;
                }
                catch (HttpRequestException) { }
            }
            if (clock.GetElapsedTime(begun) > healthTimeout)
            {
                await worker.DisposeAsync();
                throw new HostingException($"the container did not pass its health check (GET /ping) within {healthTimeout.TotalSeconds:F0} seconds");
            }
            await Task.Delay(20, ct);
        }
    }

    static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static string DotnetHost()
        => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
            : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";

    StreamWriter? _logFile;
    TimeProvider _clock = TimeProvider.System;
    /// <summary>The sandbox's user a container of one's own runs as, freed once it has ended.</summary>
    Sandbox.User? _user;

    /// <summary>The variables the server sets for every worker, which a container's Environment does not override.</summary>
    static readonly HashSet<string> ContractVariables = new(StringComparer.Ordinal)
    {
        "SM_MODEL_DIR", "SAGEMAKER_BIND_TO_PORT", "STRATA_WORKER_SOCKET", "STRATA_WORKER_FRAMES", "STRATA_WORKER_THREADS", "STRATA_PARENT_PID", "STRATA_AVAILABILITY_ZONE", "DOTNET_GCHeapHardLimit",
    };

    /// <summary>Where a container of one's own finds its model in the sandbox, as on SageMaker.</summary>
    const string SandboxModelDir = "/opt/ml/model";

    /// <summary>Keeps the last lines for failure reasons, every line in the instance's log
    /// stream file, and hands each to CloudWatch Logs (a queue that never blocks).</summary>
    void Append(string? line)
    {
        if (line is null) return;
        var now = _clock.GetUtcNow();
        lock (_log)
        {
            _log.Add(line);
            if (_log.Count > 200) _log.RemoveAt(0);
            try { _logFile?.WriteLine($"{now:yyyy-MM-ddTHH:mm:ss.fffZ} {line}"); }
            catch (ObjectDisposedException) { }
        }
        Log?.Post(now, line);
    }

    public string LogTail()
    {
        lock (_log) return string.Join(" | ", _log.TakeLast(5));
    }

    /// <summary>The directory that stands for the instance's storage volume (SageMaker's ML
    /// storage volume, where /opt/ml/model is): DiskUtilization is the filesystem holding it.</summary>
    public string Volume { get; private init; } = "";

    /// <summary>The GPUs the instance holds, read for its GPU metrics; null for a CPU instance (or
    /// GPUs NVML cannot read).</summary>
    public InstanceGpus? Gpus { get; private init; }

    /// <summary>Below this, CPU ticks (10 ms each) are too few for a percentage worth reporting.</summary>
    static readonly TimeSpan MinCpuInterval = TimeSpan.FromSeconds(1);

    long _lastCpuTicks;
    DateTimeOffset _lastSample;
    double _lastCpu;

    /// <summary>CPU (percent of one core, as SageMaker reports it: 200 = two cores busy) since the
    /// previous sample (since the start for the first; the previous value when less than
    /// <see cref="MinCpuInterval"/> has passed), resident memory as a percentage of the instance
    /// type's memory, the used share of the <see cref="Volume"/>'s filesystem, and its GPUs'
    /// utilization and memory in use (see <see cref="InstanceGpus.Read"/>). Null when the
    /// process cannot be read (it exited or was disposed).</summary>
    public UtilizationSample? Sample(DateTimeOffset now)
    {
        if (Volatile.Read(ref _disposed) == 1) return null;
        try
        {
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11]) + long.Parse(fields[12]); // utime + stime
            var rssKiB = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            if (now - _lastSample >= MinCpuInterval)
            {
                _lastCpu = (ticks - _lastCpuTicks) / 100.0 / (now - _lastSample).TotalSeconds * 100; // USER_HZ = 100
                (_lastCpuTicks, _lastSample) = (ticks, now);
            }
            var gpu = Gpus?.Read();
            return new UtilizationSample(_lastCpu, long.Parse(rssKiB) / 1024.0 / MemoryMiB * 100, DiskUsed(Volume), gpu?.Gpu, gpu?.GpuMemory);
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidOperationException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The used share of the filesystem holding <paramref name="path"/>, as df counts it:
    /// used / (used + available to unprivileged users), so the blocks kept for root count as
    /// neither. Null when it cannot be read (the directory is gone).</summary>
    public static double? DiskUsed(string path)
    {
        try
        {
            // On Unix DriveInfo takes any path and asks statvfs about the filesystem that holds it.
            var drive = new DriveInfo(path);
            var used = drive.TotalSize - drive.TotalFreeSpace;
            var usable = used + drive.AvailableFreeSpace;
            return usable <= 0 ? null : used * 100.0 / usable;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    public void Enter() => Interlocked.Increment(ref _outstanding);
    public void Exit() => Interlocked.Decrement(ref _outstanding);

    int _disposed;

    /// <summary>Kills the process at once (SIGKILL), as a failing machine would: for chaos drills.</summary>
    public void Crash()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
    }

    /// <summary>
    /// Whether the process ends within <paramref name="limit"/>. A killed worker's socket breaks a
    /// moment before the process is reaped, so a caller that saw the connection fail asks this
    /// rather than <see cref="HasExited"/>, which may still be false.
    /// </summary>
    public async Task<bool> ExitsWithinAsync(TimeSpan limit, TimeProvider clock, CancellationToken ct)
    {
        try
        {
            await _process.WaitForExitAsync(ct).WaitAsync(limit, clock, ct);
            return true;
        }
        catch (TimeoutException) { return false; }
    }

    /// <summary>Stops the worker; safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        if (Invocations != Http) Invocations.Dispose();
        Http.Dispose();
        if (!_process.HasExited)
        {
            // SIGTERM first, as the contract says; SIGKILL if it does not go.
            try { Native.kill(_process.Id, 15); } catch (EntryPointNotFoundException) { }
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try { await _process.WaitForExitAsync(grace.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
        _user?.Dispose();
        lock (_log) _logFile?.Dispose();
        try { File.Delete(SocketPath); } catch (IOException) { }
        if (FramesPath is not null) try { File.Delete(FramesPath); } catch (IOException) { }
    }

    static class Native
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int signal);
    }
}

/// <summary>Where an instance's output goes: every line into <paramref name="File"/> and, when
/// <paramref name="Sink"/> is given, into the CloudWatch Logs stream <paramref name="Stream"/> of
/// the group <paramref name="Group"/> of <paramref name="Account"/> (SageMaker's naming: an
/// endpoint's instance logs to /aws/sagemaker/Endpoints/{endpoint}, stream {variant}/{instance}).</summary>
public sealed record WorkerLog(string File, string Account, string Group, string Stream, Storage.LogIngestion? Sink)
{
    public void Post(DateTimeOffset at, string line) => Sink?.Post(Account, Group, Stream, at, line);

    /// <summary>The stream's ARN, as CloudWatch Logs writes it; the group's when nothing is
    /// ingested (the stream then does not exist).</summary>
    public string Arn(string region) => $"arn:aws:logs:{region}:{Account}:log-group:{Group}" + (Sink is null ? "" : $":log-stream:{Stream}");
}

/// <summary>Why an endpoint could not be deployed: becomes its FailureReason.</summary>
public class HostingException(string message) : Exception(message);

/// <summary>A model artifact that does not exist (or whose key does not).</summary>
public sealed class ArtifactNotFoundException(string message) : HostingException(message);

/// <summary>The role a model's artifacts are read as could not be assumed, or may not read them.</summary>
public sealed class ArtifactAccessException(string message) : HostingException(message);
