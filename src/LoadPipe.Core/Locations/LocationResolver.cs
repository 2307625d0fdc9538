using System.Text.RegularExpressions;
using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Locations;

/// <summary>
/// Turns what the user typed into a <see cref="Location"/>: "-" (stdin/stdout), "http(s)://...", "file://...", a URL
/// of a scheme a factory claims (<see cref="IStorageFactory.UrlSchemes"/>: "tus+https://..."), "NAME:path" for a
/// configured remote, anything else a local path. rclone's remote syntax is the model: a word followed by ':' is always
/// a remote (write "./a:b" for a local file with a colon). A remote's locations are keyed by what it points at when its
/// type says (<see cref="IStorageFactory.KeyRootAsync"/>): such a key ("s3://bucket/key") is taken back to the configured
/// remote that points there, as `lp retry` needs.
/// <para>Fronts call <see cref="ResolveAsync"/>: a remote whose key root needs a request (a Drive rooted at My Drive asks
/// which account it signs in to, once) is asked without blocking a thread. <see cref="Resolve"/> waits for it.</para>
/// </summary>
public sealed partial class LocationResolver
{
    private readonly Dictionary<string, IStorageFactory> _factories;
    private readonly Dictionary<string, IStorageFactory> _schemes;
    private readonly IReadOnlyDictionary<string, RemoteDefinition> _remotes;
    private readonly Dictionary<string, Storage.IStorage> _created = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task<string?>> _keyRoots = new(StringComparer.Ordinal);

    public LocationResolver(IEnumerable<IStorageFactory> factories, IReadOnlyDictionary<string, RemoteDefinition>? remotes = null)
    {
        _factories = factories.ToDictionary(f => f.Type, StringComparer.Ordinal);
        _schemes = _factories.Values.SelectMany(f => f.UrlSchemes.Select(s => (Scheme: s, Factory: f)))
            .ToDictionary(p => p.Scheme, p => p.Factory, StringComparer.OrdinalIgnoreCase);
        _remotes = remotes ?? new Dictionary<string, RemoteDefinition>();
        foreach (var remote in _remotes.Values) Validate(remote);
    }

    public IReadOnlyCollection<string> Types => _factories.Keys;

    /// <summary>As <see cref="Resolve"/>, awaiting the key roots <paramref name="text"/> needs (its remote's, or every
    /// remote's that may point at a key) rather than blocking on them.</summary>
    public async ValueTask<Location> ResolveAsync(string text, CancellationToken cancellationToken = default)
    {
        var (remotes, isKey) = RemotesKeying(text);
        foreach (var remote in remotes)
        {
            try { await KeyRootOfAsync(remote, cancellationToken).ConfigureAwait(false); }
            catch (LoadPipeException) when (isKey) { } // A remote that cannot say where it points is passed over (RemoteOfKey).
        }
        return Resolve(text);
    }

    /// <summary>What the user typed as a <see cref="Location"/>; waits for a key root that needs a request (see
    /// <see cref="ResolveAsync"/>).</summary>
    public Location Resolve(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new LoadPipeException(ErrorKind.Usage, "empty location");
        // Standard input or output: one nameless object (an empty path) of a store of its own, which tells the
        // engine what it is through its features and what it says of the object, not through this text.
        if (text == "-")
            return new Location(Storage("-", () => Factory("stdio", text).Create(new RemoteDefinition("-", "stdio", Empty))), "", "-");

        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
                throw new LoadPipeException(ErrorKind.Usage, $"'{text}' is not a valid URL");
            var origin = uri.GetLeftPart(UriPartial.Authority);
            var storage = Storage(origin, () => Factory("http", text).Create(
                new RemoteDefinition(origin, "http", new Dictionary<string, string> { ["url"] = origin + "/" })));
            return new Location(storage, uri.PathAndQuery.TrimStart('/'), uri.AbsoluteUri, text.EndsWith('/'));
        }

        if (_schemes.Count > 0 && SchemePrefix().Match(text) is { Success: true } scheme && _schemes.TryGetValue(scheme.Groups[1].Value, out var owner))
            return OwnScheme(text, owner);

