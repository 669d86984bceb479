using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Strata.Algorithms.Monitor;

namespace Strata.Server.Jobs.Processing;

/// <summary>
/// The server's end of a model-explainability execution's <see cref="ModelChannel"/>: a Unix
/// socket bound in the job's <c>config</c> directory before its container starts (0600, then the
/// container user's with the rest of the directory), each request answered by the monitored
/// endpoint's model, as Clarify's container is answered by its shadow endpoint. What fails (the
/// endpoint not running, a model error) goes back as the error the analysis fails with. The
/// analyzer needs one connection; at most <see cref="MaxConnections"/> are served at once, so that
/// what a container sends is held in memory for a few requests only (6 MB each at most).
/// </summary>
public sealed class ModelChannelListener : IAsyncDisposable
{
    /// <summary>Asks the model: the body, its content type and accept type; the answer's body.</summary>
    public delegate Task<byte[]> Invoke(byte[] body, string contentType, string accept, CancellationToken ct);

    readonly Socket _listener;
    readonly Invoke _invoke;
    readonly ILogger _log;
    const int MaxConnections = 2;

    readonly CancellationTokenSource _stop;
    readonly SemaphoreSlim _slots = new(MaxConnections);
    readonly HashSet<Task> _connections = [];
    readonly Task _accepting;

    ModelChannelListener(Socket listener, Invoke invoke, ILogger log, CancellationToken ct)
    {
        _listener = listener;
        _invoke = invoke;
        _log = log;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _accepting = AcceptAsync();
    }

    public static ModelChannelListener Start(string path, Invoke invoke, ILogger log, CancellationToken ct)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var shortPath = ModelChannel.ShortPath.Of(path);
            listener.Bind(new UnixDomainSocketEndPoint(shortPath.Path));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(shortPath.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(4);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new ModelChannelListener(listener, invoke, log, ct);
    }

    async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                await _slots.WaitAsync(_stop.Token);
                var connection = await _listener.AcceptAsync(_stop.Token);
                var served = Task.Run(() => ServeAsync(connection));
                lock (_connections)
                {
                    _connections.RemoveWhere(t => t.IsCompleted);
                    _connections.Add(served);
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
        catch (SocketException e) { _log.LogWarning("the model channel stopped accepting: {Message}", e.Message); }
    }

    async Task ServeAsync(Socket connection)
    {
        var ct = _stop.Token;
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        try
        {
            await ServeRequestsAsync(stream, ct);
        }
        finally
        {
            // The connection's slot is free once it ends.
            _slots.Release();
        }
    }

    async Task ServeRequestsAsync(NetworkStream stream, CancellationToken ct)
    {
        try
        {
            while (await ModelChannel.ReadRequestAsync(stream, ct) is { } request)
            {
                byte[] answer;
                bool ok;
                try
                {
                    answer = await _invoke(request.Body, request.ContentType, request.Accept, ct);
                    ok = true;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // What InvokeEndpoint would have answered a client: its message is the analysis's reason.
                    answer = Encoding.UTF8.GetBytes($"the endpoint answered {e.GetType().Name}: {e.Message}");
                    ok = false;
                }
                await ModelChannel.WriteResponseAsync(stream, ok, answer, ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidDataException or SocketException or ObjectDisposedException)
        {
            // The analyzer ended, broke the protocol, or the job is over: the connection ends with it.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        Task[] open;
        lock (_connections) open = [.. _connections];
        await Task.WhenAll(open);
        _stop.Dispose();
        _slots.Dispose();
    }
}
