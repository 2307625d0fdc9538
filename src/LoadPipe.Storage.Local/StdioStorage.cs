using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Local;

/// <summary>"-": reads standard input, writes standard output. Neither side can seek, so nothing resumes.</summary>
public sealed class StdioStorage(Func<Stream>? stdin = null, Func<Stream>? stdout = null) : IStorage, IWritableStorage
{
    private readonly Func<Stream> _stdin = stdin ?? Console.OpenStandardInput;
    private readonly Func<Stream> _stdout = stdout ?? Console.OpenStandardOutput;

    public string Description => "standard input/output";

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return new ObjectInfo { Path = "-" };
    }

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) =>
        Task.FromResult<ObjectInfo?>(new ObjectInfo { Path = "-" });

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        options.Offset == 0
            ? Task.FromResult(_stdin())
            : throw new LoadPipeException(ErrorKind.Permanent, "standard input cannot be read again");

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult<IWriteSession>(new StdoutSession(_stdout()));

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
                // A closed pipe (the reader exited) is final: retrying cannot reopen it.
                throw new LoadPipeException(ErrorKind.Permanent, $"standard output closed: {e.Message}", e);
            }
            Length += data.Length;
        }

        public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

        public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
        {
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            return new ObjectInfo { Path = "-", Size = Length };
        }

        public Task AbortAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
