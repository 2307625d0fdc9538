using System.Diagnostics;
using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Stages;

/// <summary>Pipes the bytes through any program (run by /bin/sh -c). Its output may differ between runs, so a
/// transfer through it restarts the file on resume.</summary>
public sealed class ExecStage(string command) : IStage
{
    public string Spec => "exec:" + command;

    public StageResume Resume => StageResume.Restart;

    public async Task RunAsync(Stream input, Stream output, StageContext context, CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        using var process = Process.Start(info)
            ?? throw new LoadPipeException(ErrorKind.Permanent, $"stage {Spec}: could not start");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            var feed = FeedAsync(input, process.StandardInput.BaseStream, cancellationToken);
            await process.StandardOutput.BaseStream.CopyToAsync(output, 1 << 17, cancellationToken).ConfigureAwait(false);
            await feed.ConfigureAwait(false);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            throw;
        }
        if (process.ExitCode != 0)
        {
            var err = (await stderr.ConfigureAwait(false)).Trim().Split('\n')[0];
            throw new LoadPipeException(ErrorKind.Permanent, $"stage {Spec}: exited with code {process.ExitCode}{(err.Length > 0 ? ": " + err : "")}");
        }
    }

    private static async Task FeedAsync(Stream input, Stream stdin, CancellationToken cancellationToken)
    {
        try
        {
            await input.CopyToAsync(stdin, 1 << 17, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The program closed its input early (like `head`): what it wrote is its answer.
        }
        finally
        {
            try { await stdin.DisposeAsync().ConfigureAwait(false); } catch (IOException) { }
        }
    }
}
