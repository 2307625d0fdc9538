using System.Text.Json;

namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary>Reads what the manifest recorded through `lp status --json`, as a user would (and, for polling, directly).</summary>
public static class ManifestProbe
{
    /// <summary>The sessions, newest first.</summary>
    public static async Task<IReadOnlyList<JsonElement>> SessionsAsync(Sandbox sandbox) =>
        (await sandbox.LpAsync("status", "--json")).AssertExitCode(0).JsonLines;

    /// <summary>The transfers of one session.</summary>
    public static async Task<IReadOnlyList<JsonElement>> TransfersAsync(Sandbox sandbox, long session) =>
        (await sandbox.LpAsync("status", session.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json")).AssertExitCode(0).JsonLines;

    /// <summary>The bytes the destination confirmed for the only transfer of the newest session.</summary>
    public static async Task<long> ConfirmedBytesOfLastSessionAsync(Sandbox sandbox)
    {
        var session = (await SessionsAsync(sandbox))[0].GetProperty("session").GetInt64();
        var transfer = Assert.Single(await TransfersAsync(sandbox, session));
        return transfer.GetProperty("bytes_confirmed").GetInt64();
    }

    /// <summary>The bytes sent the newest session of the sandbox's SQLite manifest has recorded so far, read directly (as
    /// <see cref="ConfirmedBytesAsync"/>); 0 before there is one.</summary>
    public static Task<long> SessionBytesSentAsync(Sandbox sandbox) =>
        ScalarAsync(sandbox, "SELECT COALESCE((SELECT bytes_sent FROM sessions ORDER BY id DESC LIMIT 1), 0)");

    /// <summary>The most bytes any transfer in the sandbox's SQLite manifest has confirmed, read directly (read-only,
    /// beside the running lp) so a test can poll it many times a second; 0 before the manifest exists.</summary>
    public static Task<long> ConfirmedBytesAsync(Sandbox sandbox) =>
        ScalarAsync(sandbox, "SELECT COALESCE(MAX(bytes_confirmed), 0) FROM transfers");

    private static async Task<long> ScalarAsync(Sandbox sandbox, string sql)
    {
        if (!File.Exists(sandbox.Manifest)) return 0;
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={sandbox.Manifest};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        try
        {
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0; // the schema is not there yet
        }
    }
}
