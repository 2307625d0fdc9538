using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace LoadPipe.Packaging.Tests;

/// <summary>
/// LoadPipe as a library a user installs: `dotnet pack` makes one package for the core and one per adapter and
/// manifest, each with its README, XML docs and licence; a console project that references them by package (from a
/// local folder feed, not by project) copies a file through a stage and back, and runs.
/// </summary>
public sealed class PackagesTests : IDisposable
{
    private static readonly string[] Libraries =
    [
        "LoadPipe.Core", "LoadPipe.Storage.Local", "LoadPipe.Storage.Http", "LoadPipe.Storage.S3", "LoadPipe.Google",
        "LoadPipe.Storage.GoogleDrive", "LoadPipe.Storage.YouTube", "LoadPipe.Storage.Tus", "LoadPipe.Manifest.Sqlite", "LoadPipe.Manifest.Postgres", "LoadPipe.Hosting", "LoadPipe.Fetch",
    ];

    private readonly string _work = Directory.CreateTempSubdirectory("lp-pack-").FullName;

    [Fact]
    public async Task Pack_ConsoleProjectReferencingThePackages_CopiesThroughAStageAndBack()
    {
        var root = RepositoryRoot();
        var feed = Directory.CreateDirectory(Path.Combine(_work, "feed")).FullName;
        // A version of its own each run: the machine's package cache never serves an older build under the same number.
        var version = $"0.9.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var configuration = typeof(PackagesTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

        await RunAsync(root, "dotnet", "pack", Path.Combine(root, "LoadPipe.slnx"), "-c", configuration, "--no-build", "--nologo",
            "-o", feed, $"-p:PackageVersion={version}");

        foreach (var library in Libraries)
        {
            var package = Path.Combine(feed, $"{library}.{version}.nupkg");
            Assert.True(File.Exists(package), $"{library}: no package in {feed}");
            using var zip = ZipFile.OpenRead(package);
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("README.md", entries);
            Assert.Contains("LICENSE", entries);
            Assert.Contains($"lib/net10.0/{library}.dll", entries);
            Assert.Contains($"lib/net10.0/{library}.xml", entries);
            Assert.True(File.Exists(Path.Combine(feed, $"{library}.{version}.snupkg")), $"{library}: no symbol package");
            using var nuspec = new StreamReader(zip.GetEntry($"{library}.nuspec")!.Open());
            var metadata = System.Xml.Linq.XDocument.Parse(await nuspec.ReadToEndAsync()).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.NotEqual("Package Description", Field("description"));
            Assert.Equal("LICENSE", Field("license"));
            // SourceLink: a package built from a git checkout names the commit its sources are at.
            if (Directory.Exists(Path.Combine(root, ".git")))
            {
                var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
                Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
            }
        }
        Assert.False(File.Exists(Path.Combine(feed, $"lp.{version}.nupkg")), "the program is not a library package");

        var app = Directory.CreateDirectory(Path.Combine(_work, "app")).FullName;
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="loadpipe-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="LoadPipe.Core" Version="{version}" />
                <PackageReference Include="LoadPipe.Storage.Local" Version="{version}" />
                <PackageReference Include="LoadPipe.Manifest.Sqlite" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using System.Security.Cryptography;
            using LoadPipe.Core.Locations;
            using LoadPipe.Core.Transfers;
            using LoadPipe.Manifest.Sqlite;
            using LoadPipe.Storage.Local;

            var dir = args[0];
            var input = Path.Combine(dir, "input.bin");
            var data = new byte[3_000_000];
            new Random(7).NextBytes(data.AsSpan(0, 1_000_000));   // part random, part zeros: zstd has work to do
            await File.WriteAllBytesAsync(input, data);

            await using var manifest = await SqliteManifest.OpenAsync(Path.Combine(dir, "state.db"));
            var resolver = new LocationResolver([new LocalStorageFactory(), new StdioStorageFactory()]);
            var engine = new TransferEngine(manifest);
            var packed = await engine.CopyAsync(resolver.Resolve(input), resolver.Resolve(Path.Combine(dir, "input.bin.zst")),
                new TransferOptions { Stages = ["zstd"] });
            var back = await engine.CopyAsync(resolver.Resolve(Path.Combine(dir, "input.bin.zst")), resolver.Resolve(Path.Combine(dir, "back.bin")),
                new TransferOptions { Stages = ["unzstd"] });
            Console.WriteLine($"{packed.Status} {back.Status} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "back.bin"))))} {new FileInfo(Path.Combine(dir, "input.bin.zst")).Length}");
            """);

        var data = Directory.CreateDirectory(Path.Combine(_work, "data")).FullName;
        var output = await RunAsync(app, "dotnet", "run", "--project", Path.Combine(app, "app.csproj"), "--", data);

        var expected = new byte[3_000_000];
        new Random(7).NextBytes(expected.AsSpan(0, 1_000_000));
        var fields = output.Trim().Split('\n')[^1].Split(' ');
        Assert.Equal("Completed", fields[0]);
        Assert.Equal("Completed", fields[1]);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(expected)), fields[2]);
        Assert.InRange(long.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture), 1, 2_000_000);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoadPipe.slnx"))) return dir.FullName;
        throw new InvalidOperationException("LoadPipe.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs a program to its end (at most 10 minutes); fails the test with its output when it fails.</summary>
    private static async Task<string> RunAsync(string workingDirectory, string program, params string[] args)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        // The outer `dotnet test` sets MSBuild variables a nested build must not inherit.
        foreach (var name in new[] { "MSBuildSDKsPath", "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "DOTNET_HOST_PATH" })
            info.Environment.Remove(name);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        var text = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {process.ExitCode}:\n{text}");
        return await stdout;
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
