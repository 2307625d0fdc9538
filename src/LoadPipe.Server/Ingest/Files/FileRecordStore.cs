using System.Runtime.CompilerServices;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>
/// The ingest API's file records, kept in the manifest's keyed state (<see cref="IAdapterStateStore"/>, scope
/// <see cref="Scope"/>, one JSON value per file id): every `lp serve` sharing a PostgreSQL manifest sees the same
/// files, and `lp files` reads them without a server.
/// </summary>
public sealed class FileRecordStore(IAdapterStateStore state)
{
    public const string Scope = "ingest:files";

    /// <summary>The store over <paramref name="manifest"/>; both manifests implement the keyed state.</summary>
    public static FileRecordStore Over(IManifest manifest) =>
        new(manifest as IAdapterStateStore ?? throw new LoadPipeException(ErrorKind.Usage, $"the manifest {manifest.Description} keeps no keyed state"));

    /// <summary>Durable when it returns, power loss included: the record is what a 201 promises.</summary>
    public Task PutAsync(FileRecord record, CancellationToken cancellationToken = default) =>
        state.PutStateDurablyAsync(Scope, record.FileId, JsonSerializer.Serialize(record, IngestJson.Default.FileRecord), cancellationToken);

    public async Task<FileRecord?> GetAsync(string fileId, CancellationToken cancellationToken = default) =>
        await state.GetStateAsync(Scope, fileId, cancellationToken).ConfigureAwait(false) is { } json ? Read(json) : null;

    /// <summary>Durable when it returns, power loss included: a DELETE's 204 promises the file is gone for good.</summary>
    public Task<bool> DeleteAsync(string fileId, CancellationToken cancellationToken = default) =>
        state.DeleteStateDurablyAsync(Scope, fileId, cancellationToken);

    /// <summary>Every file, in the order of their ids.</summary>
    public async IAsyncEnumerable<FileRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var entry in state.ListStateAsync(Scope, "", cancellationToken).ConfigureAwait(false))
            yield return Read(entry.Value);
    }

    private static FileRecord Read(string json) =>
        JsonSerializer.Deserialize(json, IngestJson.Default.FileRecord) ?? throw new LoadPipeException(ErrorKind.Permanent, "a file record is empty");
}
