using Npgsql;

namespace LoadPipe.Server.Tests.Support;

/// <summary>A database of one test's own (<c>lp_srv_&lt;random&gt;</c>) on the server named by LP_TEST_POSTGRES
/// (scripts/test.sh starts one), dropped afterwards, so that tests never share a manifest.</summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly string _server;
    private readonly string _name;

    private PostgresDatabase(string server, string name)
    {
        _server = server;
        _name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>What a server is given as its manifest.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates the database; fails (never skips) when LP_TEST_POSTGRES is not set.</summary>
    public static async Task<PostgresDatabase> CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable("LP_TEST_POSTGRES") is { Length: > 0 } s ? s
            : throw new InvalidOperationException("LP_TEST_POSTGRES is not set: run scripts/test.sh, which starts PostgreSQL");
        var database = new PostgresDatabase(server, "lp_srv_" + Guid.NewGuid().ToString("N")[..12]);
        await database.AdminAsync($"CREATE DATABASE {database._name}");
        return database;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await AdminAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
    }

    private async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_server) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
