using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using LoadPipe.Core.Errors;
using LoadPipe.Fetch.Processing;
using LoadPipe.Fetch.Serialization;

namespace LoadPipe.Fetch.Plugins;

/// <summary>
/// `plugin:COMMAND`: a processor in another process, in any language, speaking JSON lines over its stdin and stdout
/// (docs/plugins.md): one request per file with the <see cref="FileData"/> and the downloaded file's path, one answer,
/// <c>{"result": ...}</c> or <c>{"error": "..."}</c>. Up to --processors copies run at once, each
/// started on first use and kept for the next files. A copy that exits, answers with something that is not a JSON
/// object, or gives no answer within the timeout fails that file and is killed; the next file starts a
/// new one. This is how a processor is added to the native build, which cannot load .NET assemblies at run time.
/// </summary>
public sealed class PluginProcessor : IFileProcessor, IAsyncDisposable
{
    /// <summary>The version of the protocol in each request's "protocol" field.</summary>
    public const int ProtocolVersion = 1;

    private readonly string _command;
    private readonly TimeSpan _timeout;
    private readonly Channel<PluginInstance?> _slots;
    private readonly List<PluginInstance> _started = [];

    /// <param name="command">The program and its arguments, as a shell reads them (`sh -c`).</param>
    public PluginProcessor(string command, int instances, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(instances, 1);
        _command = command;
        _timeout = timeout;
        _slots = Channel.CreateBounded<PluginInstance?>(instances);
        for (var i = 0; i < instances; i++) _slots.Writer.TryWrite(null);
        // Named by its script or program ("python3 plugins/line_stats.py" -> line_stats): the last word that is not a flag.
        var program = command.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(w => !w.StartsWith('-')) ?? "";
        Name = Path.GetFileNameWithoutExtension(program.Trim('\'', '"')) is { Length: > 0 } n ? n : "plugin";
    }

    public string Name { get; }

    public bool NeedsPath => true;

    public async ValueTask<JsonNode?> ProcessAsync(FileData file, CancellationToken cancellationToken = default)
    {
        var instance = await _slots.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (instance is null || instance.HasExited) instance = Start();
            var answer = await instance.CallAsync(Request(file), _timeout, cancellationToken).ConfigureAwait(false);
            if (answer is null)
            {
                instance.Kill();
                instance = null;
                throw new LoadPipeException(ErrorKind.Permanent, $"plugin {Name} exited while processing the file (it is restarted for the next)");
            }
            PluginResponse response;
            try
            {
                response = JsonSerializer.Deserialize(answer, FetchJson.Default.PluginResponse) ?? throw new JsonException("not an object");
            }
            catch (JsonException)
            {
                instance.Kill();
                instance = null;
                throw new LoadPipeException(ErrorKind.Permanent, $"plugin {Name} answered with a line that is not a JSON object: {Truncate(answer)}");
            }
            if (response.Error is { } error)
                throw new LoadPipeException(ErrorKind.Permanent, $"plugin {Name}: {(error.GetValueKind() == JsonValueKind.String ? error.GetValue<string>() : error.ToJsonString())}");
            return response.Result;
        }
        catch (TimeoutException)
        {
            instance?.Kill();
            instance = null;
            throw new LoadPipeException(ErrorKind.Permanent, $"plugin {Name} gave no answer within {_timeout.TotalSeconds:0.###}s (it is restarted for the next file)");
        }
        catch (OperationCanceledException)
        {
            // The plugin may be half way through this file: a fresh one takes the next.
            instance?.Kill();
            instance = null;
            throw;
        }
        finally
        {
            _slots.Writer.TryWrite(instance);
        }
    }

    private PluginInstance Start()
    {
        var instance = PluginInstance.Start(_command, Name);
        lock (_started) _started.Add(instance);
        return instance;
    }

    private static string Request(FileData file) => JsonSerializer.Serialize(new PluginRequest
    {
        Protocol = ProtocolVersion, Type = "process", Id = file.Id, Name = file.Name, Url = file.Url, Path = file.Path, Size = file.Size,
        Hashes = file.Hashes,
    }, FetchJson.Default.PluginRequest);

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "...";

    public async ValueTask DisposeAsync()
    {
        List<PluginInstance> started;
        lock (_started) started = [.. _started];
        foreach (var instance in started) await instance.StopAsync().ConfigureAwait(false);
    }

    /// <summary>One running copy of the plugin: one request at a time.</summary>
    private sealed class PluginInstance
    {
        private readonly Process _process;
        private readonly StreamWriter _stdin;
        private readonly StreamReader _stdout;

        private PluginInstance(Process process)
        {
            _process = process;
            _stdin = new StreamWriter(process.StandardInput.BaseStream, new UTF8Encoding(false)) { NewLine = "\n", AutoFlush = false };
            _stdout = new StreamReader(process.StandardOutput.BaseStream, Encoding.UTF8);
        }

        public bool HasExited => _process.HasExited;

        public static PluginInstance Start(string command, string name)
        {
            // `exec` makes the plugin the shell's process itself, so killing it on a timeout kills the plugin.
            var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("exec " + command);
            try
            {
                return new PluginInstance(Process.Start(info) ?? throw new LoadPipeException(ErrorKind.Usage, $"plugin {name}: could not start '{command}'"));
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new LoadPipeException(ErrorKind.Usage, $"plugin {name}: could not start '{command}': {e.Message}");
            }
        }

        /// <summary>The answer line, or null when the plugin exited before answering.</summary>
        /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>.</exception>
        public async Task<string?> CallAsync(string request, TimeSpan timeout, CancellationToken cancellationToken)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                await _stdin.WriteLineAsync(request.AsMemory(), deadline.Token).ConfigureAwait(false);
                await _stdin.FlushAsync(deadline.Token).ConfigureAwait(false);
                while (true)
                {
                    var line = await _stdout.ReadLineAsync(deadline.Token).ConfigureAwait(false);
                    // A plugin may print blank lines; the answer is the next line with something on it.
                    if (line is null || line.Trim().Length > 0) return line;
                }
            }
            catch (IOException)
            {
                return null;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException();
            }
        }

        public void Kill()
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            _process.Dispose();
        }

        /// <summary>Closes stdin (the plugin's signal to end) and waits a moment for it; kills it after.</summary>
        public async Task StopAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _stdin.Close();
                    using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await _process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
            }
            Kill();
        }
    }
}
