using LoadPipe.Core.Storage;

namespace LoadPipe.Core.Locations;

/// <summary>A resolved place: the storage that holds it and the path inside that storage.</summary>
/// <param name="Uri">The canonical text of the location, as the user wrote it: what the storage is asked for (a URL
/// keeps its query string, which may hold a signature). Never written to the manifest: <see cref="Key"/> is.</param>
/// <param name="IsFolderHint">The user wrote a trailing '/', so a file copied here keeps its own name.</param>
public sealed partial record Location(IStorage Storage, string Path, string Uri, bool IsFolderHint = false)
{
    /// <summary>The location's key in the manifest (transfer keys, a session's source and destination): the same text
    /// means the same place on every machine that shares the manifest. A local path is keyed with its host
    /// (<see cref="LocalKey"/>: set by the resolver), so that machine B never skips a file only machine A copied. It
    /// holds no secret: a URL's user info and fragment are left out, and so are its signature parameters
    /// (<see cref="IsSignatureParameter"/>), so that a URL signed again keys the same transfer.</summary>
    public string Key { get; init; } = KeyOf(Uri);

    /// <summary>This machine's name, as local keys name it.</summary>
    public static string ThisHost { get; } = Environment.MachineName.ToLowerInvariant();

    /// <summary>The key of a local absolute path: "file://HOST/abs/path", the path as it is (not escaped), so that the
    /// resolver reads it back (<see cref="LocationResolver"/> takes "file://HOST/..." of this host).</summary>
    public static string LocalKey(string fullPath) => "file://" + ThisHost + (fullPath.StartsWith('/') ? "" : "/") + fullPath;

    /// <summary>A key as shown to users: a local path of this machine as the path, anything else redacted.</summary>
    public static string Display(string key)
    {
        var local = "file://" + ThisHost + "/";
        if (!key.StartsWith(local, StringComparison.OrdinalIgnoreCase)) return Redact(key);
        var path = key[(local.Length - 1)..];
        return path.Length > 2 && path[2] == ':' ? path[1..] : path;
    }

    /// <summary>The location of <paramref name="relative"/> ('/'-separated) below this one.</summary>
    public Location Child(string relative)
    {
        var sep = Path.Length == 0 || Path.EndsWith('/') ? "" : "/";
        var uriSep = Uri.EndsWith('/') || Uri.EndsWith(':') ? "" : "/";
        var keySep = Key.EndsWith('/') || Key.EndsWith(':') ? "" : "/";
        return this with { Path = Path + sep + relative, Uri = Uri + uriSep + relative, Key = Key + keySep + relative, IsFolderHint = false };
    }

    /// <summary>The last path segment: the name a copied file keeps.</summary>
    public string Name
    {
        get
        {
            var p = Path.TrimEnd('/');
            var q = p.IndexOfAny(['?', '#']);
            if (q >= 0 && Uri.StartsWith("http", StringComparison.Ordinal)) p = p[..q];
            var slash = p.LastIndexOf('/');
            return System.Uri.UnescapeDataString(slash >= 0 ? p[(slash + 1)..] : p);
        }
    }

    /// <summary>The location for messages: no query string or user info, which may hold secrets.</summary>
    public override string ToString() => Redact(Uri);

    /// <summary>Drops user info, query and fragment from URLs; other text is returned as is.</summary>
    public static string Redact(string text)
    {
        if (!MayBeWebUrl(text) || !System.Uri.TryCreate(text, UriKind.Absolute, out var uri) || !IsWebScheme(uri.Scheme))
            return text;
        var builder = new UriBuilder(uri) { UserName = "", Password = "", Query = "", Fragment = "" };
        return builder.Uri.GetLeftPart(UriPartial.Path);
    }

    /// <summary>The manifest key of a location's text: for an http(s) URL, the URL without user info, fragment and
    /// signature parameters, the others in their order; other text as it is.</summary>
    public static string KeyOf(string text)
    {
        if (!MayBeWebUrl(text) || !System.Uri.TryCreate(text, UriKind.Absolute, out var uri) || !IsWebScheme(uri.Scheme))
            return text;
        var kept = uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !IsSignatureParameter(System.Uri.UnescapeDataString(p.Split('=', 2)[0])));
        var builder = new UriBuilder(uri) { UserName = "", Password = "", Query = string.Join('&', kept), Fragment = "" };
        return builder.Uri.AbsoluteUri;
    }

    /// <summary>False when the text cannot be a URL of a web scheme: the scheme a URL parse would find is what comes
    /// before its first ':'. A local path (no ':', or a scheme that is not one of the web's) then costs no parse, which
    /// a re-run pays twice per file of the tree (its source and destination, in the result of a settled file).</summary>
    private static bool MayBeWebUrl(string text)
    {
        var colon = text.IndexOf(':');
        if (colon <= 0) return false;
        // Whatever the parse might skip around or inside the scheme (blanks, control characters) is left out here too:
        // this may answer true for text the parse refuses, never false for a web URL.
        var scheme = text[..colon].Trim();
        if (scheme.AsSpan().IndexOfAnyInRange('\0', ' ') >= 0) scheme = string.Concat(scheme.Where(c => c > ' '));
        return IsWebScheme(scheme);
    }

    /// <summary>http, https, and a protocol spoken over them ("tus+https"): URLs that may carry secrets.</summary>
    private static bool IsWebScheme(string scheme) =>
        scheme.StartsWith("http", StringComparison.OrdinalIgnoreCase)
        || scheme.EndsWith("+http", StringComparison.OrdinalIgnoreCase) || scheme.EndsWith("+https", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for a query parameter that signs or authorises a URL rather than names what it points at: AWS
    /// (SigV2 and SigV4), Google Cloud Storage, Azure SAS, CloudFront and the common token names. Such values are
    /// secrets, and change each time the URL is signed again.</summary>
    public static bool IsSignatureParameter(string name) =>
        name.StartsWith("X-Amz-", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("X-Goog-", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase)
        || name.Contains("token", StringComparison.OrdinalIgnoreCase)
        || name.Contains("signature", StringComparison.OrdinalIgnoreCase)
        || name.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || name.Contains("password", StringComparison.OrdinalIgnoreCase)
        || SignatureParameters.Contains(name);

    private static readonly HashSet<string> SignatureParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        // AWS SigV2, Google's V2 signed URLs, CloudFront.
        "AWSAccessKeyId", "GoogleAccessId", "Expires", "Policy", "Key-Pair-Id",
        // Azure shared access signatures: the signature and what changes when it is made again (its times, version and
        // signing key); the permissions and resource type stay, as they name no secret.
        "sig", "se", "st", "sv", "skoid", "sktid", "skt", "ske", "sks", "skv", "ses",
        // API keys. A parameter that may name the content ("key" alone, "code") stays: leaving out what tells two
        // objects apart would give them one key.
        "api_key", "apikey", "access_key", "client_secret",
    };

    /// <summary>Every http(s) URL in a free text (an error message) redacted as <see cref="Redact"/> does: what the
    /// manifest stores of an error holds no token.</summary>
    public static string RedactUrls(string text) =>
        text.Contains("://", StringComparison.Ordinal) ? UrlInText().Replace(text, m => Redact(m.Value)) : text;

    [System.Text.RegularExpressions.GeneratedRegex(@"https?://[^\s'""<>)]+", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex UrlInText();
}
