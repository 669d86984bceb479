using System.Buffers;

namespace Strata.Worker;

/// <summary>
/// A request body in an array rented from <see cref="ArrayPool{T}.Shared"/>, given back when its
/// last holder lets go. Why: a body in an array of its own is, above 85 000 bytes (a 602 KB image
/// tensor is one), a large-object-heap allocation per request, which only a full collection frees;
/// ResNet18 requests spent much of their CPU in those collections (bench/RESULTS.md).
/// <para>The holders: whoever read the body (the request, until it ends), and every write still
/// to send it (a frame queued on a socket, an HTTP request body being written). The array goes
/// back only when none can read it any more: a write that outlives its request (its caller timed
/// out, the connection is slow) must never send bytes of the request that rents the array next.</para>
/// </summary>
public sealed class PooledBody
{
    byte[]? _array;
    int _holders = 1;

    PooledBody(byte[] array, int length)
    {
        _array = array;
        Length = length;
    }

    /// <summary>A body of <paramref name="length"/> bytes, held once (by the caller).</summary>
    public static PooledBody Rent(int length) => new(ArrayPool<byte>.Shared.Rent(length), length);

    public int Length { get; }

    /// <summary>The body's bytes (the array is longer): valid only while the caller holds the body.</summary>
    public ArraySegment<byte> Segment => new(_array ?? throw new ObjectDisposedException(nameof(PooledBody)), 0, Length);

    /// <summary>One more holder: called by one that holds the body already, handing it on.</summary>
    public void Hold()
    {
        if (Interlocked.Increment(ref _holders) > 1) return;
        Interlocked.Decrement(ref _holders);
        throw new InvalidOperationException("a pooled body was held after its last holder let it go");
    }

    /// <summary>Lets go; the last holder's release gives the array back to the pool.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _holders);
        if (left > 0) return;
        if (left < 0) throw new InvalidOperationException("a pooled body was let go more often than it was held");
        ArrayPool<byte>.Shared.Return(Interlocked.Exchange(ref _array, null)!);
    }
}
