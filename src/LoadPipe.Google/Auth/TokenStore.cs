using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LoadPipe.Core.Errors;

namespace LoadPipe.Google.Auth;

/// <summary>
/// The logins of `lp auth login`, one file per remote (`NAME.token`, the name percent-encoded) in
/// `LP_TOKEN_DIR`, else `$XDG_DATA_HOME/loadpipe/tokens/` (default ~/.local/share/loadpipe/tokens/). Each file is
/// the <see cref="StoredLogin"/> as JSON sealed with AES-256-GCM under the <see cref="SecretKey"/>:
/// <c>"LPT1" | nonce (12) | tag (16) | ciphertext</c>, with "LPT1" and the remote's name as associated data, so a file
/// renamed to another remote does not decrypt either. Files are written whole to a temporary file created with mode
/// 0600 and renamed over the old one: a reader sees the old login or the new one, never half of one.
/// <para>A user's sign-in (seed 003's users: `lp auth login NAME --user USER`) lives apart, in
/// <c>users/USER/NAME.token</c> (both percent-encoded), sealed with the user's name in the associated data too: a file
/// moved to another user's folder, or to the remote's default place, does not decrypt. Nothing falls back from a user's
/// sign-in to another's or to the default one.</para>
/// </summary>
public sealed class TokenStore
{
    public const string DirectoryVariable = "LP_TOKEN_DIR";
    private const string Extension = ".token";
    private static readonly byte[] Magic = "LPT1"u8.ToArray();
    private const int NonceLength = 12;
    private const int TagLength = 16;

    public TokenStore(string directory, SecretKey key)
    {
        Directory = directory;
        Key = key;
    }

    public string Directory { get; }

    public SecretKey Key { get; }