        if (text.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            // A local key as the manifest holds it (lp retry): a file of this host, its path not escaped.
            var rest = text["file://".Length..];
            var hostEnd = rest.IndexOf('/', StringComparison.Ordinal);
            var host = hostEnd < 0 ? rest : rest[..hostEnd];
            if (host.Length > 0 && !host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            {
                if (!host.Equals(Location.ThisHost, StringComparison.OrdinalIgnoreCase) || hostEnd < 0)
                    throw new LoadPipeException(ErrorKind.Usage, $"'{text}' is a file of the machine '{host}', not of this one ('{Location.ThisHost}')");
                var path = rest[hostEnd..];
                return Local(path.Length > 2 && path[2] == ':' ? path[1..] : path, text.EndsWith('/'));
            }
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || !uri.IsFile)
                throw new LoadPipeException(ErrorKind.Usage, $"'{text}' is not a valid file:// URI");
            return Local(uri.LocalPath, text.EndsWith('/'));
        }

        if (KeyScheme().IsMatch(text))
        {
            // A remote's key, as the manifest holds it: the remote of this config that points there.
            var (keyed, root) = RemoteOfKey(text)
                ?? throw new LoadPipeException(ErrorKind.Usage,
                    $"no remote in the config points at '{text}': define one under 'remotes:' (for a local file write ./{text})");
            return RemoteLocation(keyed, text[root.Length..].TrimStart('/'), text.EndsWith('/'));
        }

        var m = RemotePrefix().Match(text);
        if (m.Success)
        {
            var name = m.Groups[1].Value;
            var remote = RemoteNamed(name)
                ?? throw new LoadPipeException(ErrorKind.Usage,
                    $"unknown remote '{name}' in '{text}': define it under 'remotes:' in the config file (for a local file with a colon in its name write ./{text})");
            return RemoteLocation(remote, text[(m.Length)..].TrimStart('/'), text.EndsWith('/'));
        }

