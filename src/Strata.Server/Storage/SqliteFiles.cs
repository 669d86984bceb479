using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Strata.Server.Storage;

/// <summary>
/// How each of Strata's SQLite databases (state, logs, event history) is opened and brought to
/// its schema: one connection string per file, connections that wait for a busy writer rather
/// than fail, WAL so readers never block the writer, and migrations applied once each, in order,
/// recorded in <c>user_version</c>.
/// </summary>
public static class SqliteFiles
{
    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>An open connection. <paramref name="durable"/>: a commit is on disk (WAL fsynced)
    /// before it returns; otherwise a crash of the machine (not of the process) may lose the last
    /// commits, which logs and history afford.</summary>
    public static SqliteConnection Open(string connectionString, bool durable)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        Exec(connection, null, $"PRAGMA synchronous={(durable ? "FULL" : "NORMAL")}; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;");
        return connection;
    }

    /// <summary>Turns on WAL and applies the migrations the file has not had yet, each in its own
    /// transaction with the version it brings the file to.</summary>
    public static void Migrate(SqliteConnection writer, IReadOnlyList<string> migrations)
    {
        Exec(writer, null, "PRAGMA journal_mode=WAL;");
        for (var i = Version(writer); i < migrations.Count; i++)
        {
            using var tx = writer.BeginTransaction();
            Exec(writer, tx, migrations[i]);
            Exec(writer, tx, $"PRAGMA user_version={i + 1};");
            tx.Commit();
        }
    }

    public static int Version(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    static void Exec(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        using var command = c.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
