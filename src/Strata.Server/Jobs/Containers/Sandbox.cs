using System.Runtime.InteropServices;
using System.Text;

namespace Strata.Server.Jobs.Containers;

/// <summary>
/// The sandbox a container of one's own runs in where the server may make one (it runs as root,
/// with unshare(1) and setpriv(1)): the one mechanism training, processing and hosting containers
/// share. The container runs as a user of its own, <see cref="FirstUid"/> + n, that no other
/// running container has and no account on the machine has (no /etc/passwd entry is needed;
/// nor a range /etc/subuid gives another user),
/// with no supplementary group and no capability (securebits noroot, an empty bounding set, no new
/// privileges). Its mount namespace is its own: what it is given bound at its paths (a job's
/// directory at <c>/opt/ml</c>, a model's at <c>/opt/ml/model</c>), the server's data directory
/// hidden under an empty read-only tmpfs, private tmpfs over <c>/tmp</c>, <c>/var/tmp</c>,
/// <c>/dev/shm</c> and <c>/run/lock</c> (so the server's and workers' sockets in
/// <c>/tmp/strata-*</c> are out of reach, and nothing it leaves there outlives it),
/// <c>/proc/sys</c> read-only, and HOME a directory of its own in that /tmp. Its IPC namespace is
/// its own too (SysV shared memory, semaphores and queues; POSIX queues). So it cannot write root's files (host binaries, /proc/sys), read a disk
/// (group disk), reach another container's files through <c>/proc/&lt;pid&gt;/root</c> (another
/// user), or undo what hides the data directory. Any directory on the way to the command's
/// programs that other users may not search (root's home, where pyenv installs Python) is replaced
/// in its view by one holding only the way to them, so that an administrator's interpreter stays
/// runnable. When the container ends, whatever it left running as its user is killed before the
/// user is given to another container; what a server killed outright left running, the next
/// server kills as it starts (<see cref="ReapOrphans"/>). Its own Environment never appears on a
/// command line (<see cref="SetEnvironment"/>).
/// </summary>
public static class Sandbox
{
    /// <summary>Whether containers run in the sandbox (the server runs as root and has the tools).</summary>
    public static bool Available { get; } = Environment.IsPrivilegedProcess && File.Exists("/usr/bin/unshare") && File.Exists("/usr/bin/setpriv");

    /// <summary>The first of the containers' users (and groups, the same number).</summary>
    public const int FirstUid = 200_000;

    /// <summary>How many users the containers of all the machine's Strata servers draw from.</summary>
    public const int UserCount = 65_536;

    /// <summary>Where each user taken is locked (flock), across the machine's Strata servers: root's alone.</summary>
    const string LockDir = "/run/strata/sandbox-users";

    /// <summary>A container's HOME, when its Environment names none: writable, its own, gone with it.</summary>
    public const string Home = "/tmp/home";

    /// <summary>What a sandboxed container inherits of the server's environment: how to find and
    /// run programs, and locale and time zone. Nothing else: the server's own environment may hold
    /// its master key and root credentials (STRATA_MASTER_KEY, STRATA_ROOT_SECRET_ACCESS_KEY) or an
    /// administrator's AWS_* keys, which a container must never see.</summary>
    static readonly string[] Inherited = ["PATH", "LANG", "LANGUAGE", "TZ", "DOTNET_ROOT", "LD_LIBRARY_PATH"];

    /// <summary>Removes from a container's start-up environment every variable of the server's
    /// but those it may inherit (<see cref="Inherited"/>, LC_*, CUDA_* and NVIDIA_*); the caller
    /// then adds the contract's.</summary>
    public static void KeepInheritedOnly(IDictionary<string, string?> environment)
    {
        foreach (var name in environment.Keys.ToList())
            if (!Inherited.Contains(name, StringComparer.Ordinal) && !name.StartsWith("LC_", StringComparison.Ordinal)
                && !name.StartsWith("CUDA_", StringComparison.Ordinal) && !name.StartsWith("NVIDIA_", StringComparison.Ordinal))
                environment.Remove(name);
    }

    /// <summary>What the variables that carry the container's own Environment through the root
    /// wrapper to the user's shell, which applies them (<see cref="Wrap"/>), are named after: the
    /// prefix, then the variable's own name.</summary>
    const string Carrier = "STRATA_ENV_";

