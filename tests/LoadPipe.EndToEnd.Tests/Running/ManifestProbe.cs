using System.Text.Json;

namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary>Reads what the manifest recorded through `lp status --json`, as a user would.</summary>
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
}
