using System.IO.Pipelines;
using LoadPipe.Core.Stages;

namespace LoadPipe.Fetch.Pipeline;

/// <summary>
/// The --process stages between a download and its output: the download writes to <see cref="Input"/>, each stage
/// runs on its own task reading the one before through a pipe, and the last writes to the output. A download that
/// resumes mid-file only goes on writing: the stages see one unbroken stream.
/// </summary>
internal sealed class StageChain
{
    private readonly Task _running;
    private readonly PipeWriter? _first;

    private StageChain(Stream input, PipeWriter? first, Task running)
    {
        Input = input;
        _first = first;
        _running = running;
    }

    public Stream Input { get; }

    public static StageChain Create(IReadOnlyList<IStage> stages, Stream output, CancellationToken cancellationToken)
    {
        if (stages.Count == 0) return new StageChain(output, null, Task.CompletedTask);
        var options = new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19);
        var pipes = stages.Select(_ => new Pipe(options)).ToList();
        var tasks = new List<Task>();
        for (var i = 0; i < stages.Count; i++)
        {
            var stage = stages[i];
            var reader = pipes[i].Reader;
            var next = i + 1 < stages.Count ? pipes[i + 1].Writer : null;
            tasks.Add(Task.Run(async () =>
            {
                Exception? error = null;
                try
                {
                    await using var from = reader.AsStream();
                    if (next is null) await stage.RunAsync(from, output, new StageContext(), cancellationToken).ConfigureAwait(false);
                    else
                    {
                        await using var to = next.AsStream(leaveOpen: true);
                        await stage.RunAsync(from, to, new StageContext(), cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (Exception e)
                {
                    error = e;
                    throw;
                }
                finally
                {
                    if (next is not null) await next.CompleteAsync(error).ConfigureAwait(false);
                }
            }, cancellationToken));
        }
        var first = pipes[0].Writer;
        return new StageChain(first.AsStream(leaveOpen: true), first, Task.WhenAll(tasks));
    }

    /// <summary>Ends the input (with <paramref name="error"/> when the download failed) and waits for the stages.</summary>
    public async Task CompleteAsync(Exception? error = null)
    {
        if (_first is not null) await _first.CompleteAsync(error).ConfigureAwait(false);
        await _running.ConfigureAwait(false);
    }
}
