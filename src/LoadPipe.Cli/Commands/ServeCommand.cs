using System.CommandLine;
using LoadPipe.Server;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp serve`: the tus upload server (docs/server.md), with the config file's `server:` section.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var listen = new Option<string?>("--listen") { Description = $"HOST:PORT to listen on (default: server.listen, else {ServerDefaults.Listen})" };
        var command = new Command("serve", "Serve tus 1.0.0 uploads at /files/ into server.uploads.destination") { listen };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var settings = ServerSettings.From(session.Host.Config.Server, parse.GetValue(listen));
            await using var server = LoadPipeServer.Create(session.Host, settings, c => PushEntry.OpenAsync(session.Host, settings.Destination, c, settings.Md5, settings.Ingest?.ChunkSize));
            await server.StartAsync(ct).ConfigureAwait(false);
            if (!session.Quiet)
                Console.Error.WriteLine($"lp serve: tus at {string.Join(", ", server.Addresses.Select(a => a + "/files/"))}, uploads to {server.Store.Destination}");
            await server.ServeUntilAsync(ct).ConfigureAwait(false);
            return 0;
        }, allowExec: false));
        return command;
    }
}
