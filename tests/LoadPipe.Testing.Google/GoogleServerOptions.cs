namespace LoadPipe.Testing.Google;

/// <summary>Settings of a <see cref="GoogleProtocolServer"/>. Every property has a usable default.</summary>
public sealed class GoogleServerOptions
{
    /// <summary>TCP port on 127.0.0.1. Default 0: a free port chosen by the system.</summary>
    public int Port { get; set; }

    /// <summary>
    /// Folder for file contents and upload sessions. Default null: a fresh folder under the system temp folder,
    /// deleted when the server is disposed. A folder given here is kept.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>The clock for token and upload-session expiry. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Lifetime of an issued access token. Default 3599 s, as Google's token endpoint answers.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromSeconds(3599);

    /// <summary>Lifetime of a resumable upload session. Default one week, as Google documents.</summary>
    public TimeSpan UploadSessionLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>OAuth clients known from the start (client id -> client secret). More with <see cref="GoogleProtocolServer.AddClient"/>.</summary>
    public IDictionary<string, string> Clients { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
