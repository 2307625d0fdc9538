using System.Collections.Concurrent;
using LoadPipe.Core.Sizes;
using LoadPipe.Core.Transfers;
using Spectre.Console;

namespace LoadPipe.Cli.Output;

/// <summary>
/// Shows a run on stderr: a live progress bar per file and in total when stderr is a terminal, one plain line
/// per finished file otherwise, nothing but errors with --quiet. Stdout stays free for data and --json.
/// </summary>
public sealed class ProgressReporter : ITransferObserver
{
    private readonly bool _quiet;
    private readonly bool _live;
    private readonly IAnsiConsole _console;
    private readonly ConcurrentDictionary<string, ProgressTask> _tasks = new();
    private ProgressContext? _context;
    private ProgressTask? _total;
    private long _planned;
    private long _plannedBytes;
    private long _finished;

    public ProgressReporter(bool quiet)
    {
        _quiet = quiet;
        _live = !quiet && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    }

    /// <summary>Runs <paramref name="work"/> with the live display around it when there is one.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        if (!_live) return await work().ConfigureAwait(false);
        T result = default!;
        await _console.Progress()
            .AutoClear(false)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                _context = ctx;
                _total = ctx.AddTask("[bold]total[/]", maxValue: 0);
                result = await work().ConfigureAwait(false);
                _total.StopTask();
            }).ConfigureAwait(false);
        return result;
    }

    public void FilePlanned(long size)
    {
        Interlocked.Increment(ref _planned);
        var bytes = Interlocked.Add(ref _plannedBytes, Math.Max(0, size));
        if (_total is null) return;
        lock (_total) _total.MaxValue = Math.Max(1, bytes);
        UpdateTotalDescription();
    }

    public void FileStarted(string name, long size, long resumedBytes)
    {
        if (_context is null) return;
        var task = _context.AddTask(Markup.Escape(Short(name)), maxValue: Math.Max(1, size));
        if (!task.IsIndeterminate && size < 0) task.IsIndeterminate = true;
        _tasks[name] = task;
    }

    private void UpdateTotalDescription() =>
        _total!.Description = $"[bold]total[/] {Interlocked.Read(ref _finished)}/{Interlocked.Read(ref _planned)} files";

    public void FileProgress(string name, long sourceBytes)
    {
        if (!_tasks.TryGetValue(name, out var task)) return;
        var delta = sourceBytes - task.Value;
        task.Value = sourceBytes;
        if (delta > 0) lock (_total!) _total.Increment(delta);
    }

    public void FileFinished(FileResult result)
    {
        var finished = Interlocked.Increment(ref _finished);
        if (_tasks.TryRemove(result.Destination, out var task))
        {
            var left = task.MaxValue - task.Value;
            task.Value = task.MaxValue;
            task.StopTask();
            if (left > 0) lock (_total!) _total.Increment(left);
        }
        else if (_total is not null && result.Outcome == FileOutcome.Skipped)
        {
            lock (_total) _total.Increment(Math.Max(0, result.Bytes));
        }
        if (_total is not null) UpdateTotalDescription();
        if (!_live && !_quiet && finished % 10_000 == 0)
            Console.Error.WriteLine($"progress: {finished}/{Interlocked.Read(ref _planned)} files");
        if (_quiet && result.Outcome != FileOutcome.Failed) return;
        // A re-run of a large tree would print a line per unchanged file: only the live display counts them.
        if (!_live && result.Outcome == FileOutcome.Skipped && result.Reports.Count == 0) return;
        var line = result.Outcome switch
        {
            FileOutcome.Failed => "error: " + SummaryWriter.Describe(result),
            FileOutcome.Skipped when result.Reports.ContainsKey("duplicate_of") =>
                $"skipped {result.Destination} (the same content is already there)" + string.Concat(result.Reports.Select(r => $" {r.Key}={r.Value}")),
            FileOutcome.Skipped => $"skipped {result.Destination} (complete and unchanged)",
            _ => $"copied  {result.Destination} ({ByteSize.Format(result.Bytes)}, {ByteSize.Format(result.BytesSent)} sent{(result.BytesResumed > 0 ? $", {ByteSize.Format(result.BytesResumed)} resumed" : "")})"
                 + string.Concat(result.Reports.Select(r => $" {r.Key}={r.Value}")),
        };
        if (_live) _console.MarkupLine(Markup.Escape(line));
        else Console.Error.WriteLine(line);
    }

    public void Warning(string message)
    {
        if (_live) _console.MarkupLine("[yellow]warning:[/] " + Markup.Escape(message));
        else Console.Error.WriteLine("warning: " + message);
    }

    private static string Short(string name) => name.Length <= 40 ? name : "..." + name[^37..];
}
