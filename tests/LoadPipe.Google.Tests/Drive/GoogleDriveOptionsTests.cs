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
