using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using Microsoft.Win32.SafeHandles;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Local;

/// <summary>
/// "-": reads standard input, writes standard output. A stream, not a place: its one object has no name and says
/// nothing of itself (no size, version or date: an unknown identity, so it is never skipped and never resumed), it is
/// read once from the start (<see cref="StorageFeatures.ReadOnce"/>), and what is written to it is kept nowhere the
/// engine could look (<see cref="StorageFeatures.KeepsNothing"/>; its sessions have no resume state).
/// </summary>
public sealed class StdioStorage(Func<Stream>? stdin = null, Func<Stream>? stdout = null) : IStorage, IWritableStorage, IHasFeatures
{
    private readonly Func<Stream> _stdin = stdin ?? Console.OpenStandardInput;
    private readonly Func<Stream> _stdout = stdout ?? OpenStandardOutput;

    public string Description => "standard input/output";

    public StorageFeatures Features { get; } = new() { Write = true, ReadOnce = true, KeepsNothing = true };

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return new ObjectInfo { Path = "-" };
    }

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) =>
        Task.FromResult<ObjectInfo?>(new ObjectInfo { Path = path });

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        options.Offset == 0
            ? Task.FromResult(_stdin())
            : throw new LoadPipeException(ErrorKind.Permanent, "standard input cannot be read again");

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult<IWriteSession>(new StdoutSession(_stdout()));

    /// <summary>
    /// Standard output as a plain file descriptor. The console's stream ignores EPIPE, so a reader that goes away
    /// (`lp pull big.bin | head -c 1M`) would look like a reader that took every byte; written through a FileStream, a
    /// closed pipe fails the write (the runtime ignores SIGPIPE, so the process is not killed by it either).
    /// </summary>
    private static Stream OpenStandardOutput() =>
        OperatingSystem.IsWindows() ? Console.OpenStandardOutput() : new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);

    private sealed class StdoutSession(Stream stdout) : IWriteSession
    {
        public string? ResumeState => null;
        public int ChunkAlignment => 1;
        public long Length { get; private set; }

        public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            try
            {
                await stdout.WriteAsync(data, cancellationToken).ConfigureAwait(false);
                await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw Closed(e);
            }
            Length += data.Length;
        }

        public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

        public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw Closed(e);
            }
            return new ObjectInfo { Path = "-", Size = Length };
        }

        // A closed pipe (the reader exited) is final: retrying cannot reopen it.
        private static LoadPipeException Closed(IOException e) =>
            new(ErrorKind.Permanent, $"standard output was closed by its reader before the end ({e.Message})", e);

        public Task AbortAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
