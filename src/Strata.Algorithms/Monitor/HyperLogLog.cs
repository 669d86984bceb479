namespace Strata.Algorithms.Monitor;

/// <summary>
/// Flajolet et al.'s HyperLogLog distinct counter (2^14 registers, a standard error of about
/// 0.8 %, with the small-range correction): what a feature's distinct_count becomes once it has
/// more distinct values than are counted exactly. SageMaker's analyzer counts distinct values
/// approximately too, which is why statistics.json writes distinct_count as a fraction.
/// </summary>
public sealed class HyperLogLog
{
    const int Bits = 14;
    const int Registers = 1 << Bits;
    readonly byte[] _registers = new byte[Registers];

    public void Add(string value)
    {
        var hash = Hash(value);
        var index = (int)(hash >> (64 - Bits));
        // The position of the first 1 bit in what is left of the hash (1-based).
        var rest = (hash << Bits) | (1UL << (Bits - 1));
        var rank = (byte)(System.Numerics.BitOperations.LeadingZeroCount(rest) + 1);
        if (rank > _registers[index]) _registers[index] = rank;
    }

    public double Estimate()
    {
        double sum = 0;
        var zeros = 0;
        foreach (var r in _registers)
        {
            sum += Math.ScaleB(1.0, -r);
            if (r == 0) zeros++;
        }
        var alpha = 0.7213 / (1 + 1.079 / Registers);
        var estimate = alpha * Registers * Registers / sum;
        return estimate <= 2.5 * Registers && zeros > 0 ? Registers * Math.Log((double)Registers / zeros) : estimate;
    }

    /// <summary>FNV-1a over the UTF-16 code units, then SplitMix64's finalizer to spread the bits:
    /// the same value always lands in the same register, in every process.</summary>
    static ulong Hash(string value)
    {
        var h = 14695981039346656037UL;
        foreach (var ch in value)
        {
            h ^= ch;
            h *= 1099511628211UL;
        }
        h ^= h >> 30;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 27;
        h *= 0x94D049BB133111EBUL;
        return h ^ (h >> 31);
    }
}
