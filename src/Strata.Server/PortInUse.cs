using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Strata.Server;

/// <summary>
/// A port that another process listens on is said in one line, naming that process when Linux
/// tells (the listening socket's inode in /proc/net/tcp, found among /proc/*/fd), instead of
/// Kestrel's stack trace.
/// </summary>
public static class PortInUse
{
    /// <summary>The first of <paramref name="ports"/> that cannot be listened on at
    /// <paramref name="address"/> because another socket has it, or null.</summary>
    public static int? FirstTaken(IPAddress address, IEnumerable<int> ports)
    {
        foreach (var port in ports)
        {
            var listener = new TcpListener(address, port);
            try { listener.Start(); }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse) { return port; }
            finally { listener.Stop(); }
        }
        return null;
    }

    /// <summary>"port 9600 is in use by pid 1234 (python3 -m http.server 9600)", or without the
    /// process when it cannot be found (another user's, or not Linux).</summary>
    public static string Message(int port)
        => Owner(port) is { } owner ? $"port {port} is in use by pid {owner.Pid} ({owner.Command})" : $"port {port} is in use by another process";

    /// <summary>The process with a socket listening on <paramref name="port"/>, if it can be found.</summary>
    public static (int Pid, string Command)? Owner(int port)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table)) continue;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 10 || f[3] != "0A" /* LISTEN */) continue;
                var local = f[1];
                if (int.TryParse(local[(local.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var p) && p == port && f[9] != "0")
                    inodes.Add($"socket:[{f[9]}]");
            }
        }
        if (inodes.Count == 0) return null;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")))
                {
                    if (new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target))
                        return (pid, Command(pid));
                }
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException) { } // another user's, or gone meanwhile
        }
        return null;
    }

    static string Command(int pid)
    {
        try
        {
            var command = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
            return command.Length > 100 ? command[..99] + "…" : command;
        }
        catch (IOException) { return "?"; }
    }
}
