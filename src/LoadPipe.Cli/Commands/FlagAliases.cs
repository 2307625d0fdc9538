using System.CommandLine;
using LoadPipe.Core.Errors;

namespace LoadPipe.Cli.Commands;

/// <summary>
/// The flag forms of seed 000's command lines (`lp list --folder X`, `lp pull --file X`,
/// `lp push --folder X --name Y`), accepted beside the positional ones so that scripts written from it run as they
/// are. One form or the other: both at once is a usage error, not a guess at which was meant.
/// </summary>
internal static class FlagAliases
{
    /// <summary>The positional argument, or the flag standing for it.</summary>
    public static string Read(ParseResult parse, Argument<string?> positional, Option<string?> flag)
    {
        var argument = parse.GetValue(positional);
        var alias = parse.GetValue(flag);
        if (argument is not null && alias is not null)
            throw new LoadPipeException(ErrorKind.Usage, $"give the {positional.Name} once: '{argument}' or {flag.Name} '{alias}', not both");
        return argument ?? alias
            ?? throw new LoadPipeException(ErrorKind.Usage, $"missing the {positional.Name}: give it as an argument or with {flag.Name}");
    }

    /// <summary>`lp push`'s destination: the positional one, or `--folder DIR --name FILE` (which go together).</summary>
    public static string ReadDestination(ParseResult parse, Argument<string?> positional, Option<string?> folder, Option<string?> name)
    {
        var file = parse.GetValue(name);
        if (parse.GetValue(folder) is null)
        {
            if (file is not null)
                throw new LoadPipeException(ErrorKind.Usage, $"{name.Name} goes with {folder.Name}: give both, or the destination as an argument");
            return Read(parse, positional, folder);
        }
        var directory = Read(parse, positional, folder);
        if (file is null)
            throw new LoadPipeException(ErrorKind.Usage, $"{folder.Name} goes with {name.Name}: the name of the file to write in that folder");
        if (file.Length == 0 || file.Contains('/', StringComparison.Ordinal))
            throw new LoadPipeException(ErrorKind.Usage, $"{name.Name} '{file}': a file name, without '/'");
        // "remote:" is the remote's root and "dir/" already ends with its separator.
        return directory.EndsWith('/') || directory.EndsWith(':') ? directory + file : directory + "/" + file;
    }
}
