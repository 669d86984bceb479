namespace Strata.Server.Storage;

/// <summary>
/// The durable state of the platform: named tables of string keys to JSON documents, with ordered
/// range scans and serializable write transactions. It is deliberately this narrow (no SQL leaks
/// out) so that a PostgreSQL implementation can replace SQLite without touching any service.
/// Keys order by their UTF-8 bytes, which is the order S3 lists keys in.
/// </summary>
public interface IStateStore : IDisposable
{
    /// <summary>Runs <paramref name="work"/> against a consistent snapshot.</summary>
    T Read<T>(Func<IStateReader, T> work);

    /// <summary>Runs <paramref name="work"/> in one write transaction: all its writes commit
    /// together (durably) or, if it throws, none do. Write transactions are serialized.</summary>
    T Write<T>(Func<IStateWriter, T> work);
}

public interface IStateReader
{
    string? Get(string table, string key);

    /// <summary>Rows whose key starts with <paramref name="prefix"/> and is greater than
    /// <paramref name="startAfter"/> (if given), in key order, at most <paramref name="limit"/>.
    /// With <paramref name="skipStartAfterPrefix"/>, rows are also past every key that starts with
    /// <paramref name="startAfter"/> (how a listing steps over a whole common prefix at once).</summary>
    IReadOnlyList<KeyValuePair<string, string>> Scan(string table, string prefix, string? startAfter, int limit, bool skipStartAfterPrefix = false);
}

public interface IStateWriter : IStateReader
{
    void Put(string table, string key, string value);
    bool Delete(string table, string key);
}
