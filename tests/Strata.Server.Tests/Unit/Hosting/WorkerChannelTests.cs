using System.Net;
using System.Net.Sockets;
using System.Text;
using Strata.Server.Hosting;
using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>The framed router→worker transport: the router's <see cref="WorkerChannel"/> against
/// the worker's <see cref="FrameServer"/> on a real Unix socket, with handlers standing in for the
/// model (the worker's own answers are tested end to end through every InvokeEndpoint test).</summary>
public sealed class WorkerChannelTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("frames-").FullName;
    readonly List<Socket> _listeners = [];

    string Path(string name) => System.IO.Path.Combine(_dir, name);

    public void Dispose()
    {
        foreach (var l in _listeners) l.Dispose();
        Directory.Delete(_dir, true);
    }

    HttpClient Serve(FrameServer.Handler handle, TimeSpan? timeout = null, int connections = 2)
    {
        var socket = Path(Guid.NewGuid().ToString("N")[..8] + ".frames");
        _listeners.Add(FrameServer.Listen(socket, handle));
        return new HttpClient(new WorkerChannel(socket, connections)) { BaseAddress = new Uri("http://worker/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
    }

    static void Answer(FrameConnection c, int id, int status, string type, byte[] body, params KeyValuePair<string, string>[] headers)
        => c.Send(id, FrameKind.Response, FrameMeta.Encode(status, "", [new("Content-Type", type), .. headers]), body);

    static HttpRequestMessage Post(string target, byte[] body, string type = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new WorkerBody(body) };
        request.Content.Headers.ContentType = new(type);
        return request;
    }

    [Fact]
    public async Task ManyRequestsInFlightEachGetTheirOwnAnswerWithHeadersAndBodies()
    {
        // Echoes the target, the Accept and custom attributes, and the body reversed; holds every
        // request until all have arrived, then answers them last first.
        var bodies = Enumerable.Range(0, 200).Select(i => Encoding.UTF8.GetBytes($"request {i} " + new string('x', i * 37))).ToList();
        var held = new System.Collections.Concurrent.ConcurrentStack<Action>();
        using var http = Serve((c, id, target, headers, body) =>
        {
            // Kept past the handler: copied (the body's pooled array goes back when it returns).
            var kept = body.ToArray();
            held.Push(() =>
            {
                Array.Reverse(kept);
                Answer(c, id, 200, "text/plain", kept, new("X-Target", target), new("Accept-Was", FrameMeta.Find(headers, "Accept") ?? ""),
                    new("X-Amzn-SageMaker-Custom-Attributes", FrameMeta.Find(headers, "X-Amzn-SageMaker-Custom-Attributes") ?? ""));
            });
            if (held.Count == bodies.Count)
                while (held.TryPop(out var answer)) answer();
            return Task.CompletedTask;
        });
        var answers = await Task.WhenAll(bodies.Select(async (b, i) =>
        {
            using var request = Post(i % 2 == 0 ? "invocations" : "models/m1/invoke", b);
            request.Headers.TryAddWithoutValidation("Accept", "text/csv");
            request.Headers.TryAddWithoutValidation("X-Amzn-SageMaker-Custom-Attributes", $"n={i}");
            using var response = await http.SendAsync(request);
            return (Status: response.StatusCode, Type: response.Content.Headers.ContentType?.MediaType, Target: response.Headers.GetValues("X-Target").Single(),
                Accept: response.Headers.GetValues("Accept-Was").Single(), Attributes: response.Headers.GetValues("X-Amzn-SageMaker-Custom-Attributes").Single(),
                Body: await response.Content.ReadAsByteArrayAsync());
        }));
        for (var i = 0; i < bodies.Count; i++)
        {
            Assert.Equal(HttpStatusCode.OK, answers[i].Status);
            Assert.Equal("text/plain", answers[i].Type);
            Assert.Equal(i % 2 == 0 ? "invocations" : "models/m1/invoke", answers[i].Target);
            Assert.Equal("text/csv", answers[i].Accept);
            Assert.Equal($"n={i}", answers[i].Attributes);
            Assert.Equal(bodies[i].Reverse(), answers[i].Body);
        }
    }

    [Fact]
    public async Task LargeBodiesCrossWholeBothWays()
    {
        using var http = Serve((c, id, _, _, received) =>
        {
            // A checksum of what arrived, and an answer as large again.
            var body = received.ToArray();
            var sum = body.Aggregate(0L, (a, b) => a * 31 + b);
            Answer(c, id, 200, "application/octet-stream", [.. body, .. body], new KeyValuePair<string, string>("X-Sum", sum.ToString()));
            return Task.CompletedTask;
        });
        foreach (var size in new[] { 0, 1, 128 * 1024 - 40, 602_112, 5 * 1024 * 1024 + 3 })
        {
            var body = new byte[size];
            new Random(size).NextBytes(body);
            using var response = await http.SendAsync(Post("invocations", body, "application/x-npy"));
            Assert.Equal(body.Aggregate(0L, (a, b) => a * 31 + b).ToString(), response.Headers.GetValues("X-Sum").Single());
            var answer = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(body.Concat(body), answer);
        }
    }

    [Fact]
    public async Task AStreamedAnswerIsReadPartByPartAsItIsWritten()
    {
        var next = new SemaphoreSlim(0);
        using var http = Serve(async (c, id, _, _, _) =>
        {
            c.Send(id, FrameKind.Head, FrameMeta.Encode(200, "", [new("Content-Type", "text/event-stream")]), default);
            for (var i = 0; i < 3; i++)
            {
                c.Send(id, FrameKind.Data, null, Encoding.UTF8.GetBytes($"token{i} "));
                // The next part is written only once the reader has seen this one.
                await next.WaitAsync();
            }
            c.Send(id, FrameKind.End, null, default);
        });
        using var response = await http.SendAsync(Post("invocations", [1]), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        for (var i = 0; i < 3; i++)
        {
            var n = await body.ReadAsync(buffer);
            Assert.Equal($"token{i} ", Encoding.UTF8.GetString(buffer, 0, n));
            next.Release();
        }
        Assert.Equal(0, await body.ReadAsync(buffer));
    }

    [Fact]
    public async Task AnAnswerBrokenOffMidStreamFailsItsReader()
    {
        using var http = Serve((c, id, _, _, _) =>
        {
            c.Send(id, FrameKind.Head, FrameMeta.Encode(200, "", []), default);
            c.Send(id, FrameKind.Data, null, "part"u8.ToArray());
            c.Send(id, FrameKind.Abort, null, "the model crashed"u8.ToArray());
            return Task.CompletedTask;
        });
        using var response = await http.SendAsync(Post("invocations", [1]), HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        Assert.Equal(4, await body.ReadAsync(buffer));
        var e = await Assert.ThrowsAsync<IOException>(async () => await body.ReadAtLeastAsync(buffer, 1));
        Assert.Contains("the model crashed", e.Message);
    }

    [Fact]
    public async Task AWorkerThatGoesAwayFailsWhatIsInFlightAsABrokenConnectionAndANewOneIsMadeAfterIt()
    {
        var calls = 0;
        using var http = Serve((c, id, _, _, _) =>
        {
            // The first request's connection dies without an answer, as a killed worker's does.
            if (Interlocked.Increment(ref calls) == 1) c.Dispose();
            else Answer(c, id, 200, "text/plain", "ok"u8.ToArray());
            return Task.CompletedTask;
        });
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync(Post("invocations", [1])));
        Assert.Contains("worker", e.Message);
        // Both connections may be tried before one is found that works; none hangs.
        for (var i = 0; i < 3; i++)
        {
            try
            {
                using var response = await http.SendAsync(Post("invocations", [2]));
                Assert.Equal("ok", await response.Content.ReadAsStringAsync());
                return;
            }
            catch (HttpRequestException) { }
        }
        Assert.Fail("no request succeeded after the broken connection");
    }

    [Fact]
    public async Task TheCallersTimeoutEndsTheWaitAndALateAnswerIsDropped()
    {
        var release = new TaskCompletionSource();
        var answered = new TaskCompletionSource();
        // One connection: the late answer and the next request share it.
        using var http = Serve(async (c, id, target, _, _) =>
        {
            if (target == "slow")
            {
                await release.Task;
                Answer(c, id, 200, "text/plain", "late"u8.ToArray());
                answered.SetResult();
            }
            else Answer(c, id, 200, "text/plain", "fast"u8.ToArray());
        }, timeout: TimeSpan.FromMilliseconds(200), connections: 1);
        // As HttpClient reports its own timeout: TaskCanceledException with a TimeoutException inside.
        var e = await Assert.ThrowsAsync<TaskCanceledException>(() => http.SendAsync(Post("slow", [1])));
        Assert.IsType<TimeoutException>(e.InnerException);
        release.SetResult();
        await answered.Task;
        // The late answer came first on the connection and went to nobody; the next request gets its own.
        using var response = await http.SendAsync(Post("fast", [1]));
        Assert.Equal("fast", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ACallerThatBlocksOnItsAnswerDoesNotStopTheAnswersBehindIt()
    {
        // "a" is answered first, then "b", on one connection. The caller of "a" waits synchronously
        // for "b" where its answer arrives: were reading not handed on first, "b" would never be read.
        var aAnswered = new TaskCompletionSource();
        using var http = Serve(async (c, id, target, _, _) =>
        {
            if (target == "b") await aAnswered.Task;
            Answer(c, id, 200, "text/plain", Encoding.UTF8.GetBytes(target));
            if (target == "a") aAnswered.SetResult();
        }, connections: 1);
        // Off xUnit's synchronization context, as in the server: continuations then run where the answer is set.
        var (sawB, b) = await Task.Run(async () =>
        {
            var b = http.SendAsync(Post("b", [1]));
            var a = http.SendAsync(Post("a", [1]));
            return (await a.ContinueWith(_ => b.Wait(TimeSpan.FromSeconds(20)), TaskContinuationOptions.ExecuteSynchronously), b);
        });
        Assert.True(sawB);
        Assert.Equal("b", await (await b).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnAnswerAbortedBeforeItBeganIsABrokenRequestAndTheConnectionGoesOn()
    {
        using var http = Serve((c, id, target, _, _) =>
        {
            if (target == "abort") c.Send(id, FrameKind.Abort, null, "out of memory"u8.ToArray());
            else Answer(c, id, 200, "text/plain", "ok"u8.ToArray());
            return Task.CompletedTask;
        }, connections: 1);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync(Post("abort", [1])));
        Assert.Contains("out of memory", e.Message);
        using var response = await http.SendAsync(Post("fine", [1]));
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
    }

    /// <summary>Sends raw bytes to a worker's framed socket; true when the worker closed the
    /// connection without answering, false when it answered.</summary>
    async Task<bool> ClosedWithoutAnswer(byte[] frame)
    {
        var socket = Path(Guid.NewGuid().ToString("N")[..8] + ".frames");
        _listeners.Add(FrameServer.Listen(socket, (c, id, _, _, _) =>
        {
            Answer(c, id, 200, "text/plain", "ok"u8.ToArray());
            return Task.CompletedTask;
        }));
        using var raw = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await raw.ConnectAsync(new UnixDomainSocketEndPoint(socket));
        await raw.SendAsync(frame);
        var buffer = new byte[256];
        return await raw.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(30)) == 0;
    }

    static byte[] RawFrame(byte kind, byte[] meta, int bodyLength, byte[]? body = null)
    {
        var frame = new byte[FrameConnection.HeaderSize + meta.Length + (body?.Length ?? 0)];
        BitConverter.TryWriteBytes(frame.AsSpan(0), 7);
        frame[4] = kind;
        BitConverter.TryWriteBytes(frame.AsSpan(5), (ushort)meta.Length);
        BitConverter.TryWriteBytes(frame.AsSpan(7), bodyLength);
        meta.CopyTo(frame, FrameConnection.HeaderSize);
        body?.CopyTo(frame, FrameConnection.HeaderSize + meta.Length);
        return frame;
    }

    [Fact]
    public async Task AWellFormedRawFrameIsAnswered()
        => Assert.False(await ClosedWithoutAnswer(RawFrame(1, FrameMeta.Encode(0, "invocations", []), 2, [1, 2])));

    [Fact]
    public async Task AnUnknownKindClosesTheConnectionWithoutAnAnswer()
        => Assert.True(await ClosedWithoutAnswer(RawFrame(99, FrameMeta.Encode(0, "invocations", []), 2, [1, 2])));

    [Fact]
    public async Task ABodyLongerThanAFrameMayCarryClosesTheConnectionWithoutAnAnswer()
        => Assert.True(await ClosedWithoutAnswer(RawFrame(1, FrameMeta.Encode(0, "invocations", []), FrameConnection.MaxBody + 1)));

    [Fact]
    public async Task MetaCutShortClosesTheConnectionWithoutAnAnswer()
        => Assert.True(await ClosedWithoutAnswer(RawFrame(1, FrameMeta.Encode(0, "invocations", [new("Accept", "text/csv")])[..^2], 0)));

    [Fact]
    public void MetaRoundTripsAndRefusesWhatIsCutShort()
    {
        var meta = FrameMeta.Encode(424, "models/a b/invoke", [new("Content-Type", "text/csv; charset=utf-8"), new("X-É", "ü")]);
        var (status, target, headers) = FrameMeta.Decode(meta);
        Assert.Equal(424, status);
        Assert.Equal("models/a b/invoke", target);
        Assert.Equal("ü", FrameMeta.Find(headers, "x-é"));
        Assert.Equal("text/csv; charset=utf-8", FrameMeta.Find(headers, "content-type"));
        Assert.Throws<InvalidDataException>(() => FrameMeta.Decode(meta[..^1]));
        Assert.Throws<ArgumentException>(() => FrameMeta.Encode(200, "", [new("X", new string('a', 70_000))]));
    }
}
