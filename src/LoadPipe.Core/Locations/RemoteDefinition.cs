using LoadPipe.Core.Storage;
using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Locations;

/// <summary>One named remote from the configuration: its type and its snake_case settings.</summary>
/// <param name="Origin">Where it was defined ("config.yaml:12"), for error messages.</param>
public sealed record RemoteDefinition(string Name, string Type, IReadOnlyDictionary<string, string> Settings, string Origin = "")
{
    public string? Get(string key) => Settings.TryGetValue(key, out var v) ? v : null;

    public string Require(string key) => Get(key)
        ?? throw new LoadPipeException(ErrorKind.Usage, $"{Where}remote '{Name}' (type {Type}) needs '{key}'");

    public bool GetBool(string key, bool fallback) => Get(key) switch
    {
        null => fallback,
        "true" or "yes" or "1" => true,
        "false" or "no" or "0" => false,
        var v => throw new LoadPipeException(ErrorKind.Usage, $"{Where}remote '{Name}': '{key}' must be true or false, not '{v}'"),
    };

    private string Where => Origin.Length > 0 ? Origin + ": " : "";

    /// <summary>A remote's `timeout` setting: "30s", "2m", "500ms" or plain seconds; 0 for none (infinite). Null when the
    /// text is not such a duration, for the caller to name the remote in its error.</summary>
    public static TimeSpan? ParseTimeout(string text)
    {
        var s = text.Trim();
        var (number, unit) = s.EndsWith("ms", StringComparison.Ordinal) ? (s[..^2], 0.001)
            : s.EndsWith('s') ? (s[..^1], 1.0)
            : s.EndsWith('m') ? (s[..^1], 60.0)
            : (s, 1.0);
        if (!double.TryParse(number, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value * unit > int.MaxValue / 1000)
            return null;
        return value == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(value * unit);
    }
}

/// <summary>Makes a storage for one remote type ("local", "http", later "s3", "gdrive"...).</summary>
public interface IStorageFactory
{
    string Type { get; }

    /// <summary>The setting names this type understands; any other is reported as a mistake. "NAME.*" stands for a map
    /// (`NAME:` with keys under it), which the config gives as settings "NAME.KEY".</summary>
    IReadOnlySet<string> Settings { get; }

    /// <summary>True when "TYPE:path" works without a remote of that name in the config (s3: uses the AWS
    /// defaults from the environment). Default false.</summary>
    bool AllowsImplicitRemote => false;

    /// <summary>URL schemes of this type's own, written without a remote in the config ("tus+http"): the resolver hands
    /// the factory a remote named after the URL up to its last '/', whose <c>url</c> setting is that text, and the rest
    /// of the URL is the path. Default none.</summary>
    IReadOnlyCollection<string> UrlSchemes => [];

    IStorage Create(RemoteDefinition remote);

    /// <summary>
    /// What <paramref name="remote"/> points at, as the start of its locations' manifest keys (<see cref="Location.Key"/>):
    /// the path inside the remote is appended to it. The same text on every machine whose config points at the same
    /// place, whatever the remote is called there ("s3+https://host:9000/" for an S3 endpoint), read from the settings
    /// alone (no request), ending with '/', with a scheme of its own that starts with <see cref="Type"/> ("s3://",
    /// "s3+http://") so that the resolver takes it back (<see cref="LocationResolver"/>), and without any secret.
    /// Default null: the remote is keyed by its name, "NAME:path" (unless <see cref="KeyRootAsync"/> says otherwise).
    /// </summary>
    string? KeyRoot(RemoteDefinition remote) => null;

    /// <summary>
    /// As <see cref="KeyRoot"/>, for a type whose settings do not say what a remote points at (Google's "My Drive" is
    /// each account's own): the answer may need the store's service once, and is then kept where the next run finds it
    /// without a request (the manifest's adapter state). Same contract; errors as the remote's requests throw them
    /// (<see cref="ErrorKind.Auth"/> when it is not signed in). Default <see cref="KeyRoot"/>.
    /// </summary>
    ValueTask<string?> KeyRootAsync(RemoteDefinition remote, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(KeyRoot(remote));
}
