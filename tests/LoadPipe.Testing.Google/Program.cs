// The Google protocol server as a program, for benchmarks and manual runs:
//   dotnet run --project tests/LoadPipe.Testing.Google -- --port 0 --data DIR --client ID:SECRET --print-ready [--issue-token ID]
// Prints one line when ready:  READY base_url=http://127.0.0.1:PORT/ [access_token=... refresh_token=...]
// then runs until SIGTERM / Ctrl-C, or until stdin closes (a stdin of /dev/null is ignored, so `cmd &` in a script
// keeps running). Faults and inspection over HTTP under /__admin/ (see AdminApi).
using System.Runtime.InteropServices;
using LoadPipe.Testing.Google;

var options = new GoogleServerOptions();
bool printReady = false;
string? issueFor = null;
var scopes = new List<string>();
var serviceAccounts = new List<(string Email, string File)>();
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--port":
            options.Port = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--data":
            options.DataDirectory = Path.GetFullPath(Value());
            break;
        case "--client":
            var pair = Value();
            int colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                Console.Error.WriteLine("--client takes ID:SECRET");
                return 2;
            }
            options.Clients[pair[..colon]] = pair[(colon + 1)..];
            break;
        case "--issue-token":
            issueFor = Value();
            break;
        case "--scope":
            scopes.Add(Value());
            break;
        case "--service-account":
            var sa = Value();
            int eq = sa.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                Console.Error.WriteLine("--service-account takes EMAIL=KEYFILE");
                return 2;
            }
            serviceAccounts.Add((sa[..eq], sa[(eq + 1)..]));
            break;
        case "--print-ready":
            printReady = true;
            break;
        case "-h" or "--help":
            Console.WriteLine("usage: LoadPipe.Testing.Google [--port N] [--data DIR] [--client ID:SECRET]... [--issue-token CLIENT_ID [--scope S]...]");
            Console.WriteLine("                               [--service-account EMAIL=KEYFILE]... [--print-ready]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]} (see --help)");
            return 2;
    }
}

await using var server = await GoogleProtocolServer.StartAsync(options);
foreach (var (email, file) in serviceAccounts)
{
    File.WriteAllText(file, server.CreateServiceAccount(email));
}
var ready = $"READY base_url={server.BaseUri}";
if (issueFor is not null)
{
    if (scopes.Count == 0)
    {
        scopes.AddRange([GoogleScopes.Drive, GoogleScopes.YouTubeUpload, GoogleScopes.YouTubeReadOnly]);
    }
    var token = server.OAuth.IssueToken(issueFor, scopes);
    ready += $" access_token={token.AccessToken} refresh_token={token.RefreshToken}";
}
ready += $" root_folder_id={server.RootFolderId}";
if (printReady)
{
    Console.WriteLine(ready);
    Console.Out.Flush();
}

var stop = new TaskCompletionSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
if (!StdinIsDevNull())
{
    _ = Task.Run(async () =>
    {
        var buffer = new char[256];
        while (await Console.In.ReadAsync(buffer) > 0)
        {
        }
        stop.TrySetResult();
    });
}
await stop.Task;
return 0;

static bool StdinIsDevNull()
{
    try
    {
        return OperatingSystem.IsLinux() && new FileInfo("/proc/self/fd/0").LinkTarget == "/dev/null";
    }
    catch (IOException)
    {
        return false;
    }
}
