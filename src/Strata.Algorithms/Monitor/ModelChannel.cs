using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Strata.Algorithms.Monitor;

/// <summary>
/// How a model-explainability analysis asks the monitored endpoint's model for predictions, as
/// Clarify's container asks its shadow endpoint: over a Unix socket the server binds in the job's
/// directory before the container starts (the only way out of a network-isolated one), one request
/// at a time. A request is its content type, accept type and body, each length-prefixed (u16, u16,
/// u32, big-endian); the answer is a status byte (0: the model's answer; 1: an error, which fails
/// the analysis with its message) and a u32-prefixed payload. Bodies are at most InvokeEndpoint's 6 MB.
/// </summary>
public static class ModelChannel
{
    public const int MaxBody = 6 * 1024 * 1024;

    /// <summary>The socket's name in the job's <c>config</c> directory.</summary>
    public const string SocketName = "model.sock";

    public static void WriteRequest(Stream stream, string contentType, string accept, ReadOnlySpan<byte> body)
    {
        var ct = Encoding.UTF8.GetBytes(contentType);
        var ac = Encoding.UTF8.GetBytes(accept);
        if (body.Length > MaxBody) throw new ClientError($"a request to the model of {body.Length} bytes is longer than InvokeEndpoint's {MaxBody} bytes");
        Span<byte> prefix = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)ct.Length);
        stream.Write(prefix[..2]);
        stream.Write(ct);
        BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)ac.Length);
        stream.Write(prefix[..2]);
        stream.Write(ac);
        BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)body.Length);
        stream.Write(prefix);
        stream.Write(body);
        stream.Flush();
    }

    /// <summary>The next request; null when the analyzer has closed the connection between requests.</summary>
    public static async Task<(string ContentType, string Accept, byte[] Body)?> ReadRequestAsync(Stream stream, CancellationToken ct)
    {
        var head = new byte[2];
        if (await stream.ReadAtLeastAsync(head, 2, throwOnEndOfStream: false, ct) < 2) return null;
        var contentType = await ReadTextAsync(stream, BinaryPrimitives.ReadUInt16BigEndian(head), ct);
        await stream.ReadExactlyAsync(head, ct);
        var accept = await ReadTextAsync(stream, BinaryPrimitives.ReadUInt16BigEndian(head), ct);
        var length = new byte[4];
        await stream.ReadExactlyAsync(length, ct);
        var size = BinaryPrimitives.ReadUInt32BigEndian(length);
        if (size > MaxBody) throw new InvalidDataException($"a request of {size} bytes is longer than {MaxBody}");
        var body = new byte[size];
        await stream.ReadExactlyAsync(body, ct);
        return (contentType, accept, body);
    }

    static async Task<string> ReadTextAsync(Stream stream, int length, CancellationToken ct)
    {
        var bytes = new byte[length];
        await stream.ReadExactlyAsync(bytes, ct);
        return Encoding.UTF8.GetString(bytes);
    }

    public static async Task WriteResponseAsync(Stream stream, bool ok, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var head = new byte[5];
        head[0] = ok ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(1), (uint)payload.Length);
        await stream.WriteAsync(head, ct);
        await stream.WriteAsync(payload, ct);
        await stream.FlushAsync(ct);
    }

    /// <summary>The analyzer's side: one connection, one request at a time.</summary>
    public sealed class Client : IDisposable
    {
        readonly Socket _socket;
        readonly NetworkStream _stream;

        public Client(string socketPath)
        {
            _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                using var path = ShortPath.Of(socketPath);
                _socket.Connect(new UnixDomainSocketEndPoint(path.Path));
            }
            catch (SocketException e)
            {
                _socket.Dispose();
                throw new ClientError($"the model could not be reached ({e.Message}): the server gives a model-explainability execution its way to the endpoint");
            }
            _stream = new NetworkStream(_socket, ownsSocket: true);
        }

        /// <summary>The model's answer to <paramref name="body"/>; a <see cref="ClientError"/> with the
        /// server's message when the endpoint refused it or the model failed.</summary>
        public byte[] Invoke(string contentType, string accept, byte[] body)
        {
            WriteRequest(_stream, contentType, accept, body);
            Span<byte> head = stackalloc byte[5];
            _stream.ReadExactly(head);
            var size = BinaryPrimitives.ReadUInt32BigEndian(head[1..]);
            if (size > MaxBody) throw new InvalidDataException($"an answer of {size} bytes is longer than {MaxBody}");
            var payload = new byte[size];
            _stream.ReadExactly(payload);
            return head[0] == 0 ? payload : throw new ClientError(Encoding.UTF8.GetString(payload));
        }

        public void Dispose() => _stream.Dispose();
    }

    /// <summary>
    /// A socket path short enough for sockaddr_un (108 bytes): the path itself, or the same file
    /// reached through its directory's descriptor (<c>/proc/self/fd/N/name</c>), which bind and
    /// connect resolve as they resolve any path. A job's directory under a long data directory is
    /// often past the limit.
    /// </summary>
    public sealed class ShortPath : IDisposable
    {
        const int OPath = 0x200000, ODirectory = 0x10000, OCloexec = 0x80000;
        int _fd = -1;

        public string Path { get; private init; } = "";

        public static ShortPath Of(string path)
        {
            if (Encoding.UTF8.GetByteCount(path) < 100) return new ShortPath { Path = path };
            var dir = System.IO.Path.GetDirectoryName(path)!;
            var fd = Native.Open(dir, OPath | ODirectory | OCloexec);
            if (fd < 0) throw new IOException($"cannot open {dir} (errno {Marshal.GetLastPInvokeError()})");
            return new ShortPath { _fd = fd, Path = $"/proc/self/fd/{fd}/{System.IO.Path.GetFileName(path)}" };
        }

        public void Dispose()
        {
            if (_fd >= 0) Native.Close(_fd);
            _fd = -1;
        }

        static class Native
        {
            [DllImport("libc", SetLastError = true, EntryPoint = "open")]
            public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

            [DllImport("libc", SetLastError = true, EntryPoint = "close")]
            public static extern int Close(int fd);
        }
    }
}
