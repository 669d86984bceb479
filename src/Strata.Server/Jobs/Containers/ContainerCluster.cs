using System.Diagnostics;
using System.Text;

namespace Strata.Server.Jobs.Containers;

/// <summary>
/// The hosts of one job, named as SageMaker names them (<c>algo-1</c> … <c>algo-N</c>), and what
/// lets their containers, all on this machine, find and reach each other by those names.
/// <para>Each host has a loopback address of its own, <c>127.B.C.i</c> for host <c>i</c>, with
/// <c>B.C</c> drawn at random for the cluster among those no other cluster of this server holds.
/// The whole of 127.0.0.0/8 reaches the loopback interface with nothing to configure, so each host
/// can listen at its own address on the same port (a rendezvous port, a parameter server's), as on
/// instances of its own, and one job's hosts do not take another's ports.</para>
/// <para>A hosts file maps the names to the addresses. The sandbox binds it read-only over
/// <c>/etc/hosts</c> in each container's mount namespace, and gives each container a UTS namespace
/// named after its host (what <c>gethostname</c> answers, as on SageMaker's instances). Without
/// the sandbox nothing can change what a container resolves, so a cluster of more than one host
/// needs it (<see cref="Refusal"/>).</para>
/// <para>With EnableNetworkIsolation the hosts share one network namespace of their own, so that
/// they reach each other and nothing else: a holder process makes it (<c>unshare --net</c>), brings
/// its loopback interface up (<c>ip link set lo up</c>; a new namespace's is down) and then waits on
/// its standard input, which the server holds: disposing the cluster ends it, and so does the
/// server's death, which closes that input. The containers join the namespace with
/// <c>nsenter</c>.</para>
/// </summary>
public sealed class ContainerCluster : IDisposable
{
    /// <summary>The most hosts a cluster has: one address each in a /24 of the loopback range.</summary>
    public const int MaxHosts = 254;

    static readonly HashSet<int> Blocks = [];
    static readonly Lock BlocksLock = new();

