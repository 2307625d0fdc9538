using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Uploads;
using LoadPipe.Hosting.Tests.Support;
using LoadPipe.Manifest.Postgres;
using LoadPipe.Storage.Conformance;
using Npgsql;

namespace LoadPipe.Hosting.Tests.Uploads;

/// <summary>The push entry as a server sharing a PostgreSQL manifest runs it: the host's resolver over local disk, a
/// database of this test's own on LP_TEST_POSTGRES (every case of <see cref="UploadContractTests"/>, each service
/// instance another process).</summary>
public sealed class PostgresUploadTests : UploadContractTests
{
    private readonly HostFolder _folder = new();
    private readonly string _database = "lp_u_" + Guid.NewGuid().ToString("N")[..12];
    private LoadPipeHost? _host;

    private static string Server => Environment.GetEnvironmentVariable("LP_TEST_POSTGRES") is { Length: > 0 } server ? server
        : throw new InvalidOperationException("LP_TEST_POSTGRES is not set: run scripts/test.sh, which starts PostgreSQL, or export LP_TEST_POSTGRES with a connection string to one");

    private string ConnectionString => new NpgsqlConnectionStringBuilder(Server) { Database = _database }.ConnectionString;

    public override async Task InitializeAsync()
    {
        await using var c = new NpgsqlConnection(Server);
        await c.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", c);
        await create.ExecuteNonQueryAsync();
        _host = _folder.Host();
    }

    protected override async Task<IManifest> OpenManifestAsync() => await PostgresManifest.OpenAsync(ConnectionString);

    protected override LocationResolver Resolver => _host!.Resolver;

    protected override string Destination(string name) => _folder["out/" + name];

    protected override async Task<byte[]?> ReadObjectAsync(string name) =>
        File.Exists(Destination(name)) ? await File.ReadAllBytesAsync(Destination(name)) : null;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_host is not null) await _host.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using (var c = new NpgsqlConnection(Server))
        {
            await c.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", c);
            await drop.ExecuteNonQueryAsync();
        }
        _folder.Dispose();
    }
}

public sealed class CreateUploadsTests
{
    [Fact]
    public async Task CreateUploads_OnTheHostsManifest_AnUploadCompletesAndShowsAsItsTransfer()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host();
        var data = new byte[] { 1, 2, 3, 4, 5 };
        Upload done;
        await using (var uploads = await host.CreateUploadsAsync(new UploadServiceOptions { Command = "serve" }))
        {
            var upload = await uploads.CreateAsync(new NewUpload { Destination = host.Resolver.Resolve(folder["out/five.bin"]), Length = 5 });
            await uploads.AppendAsync(upload.Id, 0, new MemoryStream(data, 0, 2), AppendOptions.None);
            done = await uploads.AppendAsync(upload.Id, 2, new MemoryStream(data, 2, 3), AppendOptions.None);
        }

        var manifest = await host.ManifestAsync();
        var session = Assert.Single(await manifest.ListSessionsAsync(10).ToListAsync());
        var transfer = Assert.Single(await manifest.ListTransfersAsync(session.Id).ToListAsync());
        Assert.Equal(data, await File.ReadAllBytesAsync(folder["out/five.bin"]));
        Assert.Equal(("serve", SessionStatus.Completed, 1), (session.Command, session.Status, session.Files));
        Assert.Equal(("upload:" + done.Id, TransferStatus.Completed, done.Sha256, 5L), (transfer.Key.Source, transfer.Status, transfer.Sha256, transfer.OutputSize));
    }
}
