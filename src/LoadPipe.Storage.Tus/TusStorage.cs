using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using Microsoft.Extensions.Logging;
using Polly;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// A tus 1.0 server's creation endpoint as a write-only store (<see cref="TusProtocol"/>): each object written is one
/// upload, created with POST (its length, or a deferred one for output through stages) and its name in
/// <c>Upload-Metadata</c>, and sent in PATCH requests (<see cref="TusWriteSession"/>). The upload URL is the write
/// session's resume state, so a new process continues at the server's <c>Upload-Offset</c>.
/// <list type="bullet">
/// <item>Identity: none. tus names uploads by URL, not by path, and can neither list them nor send one back:
/// <see cref="StatAsync"/> says the endpoint is a folder (so a file copied to it keeps its name), and knows a path
/// only when this adapter finished an upload for it (<see cref="TusFinishedUploads"/>, in the manifest) that the server
/// still holds whole; <see cref="ListAsync"/> and <see cref="OpenReadAsync"/> refuse.</item>
/// <item>Visibility: what the server does with a finished upload is its own (a file beside its metadata, an object at a
/// destination); an upload is finished when the server's offset reaches its length.</item>
/// <item>The server is asked once what it offers (OPTIONS): checksum, termination, creation-defer-length and
/// creation-with-upload are used where offered.</item>
/// </list>
/// Requests the engine does not retry itself (OPTIONS, the HEAD of a resume, DELETE) are retried here with the
/// project's retry policy; PATCH and POST fail at once, for the engine to retry (a PATCH after a failed one first
/// asks HEAD where the upload stands).
/// </summary>
public sealed class TusStorage : IStorage, IWritableStorage, IResumableWriter
{
    private readonly TusStorageOptions _options;
    private readonly TusProtocol _protocol;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _logger;
    private readonly TusFinishedUploads? _finished;
    private readonly Lock _gate = new();
    private Task<TusServerInfo>? _server;

    internal TusStorage(TusStorageOptions options, HttpClient http, ResiliencePipeline retry, ILogger logger, TusFinishedUploads? finished)
    {
        _options = options;
        _protocol = new TusProtocol(http, options.Endpoint, options.BearerToken, options.Timeout, options.Headers);
        _retry = retry;
        _logger = logger;
        _finished = finished;
    }

    public string Description => "tus " + Endpoint;