        return Local(text, text.EndsWith('/') || text.EndsWith(Path.DirectorySeparatorChar));
    }

    /// <summary>The configured remote of that name, or the implicit one of the type of that name (s3:), or null.</summary>
    private RemoteDefinition? RemoteNamed(string name) =>
        _remotes.TryGetValue(name, out var remote) ? remote
        : _factories.TryGetValue(name, out var implicitType) && implicitType.AllowsImplicitRemote ? new RemoteDefinition(name, name, Empty)
        : null;

    private Location RemoteLocation(RemoteDefinition remote, string path, bool folder)
    {
        var storage = Storage("remote:" + remote.Name, () => Factory(remote.Type, remote.Name + ":" + path).Create(remote));
        var location = new Location(storage, path, remote.Name + ":" + path, folder || path.Length == 0);
        return KeyRootOf(remote) is { } root ? location with { Key = Location.KeyOf(root + path) } : location;
    }

    /// <summary>The remotes whose key roots resolving <paramref name="text"/> needs: the one it names, or, for a key,
    /// those of a type that may have written it (a key root starts with its type).</summary>
    private (IEnumerable<RemoteDefinition> Remotes, bool IsKey) RemotesKeying(string text)
    {
        if (text == "-" || text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || text.StartsWith("file://", StringComparison.OrdinalIgnoreCase)
            || (SchemePrefix().Match(text) is { Success: true } scheme && _schemes.ContainsKey(scheme.Groups[1].Value)))
            return ([], false);
        if (KeyScheme().IsMatch(text)) return (KeyCandidates(text), true);
        var m = RemotePrefix().Match(text);
        return (m.Success && RemoteNamed(m.Groups[1].Value) is { } named ? [named] : [], false);
    }

    /// <summary>The remote's key root (<see cref="IStorageFactory.KeyRootAsync"/>), waited for; null: keyed by its name.</summary>
    private string? KeyRootOf(RemoteDefinition remote) => KeyRootOfAsync(remote, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>The remote's key root, asked once per process (a failure is asked again next time).</summary>
    private async Task<string?> KeyRootOfAsync(RemoteDefinition remote, CancellationToken cancellationToken)
    {
        Task<string?>? pending;
        lock (_keyRoots)
        {
            if (!_keyRoots.TryGetValue(remote.Name, out pending))
                _keyRoots[remote.Name] = pending = Factory(remote.Type, remote.Name + ":").KeyRootAsync(remote, CancellationToken.None).AsTask();
        }
        try
        {
            return await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (pending.IsFaulted || pending.IsCanceled)
        {
            lock (_keyRoots)
            {
                if (_keyRoots.TryGetValue(remote.Name, out var cached) && cached == pending) _keyRoots.Remove(remote.Name);
            }
            throw;
        }
    }

    /// <summary>The remote whose key root <paramref name="key"/> starts with (the longest, when roots nest), among the
    /// configured remotes and the implicit ones; null when none. A remote whose settings are wrong is passed over: it
    /// points nowhere yet, and says so when it is used.</summary>
    private (RemoteDefinition Remote, string Root)? RemoteOfKey(string key)
    {
        (RemoteDefinition Remote, string Root)? best = null;
        foreach (var remote in KeyCandidates(key))
        {
            string? root;
            try { root = KeyRootOf(remote); }
            catch (LoadPipeException) { continue; }
            if (root is not null && key.StartsWith(root, StringComparison.Ordinal) && (best is null || root.Length > best.Value.Root.Length))
                best = (remote, root);
        }
        return best;
    }

    /// <summary>The configured and implicit remotes of a type <paramref name="key"/>'s scheme starts with.</summary>
    private IEnumerable<RemoteDefinition> KeyCandidates(string key) =>
        _remotes.Values.Concat(_factories.Values
                .Where(f => f.AllowsImplicitRemote && !_remotes.ContainsKey(f.Type))
                .Select(f => new RemoteDefinition(f.Type, f.Type, Empty)))
            .Where(r => key.StartsWith(r.Type, StringComparison.Ordinal));

    /// <summary>A URL of a scheme <paramref name="owner"/> claims: its storage is made for the URL up to the last '/'
    /// of its path (one per such prefix), and the rest is the path in it, so that a location and its key resolve alike.</summary>
    private Location OwnScheme(string text, IStorageFactory owner)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new LoadPipeException(ErrorKind.Usage, $"'{Location.Redact(text)}' is not a valid URL");
        if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            throw new LoadPipeException(ErrorKind.Usage,
                $"'{Location.Redact(text)}': a {uri.Scheme} URL takes no user info, query or fragment; put credentials in a remote of type {owner.Type} in the config file");
        var slash = uri.AbsolutePath.LastIndexOf('/');
        var prefix = uri.GetLeftPart(UriPartial.Authority) + uri.AbsolutePath[..(slash + 1)];
        var path = Uri.UnescapeDataString(uri.AbsolutePath[(slash + 1)..]);
        var storage = Storage(owner.Type + ":" + prefix, () => owner.Create(
            new RemoteDefinition(prefix, owner.Type, new Dictionary<string, string> { ["url"] = prefix })));
        return new Location(storage, path, text, path.Length == 0);
    }

    private Location Local(string path, bool folder)
    {
        var full = Path.GetFullPath(path);
        var storage = Storage("local", () => Factory("local", path).Create(new RemoteDefinition("local", "local", Empty)));
        return new Location(storage, full, full, folder) { Key = Location.LocalKey(full) };
    }

    private Storage.IStorage Storage(string key, Func<Storage.IStorage> create)
    {
        lock (_created)
        {
            if (!_created.TryGetValue(key, out var s)) _created[key] = s = create();
            return s;
        }
    }

    private IStorageFactory Factory(string type, string text) =>
        _factories.TryGetValue(type, out var f) ? f
            : throw new LoadPipeException(ErrorKind.Usage, $"'{text}': remote type '{type}' is not supported (known: {string.Join(", ", _factories.Keys.Where(k => k != "stdio").Order())})");

    private void Validate(RemoteDefinition remote)
    {
        var where = remote.Origin.Length > 0 ? remote.Origin + ": " : "";
        if (!_factories.TryGetValue(remote.Type, out var factory) || remote.Type == "stdio")
            throw new LoadPipeException(ErrorKind.Usage,
                $"{where}remote '{remote.Name}': unknown type '{remote.Type}' (known: {string.Join(", ", _factories.Keys.Where(k => k != "stdio").Order())})");
        foreach (var key in remote.Settings.Keys)
            if (!factory.Settings.Contains(key) && !(key.IndexOf('.', StringComparison.Ordinal) is > 0 and var dot && factory.Settings.Contains(key[..dot] + ".*")))
                throw new LoadPipeException(ErrorKind.Usage,
                    $"{where}remote '{remote.Name}': unknown setting '{key}' for type {remote.Type} (known: {string.Join(", ", factory.Settings.Order())})");
    }

    private static readonly Dictionary<string, string> Empty = new();

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9+.\-]*)://")]
    private static partial Regex SchemePrefix();

    [GeneratedRegex(@"^([A-Za-z0-9_][A-Za-z0-9_.\-]*):(?!//)")]
    private static partial Regex RemotePrefix();

    /// <summary>"scheme://": a remote's key (http, https and file are taken before).</summary>
    [GeneratedRegex(@"^[a-z][a-z0-9+.\-]*://")]
    private static partial Regex KeyScheme();
}
