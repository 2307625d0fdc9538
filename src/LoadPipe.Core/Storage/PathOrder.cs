namespace LoadPipe.Core.Storage;

/// <summary>
/// The order of <see cref="ISortedListing"/>: by Unicode code point, which is the byte order of UTF-8 (how S3
/// sorts keys). Ordinal UTF-16 comparison differs only where surrogate pairs meet U+E000..U+FFFF.
/// </summary>
public sealed class PathOrder : IComparer<string>
{
    public static PathOrder Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var n = Math.Min(x.Length, y.Length);
        for (var i = 0; i < n; i++)
        {
            var a = x[i];
            var b = y[i];
            if (a == b) continue;
            // A surrogate (a code point above U+FFFF) sorts after every other UTF-16 unit.
            var sa = char.IsSurrogate(a);
            var sb = char.IsSurrogate(b);
            if (sa != sb) return sa ? 1 : -1;
            return a < b ? -1 : 1;
        }
        return x.Length.CompareTo(y.Length);
    }
}
