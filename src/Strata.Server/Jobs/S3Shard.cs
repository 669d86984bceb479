namespace Strata.Server.Jobs;

/// <summary>
/// Which of a channel's S3 objects one host of a job gets. <c>FullyReplicated</c> gives every
/// host all of them; <c>ShardedByS3Key</c> gives host <c>i</c> (from 0) of <c>n</c> the objects
/// at positions <c>i</c>, <c>i + n</c>, <c>i + 2n</c>… of the channel's objects in key order (the
/// order S3 lists them, or a manifest's order). AWS documents only that each of n instances gets
/// about 1/n of the objects, and that an instance may get none when there are fewer objects than
/// instances; dealing them out in turn keeps every share within one object of the others.
/// </summary>
public readonly record struct S3Shard(int Index, int Count)
{
    /// <summary>Every object: one host, or FullyReplicated.</summary>
    public static readonly S3Shard All = new(0, 1);

    /// <summary>The share of host <paramref name="host"/> (from 0) of <paramref name="hosts"/> under
    /// a channel's S3DataDistributionType.</summary>
    public static S3Shard Of(string distribution, int host, int hosts)
        => distribution == "ShardedByS3Key" && hosts > 1 ? new S3Shard(host, hosts) : All;

    /// <summary>Whether the object at <paramref name="position"/> (from 0) in key order is this host's.</summary>
    public bool Takes(int position) => position % Count == Index;
}
