using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Strata.Server.Jobs.Containers;

/// <summary>What a job's container is: its command and environment, the directory that is its
/// <c>/opt/ml</c>, and what bounds it.</summary>
public sealed record ContainerLaunch
{
    /// <summary>The job's name: the container's log stream is <c>{JobName}/{Host}-{epoch}</c>.</summary>
    public required string JobName { get; init; }
    /// <summary>The host the container is, as SageMaker names a job's instances.</summary>
    public string Host { get; init; } = JobContainer.Host;
    /// <summary>The job's hosts, when the container is one of them: in the sandbox its /etc/hosts
    /// names them all, its hostname is <see cref="Host"/>, and with network isolation it joins the
    /// network namespace they share.</summary>
    public ContainerCluster? Cluster { get; init; }
    /// <summary>"training", "processing": how messages name the container.</summary>
    public required string Kind { get; init; }
    /// <summary>The CloudWatch Logs group of the job's output (also, below the log directory, where its log file is).</summary>
    public required string LogGroup { get; init; }
    /// <summary>The job's directory, which the container sees as <c>/opt/ml</c> in the sandbox.</summary>
    public required string JobDir { get; init; }
    /// <summary>The container's working directory, relative to the job's directory ("code"; "" for its root).</summary>
    public string WorkingDirectory { get; init; } = "";
    public required IReadOnlyList<string> Command { get; init; }
    /// <summary>How many of <see cref="Command"/>'s last words are the request's ContainerArguments.</summary>
    public int RequestArguments { get; init; }
    /// <summary>The job's own Environment (the request's), applied by env(1) as the container starts.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    /// <summary>The variables of SageMaker's container contract (SM_*, TRAINING_JOB_NAME…).</summary>
    public IReadOnlyDictionary<string, string> ContractEnvironment { get; init; } = new Dictionary<string, string>();
    public bool EnableNetworkIsolation { get; init; }
    public required TimeSpan MaxRuntime { get; init; }
    /// <summary>Called with each line of output after it is logged (training's metric definitions); never throws into the reader.</summary>
    public Action<DateTimeOffset, string>? OnLine { get; init; }
}

/// <summary>How a container ended: its exit code and, when it was stopped, why (the stop's reason,
/// or <see cref="JobContainer.MaxRuntimeExceeded"/>).</summary>
public readonly record struct ContainerExit(int ExitCode, string? StoppedBy);

/// <summary>Where containers' output and hidden files are, bound once from the server's options.</summary>
public sealed record JobContainerOptions
{
    /// <summary>The server's data directory, hidden from a container in the sandbox.</summary>
    public required string DataDir { get; init; }
    /// <summary>Where containers' logs are written as files (below it, the log group's path).</summary>
    public required string LogDir { get; init; }
    /// <summary>Where the output also goes as CloudWatch Logs events (none: files only).</summary>
    public Storage.LogIngestion? LogEvents { get; init; }
}

/// <summary>
/// Runs a job's container as a process, the one mechanism training and processing jobs share.
/// Where the server may (it runs as root, with unshare(1) and setpriv(1)), the container runs in
/// the <see cref="Sandbox"/>: as a user of its own that owns the job's directory, bound at
/// <c>/opt/ml</c> in a mount namespace of its own where the server's data directory is hidden,
/// /tmp, /var/tmp and /dev/shm are private and /proc/sys is read-only, with no capability, and a
/// network namespace of its own too with EnableNetworkIsolation. It can write only its job's
/// directory and its private temporary directories: not root's files (host binaries, /proc/sys),
/// not a disk, not another container's files, not the server's sockets. The job's Environment is
/// applied by env(1) as the container starts, never to the root wrapper before it (LD_PRELOAD, PATH).
/// The container starts in a session and process group of its own (setsid(1)): a stop signals the
/// whole group, and when the container's main process exits whatever it left behind is killed, as
/// a Docker container's processes end with it; a grandchild that keeps its stdout open cannot keep
/// the job from ending. A container that is one of a job's hosts (a <see cref="ContainerCluster"/>)
/// also gets, in the sandbox, the cluster's hosts file bound read-only over /etc/hosts, a UTS
/// namespace named after its host, and with network isolation the cluster's network namespace
/// (nsenter) instead of one of its own. Its output goes line by line to the job's log file and to
/// CloudWatch Logs (stream <c>{job}/{host}-{epoch}</c>). A stop (the job's Stop operation, or
/// MaxRuntime on the injected clock) sends SIGTERM, then SIGKILL <see cref="StopGrace"/> later, as
/// SageMaker does.
/// </summary>
public sealed class JobContainer(JobContainerOptions options, TimeProvider clock, ILogger log)
{
    /// <summary>SageMaker's grace between SIGTERM and SIGKILL.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(120);

