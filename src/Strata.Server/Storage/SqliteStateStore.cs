using System.Text;
using Microsoft.Data.Sqlite;

namespace Strata.Server.Storage;

/// <summary>
/// <see cref="IStateStore"/> on SQLite in WAL mode. Keys are stored as UTF-8 BLOBs so that SQLite's
/// memcmp ordering is exactly the UTF-8 byte order the API promises. Writes go through one
/// connection under a lock (SQLite has a single writer anyway); reads use pooled connections and
/// see the last committed state.
/// </summary>
public sealed class SqliteStateStore : IStateStore
{
    // Each entry is one schema migration, applied once, in order, inside a transaction.
    // Append only: never edit a migration that has shipped.
    static readonly string[] Migrations =
    [
        """
        CREATE TABLE kv (
            tbl   TEXT NOT NULL,
            key   BLOB NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (tbl, key)
        ) WITHOUT ROWID;
        """,
    ];

    readonly string _connectionString;
    readonly SqliteConnection _writer;
    readonly Lock _writeLock = new();

    public SqliteStateStore(string path)
    {
        _connectionString = SqliteFiles.ConnectionString(path);
        _writer = Open();
        lock (_writeLock) SqliteFiles.Migrate(_writer, Migrations);
    }

    public int SchemaVersion => SqliteFiles.Version(_writer);

    // Durable: a commit is on disk (WAL fsynced) before Write returns; "nothing lost".
    SqliteConnection Open() => SqliteFiles.Open(_connectionString, durable: true);

    public T Read<T>(Func<IStateReader, T> work)
    {
        using var connection = Open();
        using var tx = connection.BeginTransaction(deferred: true);
        return work(new Session(connection, tx));
    }

    public T Write<T>(Func<IStateWriter, T> work)
    {
        lock (_writeLock)
        {
            using var tx = _writer.BeginTransaction();
            var result = work(new Session(_writer, tx));
            tx.Commit();
            return result;
        }
    }

    public void Dispose()
    {
        lock (_writeLock) _writer.Dispose();
        SqliteConnection.ClearAllPools();
    }

    sealed class Session(SqliteConnection connection, SqliteTransaction tx) : IStateWriter
    {
        SqliteCommand Command(string sql)
        {
            var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            cmd.Transaction = tx;
            return cmd;
        }

        public string? Get(string table, string key)
        {
            using var cmd = Command("SELECT value FROM kv WHERE tbl = $t AND key = $k");
            cmd.Parameters.AddWithValue("$t", table);
            cmd.Parameters.AddWithValue("$k", Encoding.UTF8.GetBytes(key));
            return cmd.ExecuteScalar() as string;
        }

        public IReadOnlyList<KeyValuePair<string, string>> Scan(string table, string prefix, string? startAfter, int limit, bool skipStartAfterPrefix = false)
        {
            var lower = Encoding.UTF8.GetBytes(prefix);
            var upper = PrefixUpperBound(lower);
            var after = startAfter is null ? null : Encoding.UTF8.GetBytes(startAfter);
            var inclusive = after is null;
            if (after is not null && skipStartAfterPrefix)
            {
                after = PrefixUpperBound(after);
                inclusive = true;
                if (after is null) return [];
            }
            // A start below the prefix is no start at all: the prefix bound is tighter.
            if (after is not null && after.AsSpan().SequenceCompareTo(lower) < 0)
            {
                after = null;
                inclusive = true;
            }
            var sql = "SELECT key, value FROM kv WHERE tbl = $t AND key " + (inclusive ? ">= $lo" : "> $lo")
                + (upper is null ? "" : " AND key < $hi") + " ORDER BY key LIMIT $n";
            using var cmd = Command(sql);
            cmd.Parameters.AddWithValue("$t", table);
            cmd.Parameters.AddWithValue("$lo", after ?? lower);
            if (upper is not null) cmd.Parameters.AddWithValue("$hi", upper);
            cmd.Parameters.AddWithValue("$n", limit);
            var rows = new List<KeyValuePair<string, string>>();
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var key = Encoding.UTF8.GetString((byte[])reader.GetValue(0));
                rows.Add(new(key, reader.GetString(1)));
            }
            return rows;
        }

        public void Put(string table, string key, string value)
        {
            using var cmd = Command("INSERT INTO kv (tbl, key, value) VALUES ($t, $k, $v) ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value");
            cmd.Parameters.AddWithValue("$t", table);
            cmd.Parameters.AddWithValue("$k", Encoding.UTF8.GetBytes(key));
            cmd.Parameters.AddWithValue("$v", value);
            cmd.ExecuteNonQuery();
        }

        public bool Delete(string table, string key)
        {
            using var cmd = Command("DELETE FROM kv WHERE tbl = $t AND key = $k");
            cmd.Parameters.AddWithValue("$t", table);
            cmd.Parameters.AddWithValue("$k", Encoding.UTF8.GetBytes(key));
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    /// <summary>The smallest byte string greater than every string that starts with
    /// <paramref name="prefix"/>; null when there is none (empty or all-0xFF prefix).</summary>
    internal static byte[]? PrefixUpperBound(byte[] prefix)
    {
        var bound = (byte[])prefix.Clone();
        for (var i = bound.Length - 1; i >= 0; i--)
        {
            if (bound[i] != 0xFF)
            {
                bound[i]++;
                return bound[..(i + 1)];
            }
        }
        return null;
    }
}
