using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace LoadPipe.Cli.Commands;

/// <summary>
/// Parsers for numeric options and arguments (their <c>CustomParser</c>): a value that is not a number is named in
/// words, "--transfers 'abc': expected a whole number", not by the .NET type System.CommandLine would print.
/// </summary>
internal static class NumberArguments
{
    public static T Whole<T>(ArgumentResult result) where T : struct, IBinaryInteger<T> =>
        Parse<T>(result, NumberStyles.AllowLeadingSign, "a whole number") ?? default;

    /// <summary>Null when the option or argument was not given.</summary>
    public static T? OptionalWhole<T>(ArgumentResult result) where T : struct, IBinaryInteger<T> =>
        Parse<T>(result, NumberStyles.AllowLeadingSign, "a whole number");

    public static double Number(ArgumentResult result) =>
        Parse<double>(result, NumberStyles.Float, "a number") ?? default;

    private static T? Parse<T>(ArgumentResult result, NumberStyles styles, string expected) where T : struct, INumber<T>
    {
        if (result.Tokens.Count == 0) return null;
        var text = result.Tokens[0].Value;
        if (T.TryParse(text, styles, CultureInfo.InvariantCulture, out var value)) return value;
        var name = result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
        result.AddError($"{name} '{text}': expected {expected}");
        return null;
    }
}
