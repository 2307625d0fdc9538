namespace LoadPipe.Fetch.Input;

/// <summary>
/// One entry of a fetch list, as read: seed 002's <c>{id?, name?, url}</c>. An entry that could not be read (no url, an
/// url that is not http(s), a line that is not JSON) carries <see cref="Error"/>, a one-line message that names the
/// entry and its line; it fails on its own and the rest of the list goes on (unless --strict).
/// </summary>
/// <param name="Index">0-based position in the list: with the list's name, what names an entry without an id.</param>
/// <param name="Line">1-based line of the list where the entry starts.</param>
public sealed record FetchEntry(long Index, long Line, string? Id, string? Name, string? Url, string? Error = null)
{
    /// <summary>The entry for messages: its id when it has one, else its position.</summary>
    public string Label => Id is { } id ? $"entry {Index + 1} (id {id})" : $"entry {Index + 1}";

    /// <summary>A file name for the entry's bytes: its name, else the last segment of its URL, else its index.</summary>
    public string FileName
    {
        get
        {
            var name = Name;
            if (string.IsNullOrWhiteSpace(name) && Url is not null && Uri.TryCreate(Url, UriKind.Absolute, out var uri))
                name = Uri.UnescapeDataString(uri.AbsolutePath[(uri.AbsolutePath.LastIndexOf('/') + 1)..]);
            if (string.IsNullOrWhiteSpace(name)) name = (Index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            // A name from the list must not climb out of the folder it is saved in.
            foreach (var bad in Path.GetInvalidFileNameChars().Append('/').Append('\\')) name = name.Replace(bad, '_');
            return name is "." or ".." ? "_" + name : name;
        }
    }
}