    /// <summary>A sandboxed container's start-up environment: what it inherits of the server's
    /// (<see cref="KeepInheritedOnly"/>), HOME, and its own Environment (CreateModel's, a job's,
    /// <see cref="Spec.Environment"/>), each variable under <see cref="Carrier"/> + its name,
    /// applied only once the command runs as the container's user. Never as arguments: a process's
    /// command line is readable by every user of the machine (and by every other container), for as
    /// long as it runs (an isolated endpoint's relay: the container's whole life), and an
    /// Environment may hold an API key. Nor as the root wrapper's own variables: LD_PRELOAD would
    /// load a library of the container's into root's setpriv.</summary>
    public static void SetEnvironment(IDictionary<string, string?> environment, Spec spec)
    {
        KeepInheritedOnly(environment);
        environment["HOME"] = Home; // unless its own Environment names another
        foreach (var (name, value) in spec.Environment) environment[Carrier + name] = value;
    }

    /// <summary>The shell words, run as the container's user, that set its own Environment from
    /// the carriers (<see cref="SetEnvironment"/>): only names, never values.</summary>
    static string ApplyEnvironment(Spec spec)
    {
        var steps = new List<string>();
        foreach (var (name, _) in spec.Environment)
        {
            // SageMaker's own pattern for an Environment key, [a-zA-Z_][a-zA-Z0-9_]*: a word sh exports.
            if (name.Length == 0 || char.IsAsciiDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                throw new ArgumentException($"the Environment key {name} is not a variable name ([a-zA-Z_][a-zA-Z0-9_]*)");
            steps.Add($"export {name}=\"${Carrier}{name}\" && unset {Carrier}{name}");
        }
        steps.Add("exec \"$@\"");
        return string.Join(" && ", steps);
    }

    /// <summary>A user taken for one container, until disposed.</summary>
    public sealed class User : IDisposable
    {
        readonly FileStream _lock;

        internal User(int uid, FileStream held)
        {
            Uid = uid;
            _lock = held;
        }

        public int Uid { get; }
        /// <summary>The user's group: the same number, a group of its own.</summary>
        public int Gid => Uid;

        /// <summary>Kills what still runs as the user, then frees the user.</summary>
        public void Dispose()
        {
            try { KillAll(Uid); }
            finally { _lock.Dispose(); }
        }
    }

    /// <summary>Kills every process that runs as <paramref name="uid"/> (as its real, effective or
    /// saved user), from the server itself, as root: never from a process that runs as the user
    /// (kill(-1) as the user), which the user's own processes could stop, or read the server's
    /// environment from, and so outlive. Round after round, since a process may fork before it is
    /// killed: its children are found in the next round. Each is signalled through a pidfd taken
    /// before its user is checked, so that a number reused by another process since the scan is
    /// never signalled. Gives up after <paramref name="rounds"/> rounds (a fork bomb faster than
    /// /proc can be read), saying so.</summary>
    internal static void KillAll(int uid, int rounds = 1000)
    {
        for (var round = 0; round < rounds; round++)
        {
            var found = false;
            foreach (var pid in ProcessesOf(uid))
            {
                found = true;
                var pidfd = (int)Native.PidfdOpen(Native.SysPidfdOpen, pid, 0);
                if (pidfd < 0)
                {
                    // A kernel before 5.3 (ENOSYS): by its number, checked just before.
                    if (Marshal.GetLastPInvokeError() == 38 && Uids(pid).Contains(uid)) _ = Native.Kill(pid, 9);
                    continue;
                }
                try
                {
                    // The pidfd holds the process it was opened on: if that one is still the user's
                    // now, the signal can reach no other.
                    if (Uids(pid).Contains(uid)) _ = Native.PidfdSendSignal(Native.SysPidfdSendSignal, pidfd, 9, 0, 0);
                }
                finally { _ = Native.Close(pidfd); }
            }
            if (!found) return;
            Thread.Sleep(1); // let the killed ones go, and their forks show
        }
        throw new JobException($"InternalServerError: the processes of sandbox user {uid} could not all be killed");
    }

    /// <summary>The processes that run as <paramref name="uid"/> (real, effective or saved user).</summary>
    static List<int> ProcessesOf(int uid)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var pid) && Uids(pid).Contains(uid)) pids.Add(pid);
        return pids;
    }

    /// <summary>A process's real, effective, saved and file-system user ids: none once it has ended,
    /// nor once it is a zombie (it runs nothing; its parent, perhaps an init that never collects, has
    /// yet to collect it).</summary>
    static int[] Uids(int pid)
    {
        try
        {
            var lines = File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("State:", StringComparison.Ordinal) || l.StartsWith("Uid:", StringComparison.Ordinal)).ToList();
            if (lines.Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries) is [_, "Z" or "X", ..])) return [];
            var line = lines.FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            return [.. (line?.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries).Skip(1) ?? []).Select(f => int.TryParse(f, out var u) ? u : -1)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; } // it ended
    }

    /// <summary>A user no other container has: neither locked by one of this machine's Strata
    /// servers, nor running a process, nor an account (in /etc/passwd or any other source the
    /// name service switch asks: LDAP, SSSD), nor in a range /etc/subuid or /etc/subgid gives
    /// another user for its own containers (rootless Podman's).</summary>
    public static User Allocate()
    {
        Directory.CreateDirectory(LockDir);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode("/run/strata", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var taken = RunningUids();
        var delegated = DelegatedRanges();
        var start = Random.Shared.Next(UserCount);
        for (var i = 0; i < UserCount; i++)
        {
            var uid = FirstUid + (start + i) % UserCount;
            if (taken.Contains(uid) || delegated.Any(r => uid >= r.First && uid < r.First + r.Count) || IsAccount(uid)) continue;
            FileStream held;
            // FileShare.None takes flock(LOCK_EX | LOCK_NB): held by another container, it throws.
            try { held = new FileStream(LockPath(uid), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) { continue; }
            // A process that took the user after the scan (a container of a server that locked it and let it go since).
            if (RunningUids().Contains(uid))
            {
                held.Dispose();
                continue;
            }
            return new User(uid, held);
        }
        throw new JobException($"InternalServerError: all {UserCount} sandbox users ({FirstUid}…{FirstUid + UserCount - 1}) are taken");
    }

    static string LockPath(int uid) => Path.Combine(LockDir, uid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Kills what the containers of a server that is gone left running: a server killed
    /// outright (SIGKILL, the OOM killer) cannot end its containers, which run in sessions of their
    /// own and would go on writing their job directories while the next server resumes, fails or
    /// deletes those jobs as root. A user that one of this machine's Strata servers took (it has a
    /// lock file) and still runs processes, but that no live server holds, is such a container's:
    /// its processes are killed (<see cref="User.Dispose"/>). Run at start, before any job is
    /// recovered. Returns the users whose processes were killed.</summary>
    public static IReadOnlyList<int> ReapOrphans()
    {
        var reaped = new List<int>();
        if (!Directory.Exists(LockDir)) return reaped;
        var delegated = DelegatedRanges();
        foreach (var uid in RunningUids().Where(u => u is >= FirstUid and < FirstUid + UserCount).Order())
        {
            // Never a user the machine knows otherwise (an account the name service could not tell
            // of when the uid was taken, or a range given out since): only a container's.
            if (delegated.Any(r => uid >= r.First && uid < r.First + r.Count) || IsAccount(uid) || !File.Exists(LockPath(uid))) continue;
            FileStream held;
            try { held = new FileStream(LockPath(uid), FileMode.Open, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) { continue; } // a live server's container
            new User(uid, held).Dispose();
            reaped.Add(uid);
        }
        return reaped;
    }

    /// <summary>Whether the name service knows the id as a user or a group (getpwuid(3),
    /// getgrgid(3): /etc/passwd and /etc/group, and LDAP or SSSD where nsswitch.conf names them).</summary>
    static bool IsAccount(int id) => Native.GetPwUid(id) != 0 || Native.GetGrGid(id) != 0;

    /// <summary>The id ranges /etc/subuid and /etc/subgid give users for their own user namespaces
    /// ("name:first:count" lines).</summary>
    static List<(long First, long Count)> DelegatedRanges()
    {
        var ranges = new List<(long, long)>();
        foreach (var file in new[] { "/etc/subuid", "/etc/subgid" })
        {
            string[] lines;
            try { lines = File.ReadAllLines(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            foreach (var fields in lines.Select(l => l.Split(':')))
                if (fields.Length == 3 && long.TryParse(fields[1], out var first) && long.TryParse(fields[2], out var count)) ranges.Add((first, count));
        }
        return ranges;
    }

    /// <summary>The real, effective, saved and file-system user ids of every running process.</summary>
    static HashSet<int> RunningUids()
    {
        var uids = new HashSet<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var pid)) uids.UnionWith(Uids(pid));
        uids.Remove(-1);
        return uids;
    }

    /// <summary>Makes <paramref name="path"/> and all below it the user's, never following a
    /// symbolic link (one a previous run left could point anywhere).</summary>
    public static void GiveTo(string path, User user)
    {
        if (Native.Lchown(path, user.Uid, user.Gid) != 0)
            throw new JobException($"InternalServerError: {path} could not be given to the container's user (errno {Marshal.GetLastPInvokeError()})");
        var info = new DirectoryInfo(path);
        if (!info.Exists || info.LinkTarget is not null) return;
        foreach (var entry in info.EnumerateFileSystemInfos())
            GiveTo(entry.FullName, user);
    }

    /// <summary>What a container is: its user, what is bound into its view, the data directory
    /// hidden from it, and where it starts.</summary>
    public sealed record Spec
    {
        public required User User { get; init; }
        /// <summary>Host paths bound at the container's paths (read-only or not), in this order.</summary>
        public IReadOnlyList<(string Source, string Target, bool ReadOnly)> Binds { get; init; } = [];
        /// <summary>A hosts file bound read-only over /etc/hosts (a cluster's), with the container's
        /// hostname (it needs a UTS namespace of its own).</summary>
        public (string File, string Hostname)? Hosts { get; init; }
        /// <summary>The server's data directory, hidden.</summary>
        public required string DataDir { get; init; }
        /// <summary>The container's working directory, in its view.</summary>
        public required string WorkingDirectory { get; init; }
        /// <summary>Whether it gets a network namespace of its own (unshare --net).</summary>
        public bool OwnNetwork { get; init; }
        /// <summary>A network namespace to join (nsenter --net) before the others are made.</summary>
        public string? JoinNetwork { get; init; }
        /// <summary>Whether it reads models shared with others (<see cref="ShareModel"/>): it is in
        /// the models' group, the one group it has.</summary>
        public bool ReadsModels { get; init; }
        /// <summary>The container's own Environment (CreateModel's, a job's): applied as its user
        /// starts, after what the caller sets (<see cref="SetEnvironment"/>).</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
        /// <summary>How many of the command's last words are the request's own arguments
        /// (ContainerArguments): paths there are data, never programs made reachable.</summary>
        public int RequestArguments { get; init; }
    }

    /// <summary>The group models are read through (<see cref="ShareModel"/>), below the users' range.</summary>
    public const int ModelGroup = FirstUid - 1;

    /// <summary>Makes a model directory readable by the containers that serve it, each its own
    /// user (an artifact is kept once for every endpoint that serves it): root's still, but the
    /// models' group's, to read and search. Only containers that are given it see it (bound
    /// read-only at their /opt/ml/model); other users of the machine cannot reach it unless the
    /// directory's own mode lets them. Links are neither followed nor changed.</summary>
    public static void ShareModel(string dir)
    {
        var info = new DirectoryInfo(dir);
        if (OperatingSystem.IsWindows() || !info.Exists || info.LinkTarget is not null) return;
        foreach (var entry in info.EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }).Prepend(info))
        {
            if (entry.LinkTarget is not null || Native.Lchown(entry.FullName, -1, ModelGroup) != 0) continue;
            var mode = entry.UnixFileMode | UnixFileMode.GroupRead | (entry is DirectoryInfo || (entry.UnixFileMode & UnixFileMode.UserExecute) != 0 ? UnixFileMode.GroupExecute : 0);
            File.SetUnixFileMode(entry.FullName, mode & ~UnixFileMode.GroupWrite);
        }
    }

    /// <summary>The command line that runs <paramref name="command"/> in the sandbox: root makes
    /// the namespaces and mounts, then setpriv(1) becomes the user, without capabilities, and
    /// execs the command in place.</summary>
    public static List<string> Wrap(Spec spec, IReadOnlyList<string> command)
    {
        // What root makes in the container's view is searchable by its user, whatever the server's umask.
        var steps = new List<string> { "umask 022" };
        foreach (var (source, target, readOnly) in spec.Binds)
            steps.Add($"/bin/mkdir -p {Quote(target)} && /bin/mount --bind {Quote(source)} {Quote(target)}"
                + (readOnly ? $" && /bin/mount -o remount,bind,ro {Quote(target)}" : ""));
        // The hosts file lives below the data directory, so it is bound before that is hidden;
        // the hostname is written before /proc/sys is made read-only.
        if (spec.Hosts is var (hostsFile, hostname))
            steps.Add($"/bin/mount --bind {Quote(hostsFile)} /etc/hosts && /bin/mount -o remount,bind,ro /etc/hosts && echo {Quote(hostname)} > /proc/sys/kernel/hostname");
        // Read-only: a write there would look as if it had reached the data directory.
        steps.Add($"/bin/mount -t tmpfs -o ro,size=1m,mode=0700 strata-hidden {Quote(Path.GetFullPath(spec.DataDir))}");
        // Private temporary directories: the server's sockets are in /tmp. The directories of the
        // command's programs that are in one (a script the administrator keeps in /tmp) are held
        // open (sh(1) opens a directory to read), then bound back read-only from that descriptor.
        var programs = Programs([.. command.SkipLast(spec.RequestArguments)]).ToList();
        // A program directly in one of them is bound back alone: its directory is the whole /tmp.
        var kept = programs.Where(InPrivateDir).Select(p => PrivateDirs.Contains(Path.GetDirectoryName(p)) ? p : Path.GetDirectoryName(p)!)
            .Distinct(StringComparer.Ordinal).Select((path, i) => (Path: path, Fd: i + 3, IsDir: Directory.Exists(path))).Where(k => k.Fd <= 9).ToList();
        steps.AddRange(kept.Select(k => $"exec {k.Fd}< {Quote(k.Path)}"));
        foreach (var dir in PrivateDirs.Where(Directory.Exists))
            steps.Add($"/bin/mount -t tmpfs -o mode=1777,nosuid,nodev strata-tmp {dir}");
        steps.AddRange(kept.Select(k => (k.IsDir ? $"/bin/mkdir -p {Quote(k.Path)}" : $"/bin/touch {Quote(k.Path)}")
            + $" && /bin/mount --no-canonicalize --bind /proc/self/fd/{k.Fd} {Quote(k.Path)}"
            + $" && /bin/mount -o remount,bind,ro {Quote(k.Path)} && exec {k.Fd}<&-"));
        steps.AddRange(ReachSteps(programs.Where(p => !InPrivateDir(p))));
        steps.Add($"/bin/mkdir -m 0700 {Home} && /bin/chown {spec.User.Uid}:{spec.User.Gid} {Home}");
        // POSIX message queues of its own IPC namespace (unshare --ipc), where the machine mounts them.
        steps.Add("if /bin/mountpoint -q /dev/mqueue; then /bin/mount -t mqueue strata-mqueue /dev/mqueue; fi");
        steps.Add("/bin/mount --bind /proc/sys /proc/sys && /bin/mount -o remount,bind,ro /proc/sys");
        steps.Add($"cd {Quote(spec.WorkingDirectory)}");
        // As the user, a shell applies the container's own Environment (SetEnvironment), then execs the command.
        var apply = Quote(ApplyEnvironment(spec));
        steps.Add($"exec /usr/bin/setpriv --reuid={spec.User.Uid} --regid={spec.User.Gid} " + (spec.ReadsModels ? $"--groups={ModelGroup}" : "--clear-groups")
            + " --securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked,+keep_caps_locked"
            + $" --bounding-set=-all --inh-caps=-all --ambient-caps=-all --no-new-privs -- /bin/sh -c {apply} strata-environment \"$@\"");
        string[] enter = spec.JoinNetwork is { } shared ? ["/usr/bin/nsenter", "--net=" + shared, "--"] : [];
        // An IPC namespace of its own: no other container's or the server's SysV shared memory,
        // semaphores or message queues, nor POSIX message queues.
        return [.. enter, "/usr/bin/unshare", "--mount", "--ipc", .. spec.Hosts is null ? Array.Empty<string>() : ["--uts"], "--propagation", "private",
            .. spec.OwnNetwork ? new[] { "--net" } : [], "--", "/bin/sh", "-c", string.Join(" && ", steps), "strata-container", .. command];
    }

    /// <summary>For each directory on the way to the command's programs (its arguments that are
    /// absolute paths of files, and what their links point at) that other users may not search:
    /// the directory replaced by an empty tmpfs holding only the way on (its child bound back).
    /// Top down, so that a deeper one is replaced inside what was bound back.</summary>
    static IEnumerable<string> ReachSteps(IEnumerable<string> programs)
    {
        var ways = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var path in programs)
        {
            var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            var dir = "/";
            foreach (var segment in segments[..^1])
            {
                if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(dir) & UnixFileMode.OtherExecute) == 0)
                {
                    if (!ways.TryGetValue(dir, out var children)) ways[dir] = children = new SortedSet<string>(StringComparer.Ordinal);
                    children.Add(segment);
                }
                dir = Path.Combine(dir, segment);
            }
        }
        var scratch = 0;
        foreach (var (dir, children) in ways.OrderBy(w => w.Key.Count(c => c == '/')).ThenBy(w => w.Key, StringComparer.Ordinal))
        {
            var kept = children.Select(c => (Path: Path.Combine(dir, c), Scratch: $"/tmp/.strata-reach-{scratch++}", IsDir: Directory.Exists(Path.Combine(dir, c)))).ToList();
            foreach (var (path, at, isDir) in kept)
                yield return $"{(isDir ? "/bin/mkdir" : "/bin/touch")} {at} && /bin/mount --rbind {Quote(path)} {at}";
            yield return $"/bin/mount -t tmpfs -o mode=0755,size=1m strata-reach {Quote(dir)}";
            foreach (var (path, at, isDir) in kept)
                yield return $"{(isDir ? "/bin/mkdir" : "/bin/touch")} {Quote(path)} && /bin/mount --move {at} {Quote(path)} && /bin/rm -d {at}";
        }
    }

    /// <summary>The directories the container gets private, empty ones of.</summary>
    static readonly string[] PrivateDirs = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"];

    static bool InPrivateDir(string path) => PrivateDirs.Any(dir => path.StartsWith(dir + "/", StringComparison.Ordinal));

    /// <summary>The files the command runs or reads that are on the server's machine: its arguments
    /// that are absolute paths of files (outside /opt/ml, the job's own), what their links point at,
    /// and the program it names without a path as the server's PATH finds it (env(1) and
    /// setpriv(1) search it).</summary>
    static IEnumerable<string> Programs(IReadOnlyList<string> command)
    {
        var program = command.SkipWhile(a => a == "/usr/bin/env" || a.Contains('=')).FirstOrDefault();
        var found = program is null || program.Contains('/') ? null
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);
        return command.Append(found).OfType<string>().Where(a => a.StartsWith('/') && !a.StartsWith("/opt/ml/", StringComparison.Ordinal) && File.Exists(a))
            .SelectMany(a => new[] { Path.GetFullPath(a), File.ResolveLinkTarget(a, returnFinalTarget: true)?.FullName }).OfType<string>().Distinct(StringComparer.Ordinal);
    }

    /// <summary>A word for sh(1): single-quoted, a quote inside closed and escaped.</summary>
    static string Quote(string text)
    {
        var quoted = new StringBuilder("'");
        foreach (var c in text) quoted.Append(c == '\'' ? "'\\''" : c);
        return quoted.Append('\'').ToString();
    }

    static class Native
    {
        public const long SysPidfdOpen = 434, SysPidfdSendSignal = 424; // the same on every Linux architecture

        [DllImport("libc", SetLastError = true, EntryPoint = "syscall")]
        public static extern long PidfdOpen(long number, int pid, uint flags);

        [DllImport("libc", SetLastError = true, EntryPoint = "syscall")]
        public static extern long PidfdSendSignal(long number, int pidfd, int signal, nint info, uint flags);

        [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
        public static extern int Kill(int pid, int signal);

        [DllImport("libc", SetLastError = true, EntryPoint = "close")]
        public static extern int Close(int fd);

        [DllImport("libc", SetLastError = true, EntryPoint = "lchown")]
        public static extern int Lchown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int owner, int group);

        /// <summary>The account's passwd entry, or 0 (only whether there is one is read).</summary>
        [DllImport("libc", EntryPoint = "getpwuid")]
        public static extern nint GetPwUid(int uid);

        [DllImport("libc", EntryPoint = "getgrgid")]
        public static extern nint GetGrGid(int gid);
    }
}
