using LoadPipe.Core.Storage;

namespace LoadPipe.Core.Locations;

/// <summary>A resolved place: the storage that holds it and the path inside that storage.</summary>
/// <param name="Uri">The canonical text of the location, used as its key in the manifest.</param>
/// <param name="IsFolderHint">The user wrote a trailing '/', so a file copied here keeps its own name.</param>
public sealed record Location(IStorage Storage, string Path, string Uri, bool IsFolderHint = false)
{
    public bool IsStdio => Uri == "-";

    /// <summary>The location of <paramref name="relative"/> ('/'-separated) below this one.</summary>
    public Location Child(string relative)
    {
        var sep = Path.Length == 0 || Path.EndsWith('/') ? "" : "/";
        var uriSep = Uri.EndsWith('/') || Uri.EndsWith(':') ? "" : "/";
        return this with { Path = Path + sep + relative, Uri = Uri + uriSep + relative, IsFolderHint = false };
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
        if (!System.Uri.TryCreate(text, UriKind.Absolute, out var uri) || !uri.Scheme.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            return text;
        var builder = new UriBuilder(uri) { UserName = "", Password = "", Query = "", Fragment = "" };
        return builder.Uri.GetLeftPart(UriPartial.Path);
    }
}
