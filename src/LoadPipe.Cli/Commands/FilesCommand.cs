using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Sizes;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Files;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp files list` and `lp files show ID`: the files the ingest API of `lp serve` holds (docs/ingest.md), read
/// from the manifest it shares, with no server running.</summary>
public static class FilesCommand
{
    public static Command Create()
    {
        var list = new Command("list", "Every file the ingest API holds: id, element, size, type, upload time, name");
        list.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var records = FileRecordStore.Over(await session.Host.ManifestAsync(ct).ConfigureAwait(false));
            var count = 0;
            await foreach (var f in records.ListAsync(ct).ConfigureAwait(false))
            {
                count++;
                Console.Out.WriteLine(session.Json
                    ? JsonSerializer.Serialize(f, IngestJson.Default.FileRecord)
                    : string.Create(CultureInfo.InvariantCulture,
                        $"{f.FileId}  {f.StorageElementId,-8} {ByteSize.Format(f.SizeBytes),10}  {f.MimeType,-24} {f.UploadedAt:yyyy-MM-dd HH:mm:ss}  {f.OriginalFilename}"));
            }
            if (count == 0 && !session.Json && !session.Quiet) Console.Error.WriteLine("no files yet (upload with POST /api/files/upload on lp serve)");
            return 0;
        }));

        var id = new Argument<string>("id") { Description = "The file's id (file_id)" };
        var show = new Command("show", "One file's record: where it is stored, its hashes, owner and metadata") { id };
        show.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var records = FileRecordStore.Over(await session.Host.ManifestAsync(ct).ConfigureAwait(false));
            var fileId = parse.GetValue(id)!;
            var f = await records.GetAsync(fileId, ct).ConfigureAwait(false)
                ?? throw new LoadPipeException(ErrorKind.Usage, $"no file {fileId} (lp files list shows them)");
            if (session.Json)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(f, IngestJson.Default.FileRecord));
                return 0;
            }
            var lines = new (string, string?)[]
            {
                ("file_id", f.FileId), ("original_filename", f.OriginalFilename), ("storage_element_id", f.StorageElementId),
                ("storage_filename", f.StorageFilename), ("size_bytes", f.SizeBytes.ToString(CultureInfo.InvariantCulture)), ("mime_type", f.MimeType),
                ("md5_hash", f.Md5Hash), ("sha256_hash", f.Sha256Hash), ("owner", f.Owner), ("uploaded_at", f.UploadedAt.ToString("O", CultureInfo.InvariantCulture)),
                ("metadata", f.Metadata?.GetRawText()),
            };
            foreach (var (name, value) in lines)
                if (value is not null) Console.Out.WriteLine($"{name + ":",-20}{value}");
            return 0;
        }));
        return new Command("files", "The files of the ingest API (lp serve): list, show ID") { list, show };
    }
}