    /// <summary>The reason a container stopped at its job's MaxRuntimeInSeconds.</summary>
    public const string MaxRuntimeExceeded = "MaxRuntimeExceeded";

    /// <summary>How long the output of a container whose processes are all gone is read before the
    /// run moves on (a process that left the container's group could hold it open for ever).</summary>
    static readonly TimeSpan OutputDrain = TimeSpan.FromSeconds(5);

    /// <summary>The host that SageMaker names a job's one instance.</summary>
    public const string Host = "algo-1";

    /// <summary>Whether containers run in the sandbox (the server runs as root and has the tools).</summary>
    public static bool Sandboxed => Sandbox.Available;

    /// <summary>A job's log as a file: per log group and account (two accounts may name a job alike).</summary>
    public static string LogFile(string logDir, string logGroup, string account, string jobName)
        => Path.Combine(logDir, logGroup.TrimStart('/'), account, jobName + ".log");

    /// <summary>Where a container sees its job's directory: <c>/opt/ml</c> in the sandbox, else the directory itself.</summary>
    public static string Root(string jobDir) => Sandboxed ? "/opt/ml" : Path.GetFullPath(jobDir);

    /// <summary>SageMaker's <c>resourceconfig.json</c> as host <paramref name="currentHost"/> of
    /// <paramref name="hosts"/> (one host, algo-1, when not given) sees it; without an instance type,
    /// what the training toolkit's SM_RESOURCE_CONFIG carries.</summary>
    public static JsonObject ResourceConfig(string? instanceType, IReadOnlyList<string>? hosts = null, string currentHost = Host)
    {
        hosts ??= [Host];
        JsonArray Hosts() => new([.. hosts.Select(h => (JsonNode)h)]);
        var resources = new JsonObject
        {
            ["current_host"] = currentHost,
            ["current_instance_type"] = instanceType,
            ["hosts"] = Hosts(),
            ["network_interface_name"] = "eth0",
        };
        if (instanceType is null) return resources;
        resources["current_group_name"] = InstanceGroup;
        resources["instance_groups"] = new JsonArray(new JsonObject
        {
            ["instance_group_name"] = InstanceGroup,
            ["instance_type"] = instanceType,
            ["hosts"] = Hosts(),
        });
        return resources;
    }

    /// <summary>The one instance group of a job that asks for InstanceType and InstanceCount.</summary>
    public const string InstanceGroup = "homogeneousCluster";

