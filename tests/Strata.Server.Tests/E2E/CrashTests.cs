using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Strata.Server.Tests.E2E;

/// <summary>
/// kill -9 in the middle of a large PUT that overwrites an object: after a restart the old
/// object is intact, nothing partial is visible, and no temporary or orphaned file is left.
/// </summary>
public sealed class CrashTests
{
    static AmazonS3Client Client(StrataProcess server) => new(
        new BasicAWSCredentials(StrataProcess.AccessKeyId, StrataProcess.SecretAccessKey),
        new AmazonS3Config { ServiceURL = server.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0, Timeout = TimeSpan.FromMinutes(2) });

    [Fact]
    public async Task KillDuringLargePutKeepsOldObject()
    {
        var dataDir = Directory.CreateTempSubdirectory("strata-crash-").FullName;
        try
        {
            var old = RandomNumberGenerator.GetBytes(100_000);
            var server = await StrataProcess.StartAsync(dataDir);
            var tmpDir = Path.Combine(dataDir, "objects", "tmp");
            using (var s3 = Client(server))
            {
                await s3.PutBucketAsync("crash");
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = "crash", Key = "model.bin", InputStream = new MemoryStream(old) });

                // A 512 MiB overwrite that streams slowly enough to be caught in the middle.
                var body = new SlowStream(512L * 1024 * 1024);
                var put = s3.PutObjectAsync(new PutObjectRequest { BucketName = "crash", Key = "model.bin", InputStream = body, AutoCloseStream = false });
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (TempBytes(tmpDir) < 8 * 1024 * 1024)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the upload never reached the server");
                    Assert.False(put.IsCompleted, "the upload finished before the crash: " + put.Exception);
                    await Task.Delay(20);
                }
                server.Kill();
                await Assert.ThrowsAnyAsync<Exception>(() => put);
            }
            Assert.NotEmpty(Directory.GetFiles(tmpDir)); // the partial body was there at the crash

            // A blob file that no row names, as a crash between rename and commit would leave.
            var orphanDir = Path.Combine(dataDir, "objects", "blobs", "ff");
            Directory.CreateDirectory(orphanDir);
            var orphan = Path.Combine(orphanDir, "ff" + Guid.NewGuid().ToString("N")[2..]);
            await File.WriteAllBytesAsync(orphan, new byte[1234]);
            File.SetLastWriteTimeUtc(orphan, DateTime.UtcNow.AddMinutes(-1));

            await using var restarted = await StrataProcess.StartAsync(dataDir);
            using var after = Client(restarted);
            using (var get = await after.GetObjectAsync("crash", "model.bin"))
            {
                using var buffer = new MemoryStream();
                await get.ResponseStream.CopyToAsync(buffer);
                Assert.Equal(old, buffer.ToArray());
            }
            var listed = await after.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "crash" });
            var only = Assert.Single(listed.S3Objects);
            Assert.Equal(old.Length, only.Size);
            Assert.Empty(Directory.GetFiles(tmpDir));
            var sweepDeadline = DateTime.UtcNow.AddSeconds(30);
            while (File.Exists(orphan) && DateTime.UtcNow < sweepDeadline) await Task.Delay(50);
            Assert.False(File.Exists(orphan), "the orphaned blob was not swept");
            // Exactly one blob remains: the old object's.
            Assert.Single(Directory.GetFiles(Path.Combine(dataDir, "objects", "blobs"), "*", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    static long TempBytes(string dir)
        => Directory.Exists(dir) ? Directory.GetFiles(dir).Sum(f => new FileInfo(f).Length) : 0;

    /// <summary>Pseudo-random bytes, produced at a bounded rate so the upload is long-lived.</summary>
    sealed class SlowStream(long length) : Stream
    {
        long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= length) return 0;
            var n = (int)Math.Min(Math.Min(count, 256 * 1024), length - _position);
            Random.Shared.NextBytes(buffer.AsSpan(offset, n));
            _position += n;
            Thread.Sleep(5); // ~50 MB/s at most
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
