using System.Globalization;

namespace LoadPipe.EndToEnd.Tests.Http;

/// <summary>One request as the server saw and answered it.</summary>
public sealed record ServedRequest(string Name, string Method, string? Range, string? IfRange, int Status, bool Cut)
{
    /// <summary>FIRST in "Range: bytes=FIRST-..."; null without a Range header.</summary>
    public long? RangeStart => Range is { } range
        ? long.Parse(range["bytes=".Length..range.IndexOf('-', StringComparison.Ordinal)], CultureInfo.InvariantCulture)
        : null;
}
