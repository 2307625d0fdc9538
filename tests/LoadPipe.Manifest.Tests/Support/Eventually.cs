namespace LoadPipe.Manifest.Tests.Support;

/// <summary>Waits on another process or a server to act (a killed holder's lock to go), not on a clock of our own.</summary>
public static class Eventually
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>Calls <paramref name="attempt"/> until it returns non-null, or returns null after <see cref="Timeout"/>.</summary>
    public static async Task<T?> NotNullAsync<T>(Func<Task<T?>> attempt) where T : class
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (await attempt() is { } result) return result;
            if (DateTime.UtcNow > deadline) return null;
            await Task.Delay(50);
        }
    }
}
