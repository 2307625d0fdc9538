using System.Text;
using System.Text.RegularExpressions;

namespace LoadPipe.Core.Filters;

/// <summary>
/// Include/exclude globs: '*' any run within a name, '**' any run across folders, '?' one character, [abc],
/// {a,b}. A glob without '/' is matched against the file name; with '/', against the path relative to the
/// copied folder. A file is kept when it matches an include (or there are none) and no exclude.
/// </summary>
public sealed class GlobFilter
{
    private readonly (Regex Regex, bool OnPath)[] _include;
    private readonly (Regex Regex, bool OnPath)[] _exclude;

    private readonly HashSet<string> _extensions;

    /// <param name="extensions">When not empty, only files with one of these extensions ("jpg" or ".jpg",
    /// compared without case) are kept, as well as matching the globs.</param>
    public GlobFilter(IEnumerable<string> include, IEnumerable<string> exclude, IEnumerable<string>? extensions = null)
    {
        _include = include.Select(Compile).ToArray();
        _exclude = exclude.Select(Compile).ToArray();
        _extensions = new HashSet<string>((extensions ?? []).Select(e => e.Trim().TrimStart('.')).Where(e => e.Length > 0), StringComparer.OrdinalIgnoreCase);
    }

    public bool IsEmpty => _include.Length == 0 && _exclude.Length == 0 && _extensions.Count == 0;

    public bool Matches(string relativePath)
    {
        var name = relativePath[(relativePath.LastIndexOf('/') + 1)..];
        if (_extensions.Count > 0)
        {
            var dot = name.LastIndexOf('.');
            if (dot < 0 || !_extensions.Contains(name[(dot + 1)..])) return false;
        }
        bool Hit((Regex Regex, bool OnPath) g) => g.Regex.IsMatch(g.OnPath ? relativePath : name);
        return (_include.Length == 0 || _include.Any(Hit)) && !_exclude.Any(Hit);
    }

    private static (Regex, bool) Compile(string glob)
    {
        var onPath = glob.Contains('/');
        var sb = new StringBuilder("^");
        var braces = 0;
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            switch (c)
            {
                case '*' when i + 1 < glob.Length && glob[i + 1] == '*':
                    sb.Append(".*");
                    i++;
                    if (i + 1 < glob.Length && glob[i + 1] == '/') { sb.Append("/?"); i++; }
                    break;
                case '*': sb.Append("[^/]*"); break;
                case '?': sb.Append("[^/]"); break;
                case '[':
                    var close = glob.IndexOf(']', i + 1);
                    if (close < 0) { sb.Append(@"\["); break; }
                    var set = glob[(i + 1)..close];
                    sb.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                    i = close;
                    break;
                case '{': braces++; sb.Append("(?:"); break;
                case '}' when braces > 0: braces--; sb.Append(')'); break;
                case ',' when braces > 0: sb.Append('|'); break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        if (braces != 0)
            throw new Errors.LoadPipeException(Errors.ErrorKind.Usage, $"glob '{glob}': unbalanced '{{'");
        return (new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant), onPath);
    }
}
