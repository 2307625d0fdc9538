using LoadPipe.Core.Errors;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Transfers;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Hosting.Tests.Support;

namespace LoadPipe.Hosting.Tests;

public sealed class LoadPipeHostTests
{
    [Fact]
    public async Task Stages_ServerHost_RefusesExecWithOneLineUsageError()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host(allowExec: false);

        var e = Assert.Throws<LoadPipeException>(() => host.Stages.Parse("exec:touch /tmp/lp-owned"));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Equal("stage exec is not allowed here: this front never runs a command it is sent", e.Message);
        Assert.DoesNotContain("exec", host.Stages.Names);
    }

    [Fact]
    public async Task CopyAsync_ServerHostGivenExecStage_RunsNoCommandAndCopiesNothing()
    {
        using var folder = new HostFolder();
        File.WriteAllText(folder["in.txt"], "hello");
        var marker = folder["ran"];
        await using var host = folder.Host(allowExec: false);
        var engine = host.CreateEngine(await host.ManifestAsync());
        var options = host.Options(new JobSettings { Process = [$"exec:touch {marker}"] });

        var e = await Assert.ThrowsAsync<LoadPipeException>(() =>
            engine.CopyAsync(host.Resolver.Resolve(folder["in.txt"]), host.Resolver.Resolve(folder["out.txt"]), options));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.False(File.Exists(marker));
        Assert.False(File.Exists(folder["out.txt"]));
    }

    [Fact]
    public async Task Stages_CliHost_OffersExec()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host(allowExec: true);

        Assert.IsType<ExecStage>(host.Stages.Parse("exec:cat"));
    }

    [Fact]
    public void Create_NamedConfigMissing_IsUsageError()
    {
        var e = Assert.Throws<LoadPipeException>(() => LoadPipeHost.Create(new LoadPipeHostSettings { ConfigPath = "/nonexistent/lp.yaml" }));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Equal("config /nonexistent/lp.yaml: no such file", e.Message);
    }

    [Fact]
    public async Task Resolver_ConfigRemote_ResolvesThroughTheRegistry()
    {
        using var folder = new HostFolder("remotes:\n  web:\n    type: http\n    url: https://example.org/files/\n");
        await using var host = folder.Host();

        var location = host.Resolver.Resolve("web:a/b.bin");

        Assert.Equal("b.bin", location.Name);
        Assert.Equal("LoadPipe.Storage.Http.HttpStorage", location.Storage.GetType().FullName);
    }

    [Fact]
    public async Task Options_OutOfRangeFlag_IsCheckedByTheHost()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host();

        var e = Assert.Throws<LoadPipeException>(() => host.Options(new JobSettings { Transfers = 0 }));

        Assert.Equal("--transfers 0: must be from 1 to 256", e.Message);
        Assert.Equal(TransferDefaults.Transfers, host.Options(new JobSettings()).Transfers);
    }
}