    /// <summary>The creation endpoint, for messages (no user info or query).</summary>
    private string Endpoint => Location.Redact(_options.Endpoint.AbsoluteUri);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) =>
        throw new LoadPipeException(ErrorKind.Usage, $"{Description}: a tus server lists no uploads (it can only be written to)");

    /// <summary>The endpoint is a folder. A path is there when this adapter finished an upload for it (recorded in the
    /// manifest) and the server still holds that upload whole (HEAD); else null.</summary>
    public async Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        if (path.Trim('/').Length == 0) return new ObjectInfo { Path = path, IsDirectory = true };
        if (_finished is null || await _finished.FindAsync(path, cancellationToken).ConfigureAwait(false) is not { } finished) return null;
        var upload = new Uri(finished.Upload);
        var status = await _retry.ExecuteAsync(async ct => await _protocol.HeadAsync(upload, What(path), ct).ConfigureAwait(false), cancellationToken)
            .ConfigureAwait(false);
        return status is { } s && s.Length == finished.Length && s.Offset == s.Length ? new ObjectInfo { Path = path, Size = s.Length } : null;
    }

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        throw new LoadPipeException(ErrorKind.Usage, $"{Description}: a tus server can only be written to");

    /// <summary>A no-op: a path is only the upload's metadata (filename, relativePath).</summary>
    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Creates the upload ("Creation"): with its length, or deferred ("creation-defer-length") when the
    /// engine does not know it; refused before any request when the server cannot take it. Where the server offers
    /// creation-with-upload the POST waits for the first write and carries it (one request fewer per object, and a
    /// small object is one request); the upload URL is then the session's resume state from that write on.</summary>
    public async Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default)
    {
        var what = What(path);
        var server = await ServerAsync(cancellationToken).ConfigureAwait(false);
        if (!server.Offers("creation"))
            throw new LoadPipeException(ErrorKind.Permanent, $"{what}: the server offers no creation extension, so no upload can be made on it");
        if (request.ExpectedSize < 0 && !server.Offers("creation-defer-length"))
            throw new LoadPipeException(ErrorKind.Permanent,
                $"{what}: the length is not known before the end (output of stages), and the server offers no creation-defer-length");
        if (server.MaxSize is { } max && request.ExpectedSize > max)
            throw new LoadPipeException(ErrorKind.Permanent, $"{what}: {request.ExpectedSize} bytes, more than the {max} the server takes (Tus-Max-Size)");
        var metadata = TusMetadata.For(path, request.ContentType, request.Metadata);
        var creation = new TusCreation(request.ExpectedSize, metadata);
        if (server.Offers("creation-with-upload"))
            return new TusWriteSession(_protocol, creation, path, server, what, _logger, _finished);
        var (upload, _) = await _protocol.CreateAsync(request.ExpectedSize, metadata, ReadOnlyMemory<byte>.Empty, null, what, cancellationToken).ConfigureAwait(false);
        _logger.UploadCreated(what, request.ExpectedSize < 0 ? "a deferred length" : request.ExpectedSize.ToString(CultureInfo.InvariantCulture) + " bytes",
            server.ChecksumAlgorithm ?? "none");
        return new TusWriteSession(_protocol, new TusResumeState(upload.AbsoluteUri, path, request.ExpectedSize), server, what, _logger, _finished);
    }

    /// <summary>
    /// Continues the upload in <paramref name="resumeState"/> after <paramref name="confirmedLength"/> confirmed bytes,
    /// at the offset the server gives (HEAD). Null, so that the engine starts the file again, when the state is not a
    /// tus upload of this path, the server no longer knows the upload, or it holds fewer bytes than were confirmed.
    /// Bytes it holds past the confirmed length are kept and skipped (<see cref="TusWriteSession"/>): tus cannot
    /// drop them.
    /// </summary>
    public async Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request,
        CancellationToken cancellationToken = default)
    {
        var what = What(path);
        if (TusResumeState.TryParse(resumeState) is not { } state || state.Path != path)
        {
            _logger.CannotResume(what, "the saved state is not a tus upload of this file");
            return null;
        }
        var upload = new Uri(state.Upload);
        var status = await _retry.ExecuteAsync(async ct => await _protocol.HeadAsync(upload, what, ct).ConfigureAwait(false), cancellationToken)
            .ConfigureAwait(false);
        string? why = status switch
        {
            null => "the server no longer knows the upload (expired or terminated)",
            _ when status.Offset < confirmedLength => $"the server holds {status.Offset} bytes, fewer than the {confirmedLength} confirmed",
            _ when state.Length >= 0 && status.Length >= 0 && status.Length != state.Length =>
                $"the server says the upload's length is {status.Length}, not the {state.Length} it was created with",
            _ => null,
        };
        if (why is not null)
        {
            _logger.CannotResume(what, why);
            return null;
        }
        var server = await ServerAsync(cancellationToken).ConfigureAwait(false);
        _logger.ResumingUpload(what, confirmedLength, status!.Offset);
        return new TusWriteSession(_protocol, state, server, what, _logger, _finished, confirmedLength, status);
    }

    /// <summary>What the server offers, asked once (OPTIONS); a failed question is asked again next time.</summary>
    internal async Task<TusServerInfo> ServerAsync(CancellationToken cancellationToken)
    {
        Task<TusServerInfo> discovery;
        lock (_gate) discovery = _server ??= DiscoverAsync();
        try
        {
            return await discovery.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (discovery.IsFaulted)
        {
            lock (_gate)
                if (_server == discovery) _server = null;
            throw;
        }
    }

    private async Task<TusServerInfo> DiscoverAsync()
    {
        var info = await _retry.ExecuteAsync(async ct => await _protocol.DiscoverAsync(Description, ct).ConfigureAwait(false), CancellationToken.None)
            .ConfigureAwait(false);
        _logger.ServerDiscovered(Endpoint, string.Join(",", info.Versions), string.Join(",", info.Extensions.Order(StringComparer.Ordinal)),
            info.MaxSize?.ToString(CultureInfo.InvariantCulture) ?? "none", string.Join(",", info.ChecksumAlgorithms));
        return info;
    }

    /// <summary>The object for messages: the endpoint and the path, never the upload URL.</summary>
    private string What(string path) => $"{Description}: {path}";
}