    static readonly string? Nsenter = File.Exists("/usr/bin/nsenter") ? "/usr/bin/nsenter" : null;
    static readonly string? Ip = new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);

    readonly int _block;
    readonly Process? _holder;

    ContainerCluster(int count, int block, string? hostsFile, Process? holder)
    {
        Hosts = HostNames(count);
        _block = block;
        HostsFile = hostsFile;
        _holder = holder;
        NetworkNamespace = holder is null ? null : $"/proc/{holder.Id}/ns/net";
    }

    /// <summary>The hosts' names, <c>algo-1</c> first.</summary>
    public IReadOnlyList<string> Hosts { get; }

    /// <summary>The hosts file the sandbox binds over <c>/etc/hosts</c>; null outside the sandbox.</summary>
    public string? HostsFile { get; }

    /// <summary>The network namespace the hosts share (a path nsenter takes), when the job is isolated.</summary>
    public string? NetworkNamespace { get; }

    /// <summary>SageMaker's names for <paramref name="count"/> hosts.</summary>
    public static IReadOnlyList<string> HostNames(int count) => [.. Enumerable.Range(1, count).Select(i => $"algo-{i}")];

    /// <summary>Host <paramref name="index"/>'s (from 0) loopback address.</summary>
    public string Address(int index) => $"127.{_block >> 8}.{_block & 0xff}.{index + 1}";

    /// <summary>Why this server cannot run a job of <paramref name="count"/> hosts (with network
    /// isolation or not), or null when it can.</summary>
    public static string? Refusal(int count, bool isolated)
    {
        if (count <= 1) return null;
        if (!JobContainer.Sandboxed)
            return $"InstanceCount {count} needs the Strata server to run as root: each host's container runs in a sandbox of its own, "
                + "where its /etc/hosts names the job's other hosts (algo-1 … algo-N) and its hostname is its own; this server runs its containers without one.";
        if (isolated && (Nsenter is null || Ip is null))
            return $"EnableNetworkIsolation with InstanceCount {count} needs nsenter(1) and ip(8) on the server's machine: the hosts share one network namespace of their own.";
        return null;
    }

    /// <summary>The cluster of a job of <paramref name="count"/> hosts whose directory is
    /// <paramref name="jobDir"/> (the hosts file is written there, outside every host's /opt/ml).</summary>
    public static async Task<ContainerCluster> StartAsync(string jobDir, int count, bool isolated, CancellationToken ct)
    {
        if (count is < 1 or > MaxHosts) throw new JobException($"InternalServerError: a cluster has 1 to {MaxHosts} hosts, not {count}");
        if (Refusal(count, isolated) is { } refusal) throw new JobException("ClientError: " + refusal);
        var block = Allocate();
        var cluster = default(ContainerCluster);
        try
        {
            string? hostsFile = null;
            Process? holder = null;
            if (JobContainer.Sandboxed)
            {
                hostsFile = Path.Combine(Path.GetFullPath(jobDir), "hosts");
                Directory.CreateDirectory(jobDir);
                await File.WriteAllTextAsync(hostsFile, HostsFileText(block, count), ct);
                // Read by the containers' users (bound read-only over their /etc/hosts), whatever the server's umask.
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(hostsFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                // One host alone needs no namespace shared with others: without the tools, it keeps one of its own (unshare --net).
                if (isolated && Nsenter is not null && Ip is not null) holder = await StartHolderAsync(ct);
            }
            cluster = new ContainerCluster(count, block, hostsFile, holder);
            return cluster;
        }
        finally
        {
            if (cluster is null) Free(block);
        }
    }

    /// <summary>The machine's own hosts file (what else the containers resolve), then the job's hosts.</summary>
    static string HostsFileText(int block, int count)
    {
        var text = new StringBuilder();
        try { text.Append(File.ReadAllText("/etc/hosts")); }
        catch (IOException) { text.Append("127.0.0.1\tlocalhost\n"); }
        if (text.Length > 0 && text[^1] != '\n') text.Append('\n');
        text.Append("# The hosts of this SageMaker training job (Strata)\n");
        for (var i = 0; i < count; i++) text.Append($"127.{block >> 8}.{block & 0xff}.{i + 1}\talgo-{i + 1}\n");
        return text.ToString();
    }

    static async Task<Process> StartHolderAsync(CancellationToken ct)
    {
        var psi = new ProcessStartInfo("/usr/bin/unshare")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--net", "--", "/bin/sh", "-c", "\"$0\" link set lo up && echo ready && exec cat >/dev/null", Ip! })
            psi.ArgumentList.Add(arg);
        var holder = Process.Start(psi) ?? throw new JobException("InternalServerError: the job's network namespace could not be made");
        try
        {
            if (await holder.StandardOutput.ReadLineAsync(ct) == "ready") return holder;
            var error = await holder.StandardError.ReadToEndAsync(ct);
            throw new JobException("InternalServerError: the job's network namespace could not be made: " + error.Trim());
        }
        catch
        {
            End(holder);
            throw;
        }
    }

    static void End(Process holder)
    {
        try
        {
            holder.Kill();
            holder.WaitForExit();
        }
        catch (InvalidOperationException) { }
        holder.Dispose();
    }

    static int Allocate()
    {
        lock (BlocksLock)
        {
            while (true)
            {
                // 127.0.x.x holds localhost and the machine's own name (127.0.1.1); 255 is left alone.
                var block = Random.Shared.Next(1, 255) << 8 | Random.Shared.Next(0, 256);
                if (Blocks.Add(block)) return block;
            }
        }
    }

    static void Free(int block)
    {
        lock (BlocksLock) Blocks.Remove(block);
    }

    /// <summary>Ends the holder of the shared network namespace (after the containers) and frees the addresses.</summary>
    public void Dispose()
    {
        if (_holder is not null) End(_holder);
        Free(_block);
    }
}
