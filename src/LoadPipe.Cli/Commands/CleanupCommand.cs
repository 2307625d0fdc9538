using System.CommandLine;
using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Uploads;

namespace LoadPipe.Cli.Commands;

/// <summary>
/// `lp cleanup [--older-than 24h] [--dry-run]`: aborts the unfinished write sessions this manifest started
/// (stale S3 multipart uploads, local partial files) that have not moved for a while, and forgets them.
/// </summary>
public static class CleanupCommand
{
    public static Command Create()
    {
        var olderThan = new Option<string>("--older-than") { Description = "Only sessions idle this long: 30m, 12h, 7d (default 24h)", DefaultValueFactory = _ => "24h" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be aborted, abort nothing" };
        var command = new Command("cleanup", "Abort stale unfinished uploads this manifest started") { olderThan, dryRun };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var idle = Duration(parse.GetValue(olderThan)!);
            var manifest = await session.Host.ManifestAsync(ct).ConfigureAwait(false);
            var cutoff = DateTimeOffset.UtcNow - idle;
            int aborted = 0, failed = 0;
            await foreach (var t in manifest.ListTransfersAsync(null, ct).ConfigureAwait(false))
            {
                // An open upload's session is the upload's, swept when it expires (IUploads.ListExpiredAsync).
                if (t.Status == TransferStatus.Completed || t.SinkState is null || t.UpdatedAt > cutoff || UploadRows.IsUploadSource(t.Key.Source)) continue;
                var where = Location.Display(t.Key.Destination);
                if (parse.GetValue(dryRun))
                {
                    Console.Out.WriteLine($"would abort {where} ({t.BytesConfirmed} bytes confirmed, idle since {t.UpdatedAt:yyyy-MM-dd HH:mm})");
                    continue;
                }
                await using var held = await manifest.TryLockAsync(t.Key, ct).ConfigureAwait(false);
                if (held is null) continue;
                try
                {
                    var destination = await session.Host.Resolver.ResolveAsync(t.Key.Destination, ct).ConfigureAwait(false);
                    if (destination.Storage is IResumableWriter writer
                        && await writer.ResumeWriteAsync(destination.Path, t.SinkState, 0, new WriteRequest(), ct).ConfigureAwait(false) is { } open)
                    {
                        await using (open.ConfigureAwait(false)) await open.AbortAsync(ct).ConfigureAwait(false);
                    }
                    // As listed: a process that took the transfer since then fences this off (TransferFencedException).
                    await manifest.SetSinkStateAsync(t.Lease, null, ct).ConfigureAwait(false);
                    await manifest.FailTransferAsync(t.Lease, "aborted by lp cleanup", ct).ConfigureAwait(false);
                    Console.Out.WriteLine($"aborted {where}");
                    aborted++;
                }
                catch (LoadPipeException e)
                {
                    Console.Error.WriteLine($"could not abort {where}: {e.Message}");
                    failed++;
                }
            }
            if (!session.Quiet) Console.Error.WriteLine($"{aborted} aborted, {failed} could not be aborted");
            return failed == 0 ? 0 : 1;
        }));
        return command;
    }

    internal static TimeSpan Duration(string text)
    {
        var unit = text.Length > 0 ? text[^1] : ' ';
        if (double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n >= 0)
        {
            switch (unit)
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        }
        throw new LoadPipeException(ErrorKind.Usage, $"--older-than '{text}': give a number and a unit s, m, h or d (e.g. 24h)");
    }
}
