using Microsoft.Extensions.Logging.Abstractions;
using Strata.Algorithms;
using Strata.Algorithms.Monitor;
using Strata.Server.Jobs.Processing;

namespace Strata.Server.Tests.Unit;

/// <summary>The explainability analysis's way to its model, both ends for real over a Unix socket:
/// bound under a directory whose path is past sockaddr_un's 108 bytes (as a job's directory under a
/// long data directory is), answered request after request, a failure of the endpoint coming back
/// as the analysis's error, and the socket's file the owner's only (0600).</summary>
public sealed class ModelChannelTests
{
    [Fact]
    public async Task RequestsAreAnsweredThroughASocketUnderALongPath()
    {
        var root = Directory.CreateTempSubdirectory("strata-channel-");
        try
        {
            var dir = Path.Combine(root.FullName, new string('d', 60), new string('e', 60));
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, ModelChannel.SocketName);
            Assert.True(path.Length > 108);
            var seen = new List<(string, string)>();
            await using (ModelChannelListener.Start(path, (body, contentType, accept, _) =>
            {
                lock (seen) seen.Add((contentType, accept));
                var text = System.Text.Encoding.UTF8.GetString(body);
                return text == "fail" ? throw new InvalidOperationException("the model failed") : Task.FromResult(System.Text.Encoding.UTF8.GetBytes(text.ToUpperInvariant()));
            }, NullLogger.Instance, CancellationToken.None))
            {
                if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                using var client = new ModelChannel.Client(path);
                Assert.Equal("1,2\n3,4"u8.ToArray(), await Task.Run(() => client.Invoke("text/csv", "text/csv", "1,2\n3,4"u8.ToArray())));
                Assert.Equal("ABC"u8.ToArray(), await Task.Run(() => client.Invoke("text/csv", "application/json", "abc"u8.ToArray())));
                var failed = await Assert.ThrowsAsync<ClientError>(() => Task.Run(() => client.Invoke("text/csv", "text/csv", "fail"u8.ToArray())));
                Assert.Contains("the model failed", failed.Message);
                // The connection goes on after a failure.
                Assert.Equal("OK"u8.ToArray(), await Task.Run(() => client.Invoke("text/csv", "text/csv", "ok"u8.ToArray())));
            }
            Assert.Equal([("text/csv", "text/csv"), ("text/csv", "application/json"), ("text/csv", "text/csv"), ("text/csv", "text/csv")], seen);
            Assert.Contains("could not be reached", Assert.Throws<ClientError>(() => new ModelChannel.Client(path)).Message);
        }
        finally { root.Delete(recursive: true); }
    }
}
