using System.Text.Json;
using LoadPipe.Core.Storage;
using LoadPipe.Server.Ingest.StorageElements;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>
/// The `attr.json` sidecar beside each stored object (`NAME.attr.json`): the file's record, so that an element's
/// folder alone tells what each object is, as the seed's storage elements keep it. Written durably: it is part of what
/// the upload's 201 promises.
/// </summary>
public sealed class Sidecars(StorageElement element)
{
    public const string Suffix = ".attr.json";

    public static string NameOf(string storageFilename) => storageFilename + Suffix;

    public Task WriteAsync(FileRecord record, CancellationToken cancellationToken) => element.RunAsync(async ct =>
    {
        var writer = element.Location.Storage as IWritableStorage
            ?? throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Usage, $"storage element {element.Id} cannot be written to");
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, IngestJson.Default.FileRecord);
        await using var session = await writer.BeginWriteAsync(Path(record), new WriteRequest { ExpectedSize = bytes.Length, ContentType = "application/json" }, ct)
            .ConfigureAwait(false);
        await session.WriteFinalAsync(bytes, ct).ConfigureAwait(false);
        // Durable, its name included, before the upload is answered: on a local element, an fsync of the file and one of
        // its folder after the rename, shared with the other uploads committing into that folder.
        await session.CommitDurablyAsync(ct).ConfigureAwait(false);
        return true;
    }, cancellationToken).AsTask();

    public Task RemoveAsync(FileRecord record, CancellationToken cancellationToken) => element.RunAsync(async ct =>
        element.Location.Storage is IObjectRemover remover && await remover.RemoveAsync(Path(record), ct).ConfigureAwait(false),
        cancellationToken).AsTask();

    private string Path(FileRecord record) => element.Location.Child(NameOf(record.StorageFilename)).Path;
}
