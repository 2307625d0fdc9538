using System.Text.RegularExpressions;
using LoadPipe.Core.Errors;
using Npgsql;

namespace LoadPipe.Manifest.Postgres;

/// <summary>
/// Reads where a PostgreSQL manifest lives: a libpq URL (<c>postgres://user:pass@host:port/db?sslmode=require</c>, or
/// <c>postgresql://</c>) or an Npgsql connection string (<c>Host=...;Username=...;Database=...</c>). Every message it
/// makes leaves the password out.
/// </summary>
internal static partial class PostgresTarget
{
    /// <summary>True for the forms <see cref="Parse"/> reads; anything else is a SQLite path.</summary>
    public static bool Recognizes(string value) => IsUrl(value) || HostKey().IsMatch(value);

    public static NpgsqlConnectionStringBuilder Parse(string value)
    {
        try
        {
            return IsUrl(value) ? FromUrl(value) : new NpgsqlConnectionStringBuilder(value);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException or InvalidCastException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"manifest: bad PostgreSQL connection info ({Redact(FirstLine(e.Message), PasswordIn(value))})");
        }
    }

    /// <summary>How messages name the database: <c>postgresql://user@host:port/db</c>, never with the password.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder b) =>
        $"postgresql://{(b.Username is { Length: > 0 } user ? user + "@" : "")}{b.Host}:{b.Port}/{b.Database}";

    /// <summary>Replaces the password, if a message holds it, with ***.</summary>
    public static string Redact(string message, string? password) =>
        string.IsNullOrEmpty(password) ? message : message.Replace(password, "***", StringComparison.Ordinal);

    public static string FirstLine(string message) => message.Split('\n')[0].Trim();

    private static bool IsUrl(string value) =>
        value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    // libpq's URL form: https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS
    private static NpgsqlConnectionStringBuilder FromUrl(string url)
    {
        var uri = new Uri(url, UriKind.Absolute);
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host,
        };
        if (uri.Port > 0) b.Port = uri.Port;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            b.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0) b.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0) b.Database = database;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var text = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (LibpqNames.TryGetValue(name, out var keyword))
            {
                // Npgsql's enum values are libpq's without the hyphen: verify-full -> VerifyFull.
                b[keyword] = keyword is "SSL Mode" or "Target Session Attributes" ? text.Replace("-", "", StringComparison.Ordinal) : text;
            }
            else
            {
                b[name] = text; // an Npgsql keyword, or ArgumentException ("Keyword not supported")
            }
        }
        return b;
    }

    private static readonly Dictionary<string, string> LibpqNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["host"] = "Host",
        ["port"] = "Port",
        ["user"] = "Username",
        ["password"] = "Password",
        ["dbname"] = "Database",
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["passfile"] = "Passfile",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["target_session_attrs"] = "Target Session Attributes",
    };

    /// <summary>The password of a value that did not parse, to keep it out of the message.</summary>
    private static string? PasswordIn(string value)
    {
        if (IsUrl(value))
        {
            var match = UrlPassword().Match(value);
            return match.Success ? match.Groups[1].Value : null;
        }
        var key = PasswordKey().Match(value);
        return key.Success ? key.Groups[1].Value : null;
    }

    [GeneratedRegex(@"(?:^|;)\s*(?:host|server)\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex HostKey();

    // Up to the last @: a password with a raw @ in it (not escaped as %40) is still all redacted.
    [GeneratedRegex(@"^[^:/]+://[^:@/]*:(.*)@")]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"(?:^|;)\s*(?:password|pwd)\s*=\s*([^;]*)", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordKey();
}
