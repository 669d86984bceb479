using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Strata.Worker;

/// <summary>
/// Runs a container of one's own inside a network namespace of its own (started by the server
/// under <c>unshare --net</c>): brings up the namespace's loopback (its only interface, so
/// nothing outside is reachable), starts the container's command on 127.0.0.1:8080 there, and
/// relays connections from the Unix socket the server dials (a socket file crosses network
/// namespaces) to that port. It ends when the container ends, with its exit code.
/// </summary>
public static class IsolatedContainer
{
    const int ContainerPort = 8080;

    public static async Task<int> RunAsync(string socketPath, string[] command)
    {
        if (command.Length == 0)
        {
            Console.Error.WriteLine("strata-worker: --isolated-container needs a command after --");
            return 2;
        }
        if (!Loopback.BringUp(out var error))
        {
            Console.Error.WriteLine($"strata-worker: could not bring up the isolated namespace's loopback: {error}");
            return 4;
        }
        var psi = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (var arg in command.Skip(1)) psi.ArgumentList.Add(arg);
        psi.Environment["SAGEMAKER_BIND_TO_PORT"] = ContainerPort.ToString();
        using var container = Process.Start(psi)!;

        if (File.Exists(socketPath)) File.Delete(socketPath);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(128);
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Socket client;
                try { client = await listener.AcceptAsync(stop.Token); }
                catch (OperationCanceledException) { return; }
                _ = RelayAsync(client);
            }
        });
        // Like every worker, it never outlives the server (STRATA_PARENT_PID), nor lets its container.
        if (int.TryParse(Environment.GetEnvironmentVariable("STRATA_PARENT_PID"), out var parent))
            _ = Task.Run(async () =>
            {
                while (Directory.Exists($"/proc/{parent}")) await Task.Delay(TimeSpan.FromSeconds(1));
                try { container.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            });
        await container.WaitForExitAsync();
        stop.Cancel();
        return container.ExitCode;
    }

    static async Task RelayAsync(Socket client)
    {
        using (client)
        using (var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, ContainerPort));
                using var a = new NetworkStream(client);
                using var b = new NetworkStream(upstream);
                // Either direction ending ends the connection.
                await Task.WhenAny(a.CopyToAsync(b), b.CopyToAsync(a));
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // The container is not listening yet (the server's health check retries) or closed.
            }
        }
    }

    /// <summary>Sets IFF_UP on "lo" (ioctl SIOCSIFFLAGS), as `ip link set lo up` does.</summary>
    static class Loopback
    {
        const int SIOCGIFFLAGS = 0x8913;
        const int SIOCSIFFLAGS = 0x8914;
        const short IFF_UP = 0x1;

        // struct ifreq: char ifr_name[16]; then a union whose first member here is short ifr_flags.
        const int IfReqSize = 40;
        const int FlagsOffset = 16;

        [DllImport("libc", SetLastError = true)] static extern int socket(int domain, int type, int protocol);
        [DllImport("libc", SetLastError = true)] static extern int ioctl(int fd, ulong request, IntPtr req);
        [DllImport("libc", SetLastError = true)] static extern int close(int fd);

        public static bool BringUp(out string error)
        {
            error = "";
            var fd = socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
            if (fd < 0)
            {
                error = $"socket: errno {Marshal.GetLastPInvokeError()}";
                return false;
            }
            var req = Marshal.AllocHGlobal(IfReqSize);
            try
            {
                for (var i = 0; i < IfReqSize; i++) Marshal.WriteByte(req, i, 0);
                Marshal.WriteByte(req, 0, (byte)'l');
                Marshal.WriteByte(req, 1, (byte)'o');
                if (ioctl(fd, SIOCGIFFLAGS, req) < 0)
                {
                    error = $"SIOCGIFFLAGS: errno {Marshal.GetLastPInvokeError()}";
                    return false;
                }
                Marshal.WriteInt16(req, FlagsOffset, (short)(Marshal.ReadInt16(req, FlagsOffset) | IFF_UP));
                if (ioctl(fd, SIOCSIFFLAGS, req) < 0)
                {
                    error = $"SIOCSIFFLAGS: errno {Marshal.GetLastPInvokeError()}";
                    return false;
                }
                return true;
            }
            finally
            {
                Marshal.FreeHGlobal(req);
                close(fd);
            }
        }
    }
}
