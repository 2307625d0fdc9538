using System.Security.Cryptography;
using LoadPipe.Core.Errors;

namespace LoadPipe.Google.Auth;

/// <summary>
/// The 256-bit key that encrypts the token store: `LP_SECRET_KEY` (base64 of exactly 32 bytes, e.g. the output of
/// `openssl rand -base64 32`) when set, else the key file (`$XDG_CONFIG_HOME/loadpipe/secret.key`, the same base64
/// text on one line), which is created with mode 0600 the first time a token is stored. Like ssh with its private
/// keys, a key file other users may read or write is refused.
/// </summary>
public sealed class SecretKey
{
    public const string Variable = "LP_SECRET_KEY";
    public const int Length = 32;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OthersBits = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly Func<string, string?> _environment;
    private readonly Lock _gate = new();
    private byte[]? _key;

    /// <param name="keyFile">Where the key file lives (or will be created).</param>
    /// <param name="environment">Reads environment variables (LP_SECRET_KEY); the process's by default.</param>
    public SecretKey(string keyFile, Func<string, string?>? environment = null)
    {
        KeyFile = keyFile;
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    public string KeyFile { get; }

    /// <summary>Where the key comes from, for messages: "LP_SECRET_KEY" or the key file's path.</summary>
    public string Origin => FromVariable is not null ? Variable : KeyFile;

    /// <summary>$XDG_CONFIG_HOME/loadpipe/secret.key (default ~/.config/loadpipe/secret.key).</summary>
    public static string DefaultKeyFile(Func<string, string?> environment)
    {
        var config = NonEmpty(environment("XDG_CONFIG_HOME"))
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(config, "loadpipe", "secret.key");
    }

    private string? FromVariable => NonEmpty(_environment(Variable));

    /// <summary>
    /// The key bytes. Throws a <see cref="ErrorKind.Usage"/> error when LP_SECRET_KEY or the key file is malformed,
    /// an <see cref="ErrorKind.Auth"/> error when the key file is open to other users, and, unless
    /// <paramref name="create"/>, an Auth error when there is no key at all.
    /// </summary>
    public ReadOnlySpan<byte> Get(bool create)
    {
        lock (_gate)
        {
            if (_key is not null) return _key;
            if (FromVariable is { } text)
                return _key = Decode(text) ?? throw new LoadPipeException(ErrorKind.Usage,
                    $"{Variable} must be base64 of {Length} random bytes (make one with: openssl rand -base64 {Length})");
            if (File.Exists(KeyFile)) return _key = ReadKeyFile();
            if (!create)
                throw new LoadPipeException(ErrorKind.Auth, $"no secret key: {Variable} is not set and {KeyFile} does not exist");
            return _key = CreateKeyFile();
        }
    }

    /// <summary>True when a key is available without creating one.</summary>
    public bool Exists => FromVariable is not null || File.Exists(KeyFile);

    private byte[] ReadKeyFile()
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(KeyFile);
            if ((mode & OthersBits) != 0)
                throw new LoadPipeException(ErrorKind.Auth,
                    $"key file {KeyFile} is open to other users (mode {Octal(mode)}): run chmod 600 {KeyFile}");
        }
        string text;
        try
        {
            text = File.ReadAllText(KeyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoadPipeException(ErrorKind.Auth, $"key file {KeyFile}: cannot read ({e.Message})");
        }
        return Decode(text) ?? throw new LoadPipeException(ErrorKind.Usage,
            $"key file {KeyFile} must hold base64 of {Length} bytes on one line (make one with: openssl rand -base64 {Length})");
    }

    /// <summary>Writes a new random key to a private temporary file and links it into place; when another process
    /// won the race, its key is the one used.</summary>
    private byte[] CreateKeyFile()
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(KeyFile))!;
        CreatePrivateDirectory(folder);
        var key = RandomNumberGenerator.GetBytes(Length);
        var temporary = Path.Combine(folder, $".secret.key.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            PrivateFile.Write(temporary, System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
            try
            {
                File.Move(temporary, KeyFile, overwrite: false);
                return key;
            }
            catch (IOException) when (File.Exists(KeyFile))
            {
                return ReadKeyFile();
            }
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Base64 (standard or URL-safe, padding optional) of exactly <see cref="Length"/> bytes, else null.</summary>
    internal static byte[]? Decode(string text)
    {
        var s = text.Trim().Replace('-', '+').Replace('_', '/');
        if (s.Length % 4 != 0) s = s.PadRight(s.Length + (4 - s.Length % 4), '=');
        var buffer = new byte[Length + 3];
        return Convert.TryFromBase64String(s, buffer, out var written) && written == Length ? buffer[..Length] : null;
    }

    internal static void CreatePrivateDirectory(string folder)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, OwnerOnly | UnixFileMode.UserExecute);
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}

/// <summary>Files only their owner may read: created with mode 0600 from the start, never chmod-ed after the fact.</summary>
internal static class PrivateFile
{
    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }
}
