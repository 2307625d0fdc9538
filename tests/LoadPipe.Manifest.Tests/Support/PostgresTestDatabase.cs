using Npgsql;

namespace LoadPipe.Manifest.Tests.Support;

/// <summary>
/// A database of its own for one test (<c>lp_t_&lt;random&gt;</c>) on the server named by LP_TEST_POSTGRES, dropped
/// afterwards. Advisory locks are per database, so tests running in parallel never see each other's locks.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    public const string Variable = "LP_TEST_POSTGRES";

    private readonly string _server;

    private PostgresTestDatabase(string server, string name)
    {
        _server = server;
        Name = name;
        var b = new NpgsqlConnectionStringBuilder(server) { Database = name };
        ConnectionString = b.ConnectionString;
        b.Pooling = false;
        UnpooledConnectionString = b.ConnectionString;
    }

    public string Name { get; }

    /// <summary>A <c>Host=...;Database=lp_t_...</c> connection string, as a user would give to --manifest.</summary>
    public string ConnectionString { get; }

    /// <summary>For connections whose Close must end the server session (and its advisory locks) at once.</summary>
    public string UnpooledConnectionString { get; }

    public NpgsqlConnectionStringBuilder Builder => new(ConnectionString);

    /// <summary>Creates the database; fails (never skips) when LP_TEST_POSTGRES is not set.</summary>
    public static async Task<PostgresTestDatabase> CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(server))
            throw new InvalidOperationException(
                $"{Variable} is not set, and the PostgreSQL manifest tests need a server: run scripts/test.sh, which starts one, "
                + $"or set {Variable} to a connection string such as Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres");
        var database = new PostgresTestDatabase(server, "lp_t_" + Guid.NewGuid().ToString("N"));
        await database.AdminAsync($"CREATE DATABASE {database.Name}");
        return database;
    }

    public async Task<NpgsqlConnection> OpenUnpooledAsync()
    {
        var connection = new NpgsqlConnection(UnpooledConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Runs <paramref name="sql"/> in this database and returns the first column of its first row.</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = await OpenUnpooledAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return await cmd.ExecuteScalarAsync();
    }

    public async ValueTask DisposeAsync() => await AdminAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");

    private async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_server) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }
}
