using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Google.Auth;

namespace LoadPipe.Cli.Commands;

/// <summary>
/// `lp auth login REMOTE [--no-browser] [--user USER]`, `lp auth list`, `lp auth logout REMOTE [--user USER]`: the Google sign-ins kept encrypted
/// in the token store. Tokens are never printed: not here, not with --json, not with --debug.
/// </summary>
public static class AuthCommands
{
    public static Command Create()
    {
        var command = new Command("auth", "Sign in to Google remotes (gdrive, youtube); the tokens are stored encrypted");
        command.Subcommands.Add(Login());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Logout());
        return command;
    }

    private static Command Login()
    {
        var remoteName = new Argument<string>("remote") { Description = "A gdrive or youtube remote of the config, with client_id and client_secret" };
        var noBrowser = new Option<bool>("--no-browser") { Description = "Only print the address to open (on another machine, or by hand)" };
        var user = UserOption("The LoadPipe user this sign-in is for: jobs with --user USER use it, and only it");
        var command = new Command("login", "Sign in with a browser (installed-app OAuth, loopback redirect) and store the refresh token") { remoteName, noBrowser, user };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var remote = ConfiguredRemote(session, parse.GetValue(remoteName)!);
            var scopes = GoogleScopes.For(remote);
            var login = new InstalledAppLogin(session.Host.Google.Tokens, session.Host.Google.Time);
            var stored = await login.LoginAsync(remote, scopes, url =>
            {
                Console.Error.WriteLine($"To let LoadPipe use remote '{remote.Name}' ({remote.Type}), open this address in a browser and allow access:");
                Console.Out.WriteLine(url.AbsoluteUri);
                Console.Out.Flush();
                if (!parse.GetValue(noBrowser) && TryOpenBrowser(url))
                    Console.Error.WriteLine("A browser was started; if no page opened, open the address above by hand.");
                Console.Error.WriteLine("Waiting for the browser to come back...");
            }, user: parse.GetValue(user), cancellationToken: ct).ConfigureAwait(false);

            if (session.Json) Console.Out.WriteLine(CliJson.Line(Describe(session, stored)));
            else if (!session.Quiet)
                Console.Out.WriteLine($"signed in: remote '{stored.Remote}'{ForUser(stored.User)} ({stored.Type}, {ShortScopes(stored.Scopes)}); stored encrypted in {session.Host.Google.Tokens.PathFor(stored.Remote, stored.User)}");
            return SummaryWriter.Done;
        }));
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "The remotes with a stored sign-in: type, scopes, access token expiry (never the tokens)");
        command.SetAction((parse, ct) => Program.RunAsync(parse, session =>
        {
            var store = session.Host.Google.Tokens;
            var failed = 0;
            var remotes = store.Logins();
            foreach (var (name, user) in remotes)
            {
                StoredLogin? login;
                try
                {
                    login = store.Load(name, user);
                }
                catch (LoadPipeException e)
                {
                    Console.Error.WriteLine("error: " + e.Message);
                    failed++;
                    continue;
                }
                if (login is null) continue;
                if (session.Json) Console.Out.WriteLine(CliJson.Line(Describe(session, login)));
                else
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{login.Remote,-16} {login.User ?? "-",-12} {login.Type,-8} {Expiry(login),-26} {ShortScopes(login.Scopes)}{(session.Host.Config.Remotes.ContainsKey(login.Remote) ? "" : "  (not in the config)")}"));
            }
            if (remotes.Count == 0 && !session.Json && !session.Quiet) Console.Error.WriteLine($"no stored sign-ins in {store.Directory}");
            return Task.FromResult(failed > 0 ? SummaryWriter.Failed : SummaryWriter.Done);
        }));
        return command;
    }

    private static Command Logout()
    {
        var remoteName = new Argument<string>("remote") { Description = "The remote whose stored sign-in to delete" };
        var user = UserOption("Delete this user's sign-in, not the remote's default one");
        var command = new Command("logout", "Delete a remote's stored sign-in (works without the key)") { remoteName, user };
        command.SetAction((parse, ct) => Program.RunAsync(parse, session =>
        {
            var name = parse.GetValue(remoteName)!;
            var who = parse.GetValue(user);
            if (!session.Host.Google.Tokens.Delete(name, who))
                throw new LoadPipeException(ErrorKind.NotFound, $"remote '{name}' has no stored sign-in{ForUser(who)} (see lp auth list)");
            if (session.Json) Console.Out.WriteLine(CliJson.Line(new Dictionary<string, object?> { ["remote"] = name, ["user"] = who, ["logged_out"] = true }));
            else if (!session.Quiet) Console.Out.WriteLine($"signed out: remote '{name}'{ForUser(who)} (its stored sign-in is deleted)");
            return Task.FromResult(SummaryWriter.Done);
        }));
        return command;
    }

    private static Option<string?> UserOption(string description) => new("--user") { Description = description };

    private static string ForUser(string? user) => user is null ? "" : $" for user '{user}'";

    private static RemoteDefinition ConfiguredRemote(CliSession session, string name) =>
        session.Host.Config.Remotes.TryGetValue(name, out var remote)
            ? remote
            : throw new LoadPipeException(ErrorKind.Usage,
                $"no remote named '{name}' in {session.Host.Config.Path} (lp auth login needs a gdrive or youtube remote with client_id and client_secret)");

    private static Dictionary<string, object?> Describe(CliSession session, StoredLogin login) => new()
    {
        ["remote"] = login.Remote,
        ["user"] = login.User,
        ["type"] = login.Type,
        ["scopes"] = login.Scopes,
        ["client_id"] = login.ClientId,
        ["token_url"] = Location.Redact(login.TokenUrl),
        ["logged_in_at"] = login.LoggedInAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        ["access_token_expires_at"] = login.AccessTokenExpiresAt?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        ["in_config"] = session.Host.Config.Remotes.ContainsKey(login.Remote),
        ["file"] = session.Host.Google.Tokens.PathFor(login.Remote, login.User),
    };

    private static string Expiry(StoredLogin login) => login.AccessTokenExpiresAt is { } at
        ? "access until " + at.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)
        : "no access token yet";

    private static string ShortScopes(IEnumerable<string> scopes) =>
        string.Join(' ', scopes.Select(s => s.StartsWith("https://www.googleapis.com/auth/", StringComparison.Ordinal) ? s["https://www.googleapis.com/auth/".Length..] : s));

    /// <summary>Starts the desktop's browser when there is one ($BROWSER, or xdg-open under X11/Wayland, open on macOS).</summary>
    private static bool TryOpenBrowser(Uri url)
    {
        string? program;
        if (OperatingSystem.IsMacOS()) program = "open";
        else if (OperatingSystem.IsWindows()) program = null;
        else if (Environment.GetEnvironmentVariable("BROWSER") is { Length: > 0 } browser) program = browser.Split(':')[0];
        else if (Environment.GetEnvironmentVariable("DISPLAY") is { Length: > 0 } || Environment.GetEnvironmentVariable("WAYLAND_DISPLAY") is { Length: > 0 })
            program = "xdg-open";
        else return false;
        try
        {
            var info = program is null
                ? new ProcessStartInfo(url.AbsoluteUri) { UseShellExecute = true }
                : new ProcessStartInfo(program) { ArgumentList = { url.AbsoluteUri }, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info);
            if (process is null) return false;
            if (program is not null)
            {
                _ = process.StandardOutput.ReadToEndAsync();
                _ = process.StandardError.ReadToEndAsync();
            }
            return true;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return false;
        }
    }
}
