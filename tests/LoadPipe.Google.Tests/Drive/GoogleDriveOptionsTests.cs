using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Storage.GoogleDrive;

namespace LoadPipe.Google.Tests.Drive;

/// <summary>A gdrive remote's settings as the config gives them.</summary>
public sealed class GoogleDriveOptionsTests
{
    private static GoogleDriveOptions From(params (string Key, string Value)[] settings) =>
        GoogleDriveOptions.From(new RemoteDefinition("mydrive", "gdrive", settings.ToDictionary(s => s.Key, s => s.Value), "config.yaml"));

    [Fact]
    public void KeyRoot_RootFolderOrSharedDrive_IsItsIdWithTheApiWhenNotGooglesAndMyDriveIsNotKnownFromTheSettings()
    {
        var factory = new GoogleDriveStorageFactory(new GoogleServices(new HttpClient()));
        string? Root(params (string Key, string Value)[] settings) =>
            factory.KeyRoot(new RemoteDefinition("mydrive", "gdrive", settings.ToDictionary(s => s.Key, s => s.Value)));

        Assert.Equal("gdrive://F0LDER/", Root(("root_folder_id", "F0LDER"), ("client_secret", "secret")));
        Assert.Equal("gdrive://SHARED/", Root(("shared_drive_id", "SHARED")));
        Assert.Equal("gdrive+http://127.0.0.1:8080/F0LDER/", Root(("root_folder_id", "F0LDER"), ("api_url", "http://127.0.0.1:8080/drive/v3")));
        Assert.Null(Root());
    }

    [Fact]
    public void From_NoExportFormats_RclonesDefaultOrder()
    {
        Assert.Equal(["docx", "xlsx", "pptx", "svg"], From().ExportFormats);
    }

    [Fact]
    public void From_ExportFormatsWithDotsCaseAndSpaces_NormalisedInTheOrderGiven()
    {
        Assert.Equal(["pdf", "csv", "odt"], From(("export_formats", ".PDF, csv ,odt")).ExportFormats);
        Assert.Empty(From(("export_formats", "")).ExportFormats);
    }

    [Fact]
    public void From_UnknownExportFormat_UsageErrorNamingTheKeyAndTheRemote()
    {
        var e = Assert.Throws<LoadPipeException>(() => From(("export_formats", "docx,mp4")));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("remote 'mydrive'", e.Message, StringComparison.Ordinal);
        Assert.Contains("export_formats: 'mp4'", e.Message, StringComparison.Ordinal);
    }
}
