using Strata.Server.Services.Runtime;

namespace Strata.Server.Tests.Unit;

/// <summary>Asynchronous inference's bounds: an input is read only up to the payload limit plus
/// one byte, and a failed run waits 1 s, doubling to 60 s, before it is tried again.</summary>
public sealed class AsyncInferenceLimitsTests
{
    /// <summary>An endless input that counts what was read of it.</summary>
    sealed class Endless : Stream
    {
        public long Served { get; private set; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)'x', offset, count);
            Served += count;
            return count;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Served; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task AnInputOverTheLimitIsRefusedAfterLimitPlusOneBytes()
    {
        var input = new Endless();
        Assert.Null(await AsyncInference.ReadAtMostAsync(input, RuntimeService.MaxPayloadBytes, CancellationToken.None));
        Assert.Equal(RuntimeService.MaxPayloadBytes + 1L, input.Served);
    }

    [Fact]
    public async Task AnInputOfExactlyTheLimitIsReadWhole()
    {
        var content = new byte[RuntimeService.MaxPayloadBytes];
        content[^1] = 7;
        var read = await AsyncInference.ReadAtMostAsync(new MemoryStream(content), RuntimeService.MaxPayloadBytes, CancellationToken.None);
        Assert.Equal(content, read);
    }

    [Fact]
    public async Task OneByteOverTheLimitIsRefused()
        => Assert.Null(await AsyncInference.ReadAtMostAsync(new MemoryStream(new byte[11]), 10, CancellationToken.None));

    [Fact]
    public void AFailedRunWaitsOneSecondDoublingToSixty()
    {
        var delays = new List<double>();
        TimeSpan? delay = null;
        for (var i = 0; i < 9; i++) delays.Add((delay = AsyncInference.NextDelay(delay)).Value.TotalSeconds);
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], delays);
    }
}
