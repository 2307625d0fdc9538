using Npgsql;

namespace LoadPipe.EndToEnd.Tests.Postgres;

/// <summary>
/// A database of one test's own (<c>lp_e2e_&lt;random&gt;</c>) on the server named by LP_TEST_POSTGRES (scripts/test.sh
/// starts one and exports it), dropped afterwards, so parallel tests never share manifests or advisory locks.
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    public const string Variable = "LP_TEST_POSTGRES";

    private readonly string _server;

    private PostgresDatabase(string server, string name)
    {
        _server = server;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>"Host=...;Port=...;Username=...;Database=lp_e2e_...": what a user gives to --manifest.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates the database; fails (never skips) when LP_TEST_POSTGRES is not set.</summary>
    public static async Task<PostgresDatabase> CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(server))
            throw new InvalidOperationException(
                $"{Variable} is not set: run scripts/test.sh, which starts PostgreSQL, or set {Variable} to a connection string "
                + "such as Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres");
        var database = new PostgresDatabase(server, "lp_e2e_" + Guid.NewGuid().ToString("N"));
        await database.AdminAsync($"CREATE DATABASE {database.Name}");
        return database;
    }

    /// <summary>The most bytes any transfer in this database has confirmed (0 before the schema exists).</summary>
    public async Task<long> ConfirmedBytesAsync()
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COALESCE(MAX(bytes_confirmed), 0) FROM transfers WHERE to_regclass('transfers') IS NOT NULL", connection);
        try
        {
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return 0;
        }
    }

    /// <summary>Advisory locks held in this database, by any connection (lp's transfer and session locks).</summary>
    public async Task<long> AdvisoryLocksAsync()
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync() => await AdminAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");

    private async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_server) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