    /// <summary>Whether an environment variable makes a program load or run other code than its own
    /// (the dynamic loader's, .NET's, and the interpreters' search paths and start-up hooks, PATH,
    /// HOME with its per-user site directories), or belongs to Strata. Outside the sandbox a job's
    /// container runs as the server's user beside its data, and a job runs no code of its own
    /// there (see ContainerEntrypoint), so its Environment may not set these.</summary>
    public static bool ChoosesCode(string name)
        => CodeChoosers.Contains(name)
            || new[] { "LD_", "DOTNET_", "COMPlus_", "CORECLR_", "STRATA_" }.Any(prefix => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    static readonly HashSet<string> CodeChoosers = new(StringComparer.Ordinal)
    {
        "PATH", "HOME", "BASH_ENV", "ENV", "GCONV_PATH", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONSTARTUP", "PYTHONPLATLIBDIR",
        "PYTHONPYCACHEPREFIX", "NODE_OPTIONS", "NODE_PATH", "PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
    };

    /// <summary>Runs the container to its end; returns its exit code and, when it was stopped,
    /// why (<paramref name="stop"/>'s reason or <see cref="MaxRuntimeExceeded"/>). The container
    /// does not outlive <paramref name="ct"/>.</summary>
    public async Task<ContainerExit> RunAsync(string account, ContainerLaunch launch, Task<string> stop, CancellationToken ct)
    {
        if (launch.EnableNetworkIsolation && !Sandboxed)
            throw new JobException("ClientError: EnableNetworkIsolation needs the server to run as root: the container starts in a network namespace of its own (unshare --net)");
        if (!Sandboxed && launch.Environment.Keys.FirstOrDefault(ChoosesCode) is { } unsafeKey)
            throw new JobException($"ClientError: the Environment variable {unsafeKey} changes which code a program loads, so a job may set it only in the sandbox (the server running as root): outside it, the job would run code of its own as the server");
        if (!Sandboxed)
            // Said for every job, where its operator reads the server's log: without root nothing
            // stands between the container and the server's files (see README, Training).
            log.LogWarning("{Kind} job {Job}: the server does not run as root, so its container runs unsandboxed, as the server's user, and can read and write the data directory {DataDir}",
                launch.Kind, launch.JobName, Path.GetFullPath(options.DataDir));
        var workdir = Path.Combine(launch.JobDir, launch.WorkingDirectory);
        // Unsandboxed, the container is the server's user anyway; sandboxed, its Environment is
        // never on a command line (Sandbox.SetEnvironment).
        List<string> argv = Sandboxed ? [.. launch.Command] : ["/usr/bin/env", .. launch.Environment.Select(kv => $"{kv.Key}={kv.Value}"), .. launch.Command];
        var cluster = launch.Cluster;
        // A user of its own, which owns the job's directory (what the server reads back after it
        // is root's to read, and its deletion root's) and ends with it.
        using var user = Sandboxed ? Sandbox.Allocate() : null;
        Sandbox.Spec? spec = null;
        if (user is not null)
        {
            Sandbox.GiveTo(launch.JobDir, user);
            spec = new Sandbox.Spec
            {
                User = user,
                Binds = [(Path.GetFullPath(launch.JobDir), "/opt/ml", false)],
                Hosts = cluster?.HostsFile is { } hosts ? (hosts, launch.Host) : null,
                DataDir = options.DataDir,
                WorkingDirectory = ("/opt/ml/" + launch.WorkingDirectory).TrimEnd('/'),
                // The shared network namespace is joined before the others are made (nsenter execs in place).
                JoinNetwork = cluster?.NetworkNamespace,
                OwnNetwork = launch.EnableNetworkIsolation && cluster?.NetworkNamespace is null,
                RequestArguments = launch.RequestArguments,
                Environment = [.. launch.Environment],
            };
            try { argv = Sandbox.Wrap(spec, argv); }
            catch (ArgumentException e) { throw new JobException("ClientError: " + e.Message); }
        }
        // A session of its own, hence a process group whose id is the container's pid: setsid(1)
        // execs in place, since a child of the server leads no group.
        argv = ["/usr/bin/setsid", .. argv];
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workdir,
        };
        foreach (var arg in argv.Skip(1)) psi.ArgumentList.Add(arg);
        // The job's Environment, applied after these (as the container's user), may name another HOME.
        if (spec is not null) Sandbox.SetEnvironment(psi.Environment, spec);
        foreach (var (k, v) in launch.ContractEnvironment) psi.Environment[k] = v;

        var started = clock.GetUtcNow();
        var stream = $"{launch.JobName}/{launch.Host}-{started.ToUnixTimeSeconds()}";
        // The hosts of one job share its log file: each line says whose it is.
        var prefix = cluster is { Hosts.Count: > 1 } ? $"[{launch.Host}] " : "";
        using var writer = _logFiles.Open(LogFile(options.LogDir, launch.LogGroup, account, launch.JobName));
        void Line(string? line)
        {
            if (line is null) return;
            // Runs on the process's reader thread: an exception here would end the server.
            try
            {
                var at = clock.GetUtcNow();
                writer.WriteLine(prefix + line);
                options.LogEvents?.Post(account, launch.LogGroup, stream, at, line);
                launch.OnLine?.Invoke(at, line);
            }
            catch (Exception e) { log.LogWarning(e, "{Kind} job {Job}: a log line was not recorded", launch.Kind, launch.JobName); }
        }

        using var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        // Exited fires when the main process is reaped, before its output ends (WaitForExitAsync
        // also waits for the end of the output, which a leftover process can hold back).
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        try
        {
            if (!process.Start()) throw new JobException($"InternalServerError: the {launch.Kind} container could not be started");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new JobException($"ClientError: the {launch.Kind} container's command {psi.FileName} could not be started: {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timers = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var left = launch.MaxRuntime - (clock.GetUtcNow() - started);
        var limit = Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.Zero, clock, timers.Token);
        string? stoppedBy = null;
        try
        {
            var first = await Task.WhenAny(exited.Task, limit, stop).WaitAsync(ct);
            if (first != exited.Task)
            {
                stoppedBy = first == limit ? MaxRuntimeExceeded : await stop;
                Signal(process, SigTerm);
                var grace = Task.Delay(StopGrace, clock, timers.Token);
                if (await Task.WhenAny(exited.Task, grace).WaitAsync(ct) != exited.Task)
                {
                    Signal(process, SigKill);
                    TryKill(process);
                }
            }
            await exited.Task.WaitAsync(ct);
        }
        catch
        {
            // The server stopping, or anything unforeseen: the container does not outlive its run.
            Signal(process, SigKill);
            TryKill(process);
            throw;
        }
        finally { await timers.CancelAsync(); }
        // What the main process left behind ends with it; then the last lines are read, a moment at most.
        Signal(process, SigKill);
        try { await process.WaitForExitAsync(ct).WaitAsync(OutputDrain, clock, ct); }
        catch (TimeoutException) { log.LogWarning("{Kind} job {Job}: a process that left the container still holds its output", launch.Kind, launch.JobName); }
        return new ContainerExit(process.ExitCode, stoppedBy);
    }

    readonly SharedLogFiles _logFiles = new();

    /// <summary>The log files of the containers running, each open once however many of a job's
    /// hosts write to it: two streams appending to one file would write over each other's lines.</summary>
    sealed class SharedLogFiles
    {
        readonly Dictionary<string, (StreamWriter Writer, int Users)> _open = new(StringComparer.Ordinal);
        readonly Lock _lock = new();

        public Handle Open(string path)
        {
            lock (_lock)
            {
                if (_open.TryGetValue(path, out var open)) _open[path] = (open.Writer, open.Users + 1);
                else
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    _open[path] = (new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true }, 1);
                }
                return new Handle(this, path, _open[path].Writer);
            }
        }

        void Close(string path)
        {
            lock (_lock)
            {
                var (writer, users) = _open[path];
                if (users > 1) _open[path] = (writer, users - 1);
                else
                {
                    _open.Remove(path);
                    lock (writer) writer.Dispose();
                }
            }
        }

        public sealed class Handle(SharedLogFiles files, string path, StreamWriter writer) : IDisposable
        {
            public void WriteLine(string line)
            {
                lock (writer) writer.WriteLine(line);
            }

            public void Dispose() => files.Close(path);
        }
    }

    const int SigTerm = 15;
    const int SigKill = 9;

    static void TryKill(Process process)
    {
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    static extern int Kill(int pid, int signal);

    /// <summary>Signals the container's process group (Process.Kill only knows SIGKILL and one tree).
    /// For a moment after Start the group does not exist yet (setsid(1) has been exec'd but has not
    /// called setsid()): the signal then goes to the process itself, which has not started the
    /// container yet, so that a stop that comes at once is never lost (it would wait out the grace).
    /// Only while the process is not reaped: its pid could be another's after.</summary>
    static void Signal(Process process, int signal)
    {
        if (Kill(-process.Id, signal) != 0 && !process.HasExited) _ = Kill(process.Id, signal);
    }
}