    /// <summary>The store and key the environment names: LP_TOKEN_DIR / XDG_DATA_HOME, LP_SECRET_KEY / XDG_CONFIG_HOME.</summary>
    public static TokenStore FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var directory = NonEmpty(environment(DirectoryVariable)) ?? Path.Combine(
            NonEmpty(environment("XDG_DATA_HOME")) ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"),
            "loadpipe", "tokens");
        return new TokenStore(directory, new SecretKey(SecretKey.DefaultKeyFile(environment), environment));
    }

    private const string UsersFolder = "users";

    public string PathFor(string remote, string? user = null) => user is null
        ? Path.Combine(Directory, Uri.EscapeDataString(remote) + Extension)
        : Path.Combine(Directory, UsersFolder, Uri.EscapeDataString(CheckUser(user)), Uri.EscapeDataString(remote) + Extension);

    public bool Contains(string remote, string? user = null) => File.Exists(PathFor(remote, user));

    /// <summary>A user's name as the store takes it: non-empty, printable, at most 200 characters. Usage error otherwise.</summary>
    public static string CheckUser(string user) =>
        user.Length is > 0 and <= 200 && !user.Any(char.IsControl) && user.Trim() == user
            ? user
            : throw new LoadPipeException(ErrorKind.Usage, $"bad user name '{user}': 1 to 200 printable characters, no leading or trailing space");

    /// <summary>The (remote, user) pairs with a stored login, users' after the defaults, without decrypting anything.</summary>
    public IReadOnlyList<(string Remote, string? User)> Logins()
    {
        var all = Remotes().Select(r => (r, (string?)null)).ToList();
        var users = Path.Combine(Directory, UsersFolder);
        if (!System.IO.Directory.Exists(users)) return all;
        foreach (var folder in System.IO.Directory.EnumerateDirectories(users).Order(StringComparer.Ordinal))
        {
            var user = Uri.UnescapeDataString(Path.GetFileName(folder));
            all.AddRange(System.IO.Directory.EnumerateFiles(folder, "*" + Extension)
                .Select(f => Uri.UnescapeDataString(Path.GetFileNameWithoutExtension(f))).Order(StringComparer.Ordinal).Select(r => (r, (string?)user)));
        }
        return all;
    }

    /// <summary>The remotes with a stored login, by name, without decrypting anything.</summary>
    public IReadOnlyList<string> Remotes() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "*" + Extension)
                .Select(f => Uri.UnescapeDataString(Path.GetFileNameWithoutExtension(f)))
                .Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>
    /// The login stored for <paramref name="remote"/>, or null when there is none. A file the key does not open is an
    /// <see cref="ErrorKind.Auth"/> error, never garbage.
    /// </summary>
    public StoredLogin? Load(string remote, string? user = null)
    {
        byte[] sealedBytes;
        try
        {
            sealedBytes = File.ReadAllBytes(PathFor(remote, user));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoadPipeException(ErrorKind.Auth, $"cannot read the stored token for remote '{remote}' ({e.Message})");
        }
        var json = Open(remote, user, sealedBytes);
        try
        {
            var login = JsonSerializer.Deserialize(json, StoredLoginJson.Default.StoredLogin);
            return login is not null && login.Remote == remote && login.User == user ? login : throw new JsonException();
        }
        catch (JsonException)
        {
            throw new LoadPipeException(ErrorKind.Auth, $"the stored token for remote '{remote}' is not a LoadPipe login: run lp auth login {remote}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>Encrypts and writes <paramref name="login"/> in place of the remote's previous one; creates the key on first use.</summary>
    public void Save(StoredLogin login)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(login, StoredLoginJson.Default.StoredLogin);
        try
        {
            var sealedBytes = Seal(login.Remote, login.User, json);
            var path = PathFor(login.Remote, login.User);
            SecretKey.CreatePrivateDirectory(Directory);
            if (login.User is not null)
            {
                SecretKey.CreatePrivateDirectory(Path.Combine(Directory, UsersFolder));
                SecretKey.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
            }
            var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            try
            {
                PrivateFile.Write(temporary, sealedBytes);
                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                File.Delete(temporary);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>Deletes the remote's login; false when there was none. Needs no key.</summary>
    public bool Delete(string remote, string? user = null)
    {
        var path = PathFor(remote, user);
        if (!File.Exists(path)) return false;
        File.Delete(path);
        return true;
    }

    private byte[] Seal(string remote, string? user, byte[] plaintext)
    {
        var output = new byte[Magic.Length + NonceLength + TagLength + plaintext.Length];
        Magic.CopyTo(output, 0);
        var nonce = output.AsSpan(Magic.Length, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(Key.Get(create: true), TagLength);
        aes.Encrypt(nonce, plaintext, output.AsSpan(Magic.Length + NonceLength + TagLength), output.AsSpan(Magic.Length + NonceLength, TagLength),
            AssociatedData(remote, user));
        return output;
    }

    private byte[] Open(string remote, string? user, byte[] sealedBytes)
    {
        if (sealedBytes.Length < Magic.Length + NonceLength + TagLength || !sealedBytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new LoadPipeException(ErrorKind.Auth, $"the stored token for remote '{remote}' is not a LoadPipe token file: run lp auth login {remote}");
        ReadOnlySpan<byte> key;
        try
        {
            key = Key.Get(create: false);
        }
        catch (LoadPipeException e)
        {
            throw new LoadPipeException(e.Kind, $"cannot decrypt the stored token for remote '{remote}': {e.Message}");
        }
        var plaintext = new byte[sealedBytes.Length - Magic.Length - NonceLength - TagLength];
        try
        {
            using var aes = new AesGcm(key, TagLength);
            aes.Decrypt(sealedBytes.AsSpan(Magic.Length, NonceLength), sealedBytes.AsSpan(Magic.Length + NonceLength + TagLength),
                sealedBytes.AsSpan(Magic.Length + NonceLength, TagLength), plaintext, AssociatedData(remote, user));
            return plaintext;
        }
        catch (CryptographicException)
        {
            throw new LoadPipeException(ErrorKind.Auth,
                $"cannot decrypt the stored token for remote '{remote}': wrong {SecretKey.Variable} or key file (the key in use is from {Key.Origin})");
        }
    }

    /// <summary>"LPT1" and the remote's name; for a user's sign-in, then a NUL and the user's name (a default sign-in's
    /// data stays what it was, so files stored before users existed still open).</summary>
    private static byte[] AssociatedData(string remote, string? user) =>
        user is null ? [.. Magic, .. Encoding.UTF8.GetBytes(remote)] : [.. Magic, .. Encoding.UTF8.GetBytes(remote), 0, .. Encoding.UTF8.GetBytes(user)];

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
