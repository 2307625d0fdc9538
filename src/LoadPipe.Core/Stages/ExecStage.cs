using System.Diagnostics;
using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Stages;

/// <summary>Pipes the bytes through any program (run by /bin/sh -c). Its output may differ between runs, so a
/// transfer through it restarts the file on resume. The program must read all of its input: one that stops before
/// the end (`head -c 10`) fails the file, as its output would be made of part of the source only.</summary>
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
        bool stoppedEarly;
        try
        {
            var feed = FeedAsync(input, process.StandardInput.BaseStream, cancellationToken);
            await process.StandardOutput.BaseStream.CopyToAsync(output, 1 << 17, cancellationToken).ConfigureAwait(false);
            stoppedEarly = await feed.ConfigureAwait(false);
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
        if (stoppedEarly)
            throw new LoadPipeException(ErrorKind.Permanent,
                $"stage {Spec}: the program stopped reading its input before the end: its output would be made of part of the file only");
    }

    /// <summary>Writes the input to the program; true when it closed its input while more was to come.</summary>
    private static async Task<bool> FeedAsync(Stream input, Stream stdin, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 17];
        try
        {
            int n;
            while ((n = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                await stdin.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (IOException)
        {
            // The program closed its input (like `head`) while bytes were still being written to it.
            return true;
        }
        finally
        {
            try { await stdin.DisposeAsync().ConfigureAwait(false); } catch (IOException) { }
        }
    }
}
