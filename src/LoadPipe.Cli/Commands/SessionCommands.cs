using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Notifications;
using LoadPipe.Core.Sizes;
using LoadPipe.Core.Transfers;
using LoadPipe.Hosting.Retries;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp sessions`, `lp retry SESSION`, `lp notify SESSION URL`: seed 004's sessions and retries.</summary>
public static class SessionCommands
{

    public static Command Sessions()
    {
        var project = new Option<string?>("--project") { Description = "Only this project's sessions" };
        var limit = new Option<int>("--limit") { Description = "How many sessions to show", DefaultValueFactory = _ => 50, CustomParser = NumberArguments.Whole<int> };
        var command = new Command("sessions", "Every run, with its counts and state") { project, limit };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var manifest = await session.Host.ManifestAsync(ct).ConfigureAwait(false);
            var wanted = parse.GetValue(project);
            var shown = 0;
            await foreach (var listed in manifest.ListSessionsAsync(int.MaxValue, ct).ConfigureAwait(false))
            {
                if (wanted is not null && listed.Project != wanted) continue;
                if (shown++ == parse.GetValue(limit)) break;
                var s = await manifest.WithLivenessAsync(listed, ct).ConfigureAwait(false);
                if (session.Json) Console.Out.WriteLine(JsonSerializer.Serialize(SessionReport.From(s), NotificationJson.Default.SessionReport));
                else
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{s.Id,6} {s.StartedAt:yyyy-MM-dd HH:mm:ss} {s.Project ?? "-",-12} {s.Status.Name(),-11} {s.Files,7} files {s.FilesSkipped,6} skipped {s.FilesFailed,5} failed {ByteSize.Format(s.BytesSent),10} sent  {Location.Display(s.Destination)}"));
            }
            return 0;
        }));
        return command;
    }

    public static Command Retry()
    {
        var sessionId = new Argument<long>("session") { Description = "The session whose failed files to copy again", CustomParser = NumberArguments.Whole<long> };
        var auto = new Option<bool>("--auto") { Description = "Keep retrying in rounds, with exponential backoff between them" };
        var rounds = new Option<int>("--max-rounds") { Description = "Rounds with --auto (default 3)", DefaultValueFactory = _ => 3, CustomParser = NumberArguments.Whole<int> };
        var delay = new Option<double>("--round-delay") { Description = "Seconds before the second round; doubles each round (default 10)", DefaultValueFactory = _ => 10, CustomParser = NumberArguments.Number };
        var flags = new TransferFlags();
        var command = new Command("retry", "Copy a session's failed (and interrupted) files again") { sessionId, auto, rounds, delay };
        flags.AddTo(command);
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var id = parse.GetValue(sessionId);
            var request = new RetryRequest(id, flags.Read(parse), flags.ReadMetadata(parse))
            {
                MaxRounds = parse.GetValue(auto) ? Math.Max(1, parse.GetValue(rounds)) : 1,
                FirstDelay = TimeSpan.FromSeconds(parse.GetValue(delay)),
            };
            var (after, retried, remaining) = await session.Host.Retries.RunAsync(request, new RetryOutput(session), ct).ConfigureAwait(false);
            if (!retried && !session.Quiet) Console.Error.WriteLine($"session {id}: no failed files to retry");
            await NotifyIfAskedAsync(session, flags, parse, after, ct).ConfigureAwait(false);
            // Files a later run completed are done, though the session's own record still shows them failed.
            return remaining == 0 ? 0 : SummaryWriter.ExitCode(after.Status);
        }));
        return command;
    }

    /// <summary>The rounds on stderr, each copy's progress and summary as `lp copy` shows them.</summary>
    private sealed class RetryOutput(CliSession session) : IRetryRoundsObserver
    {
        private readonly ProgressReporter _reporter = new(session.Quiet || session.Json);

        public ITransferObserver Files => _reporter;

        public void RoundWaiting(int round, int maxRounds, int failedFiles, TimeSpan wait)
        {
            if (!session.Quiet) Console.Error.WriteLine($"round {round} of {maxRounds} in {wait.TotalSeconds:0}s: {failedFiles} files still failed");
        }

        public Task<TransferSummary> RunCopyAsync(Func<Task<TransferSummary>> copy) => _reporter.RunAsync(copy);

        public void CopyFinished(TransferSummary summary) => SummaryWriter.Write(summary, session.Json, session.Quiet, Console.Out);
    }

    public static Command Notify()
    {
        var sessionId = new Argument<long>("session") { Description = "The session to report", CustomParser = NumberArguments.Whole<long> };
        var url = new Argument<string>("url") { Description = "Where to POST the session summary (JSON)" };
        var command = new Command("notify", "POST a session's summary as JSON to a URL") { sessionId, url };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var manifest = await session.Host.ManifestAsync(ct).ConfigureAwait(false);
            var record = await manifest.GetSessionAsync(parse.GetValue(sessionId), ct).ConfigureAwait(false)
                ?? throw new LoadPipeException(ErrorKind.Usage, $"session {parse.GetValue(sessionId)} does not exist (see lp sessions)");
            await SendAsync(session, parse.GetValue(url)!, record, ct).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    /// <summary>Sends the session summary to --on-complete, if given. A failure is reported but does not undo the copy.</summary>
    internal static async Task NotifyIfAskedAsync(CliSession session, TransferFlags flags, ParseResult parse, SessionRecord record, CancellationToken cancellationToken)
    {
        if (parse.GetValue(flags.OnComplete) is not { } url) return;
        try
        {
            await SendAsync(session, url, record, cancellationToken).ConfigureAwait(false);
        }
        catch (LoadPipeException e) when (e.Kind != ErrorKind.Usage)
        {
            Console.Error.WriteLine("warning: the transfer is done but the notification failed: " + e.Message);
        }
    }

    private static async Task SendAsync(CliSession session, string url, SessionRecord record, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            throw new LoadPipeException(ErrorKind.Usage, $"'{Location.Redact(url)}' is not a URL");
        await session.Host.NotifyAsync(uri, record, cancellationToken).ConfigureAwait(false);
    }
}
