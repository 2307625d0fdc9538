using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.S3;

/// <summary>An `lp copy` to S3 killed (-9) in the middle of a multipart upload, once the server holds some parts.</summary>
public static class InterruptedUpload
{
    /// <summary>Kills <paramref name="lp"/>, a copy of one file to S3, once the upload in progress under
    /// <paramref name="prefix"/> holds <paramref name="parts"/> parts and the manifest has confirmed at least
    /// <paramref name="confirmedAtLeast"/> bytes (<paramref name="confirmedBytes"/> reads it). lp sends several parts
    /// at once and confirms them in order as they are acknowledged, so parts on the server alone prove nothing about
    /// the manifest.</summary>
    public static async Task KillAfterPartsAsync(LpProcess lp, string prefix, int parts, Func<Task<long>> confirmedBytes, long confirmedAtLeast)
    {
        await Eventually.ValueAsync(() => S3Remote.PartsUploadedAsync(prefix), n => n >= parts, TimeSpan.FromSeconds(60),
            n => $"the server holds {n} parts of the upload under {prefix}, waiting for {parts} (lp exited: {lp.HasExited})",
            giveUp: () => lp.HasExited);
        await Eventually.ValueAsync(async () => lp.HasExited ? -1 : await confirmedBytes(), n => n >= confirmedAtLeast, TimeSpan.FromSeconds(60),
            n => $"the manifest confirms {n} bytes, waiting for {confirmedAtLeast} (lp exited: {lp.HasExited})",
            giveUp: () => lp.HasExited);
        var killed = await lp.KillAsync();
        Assert.True(killed.ExitCode != 0, $"lp finished before it could be killed\n{killed}");
    }
}
