using System.Globalization;
using System.Text;

namespace LoadPipe.Testing.Google.Drive;

/// <summary>
/// The part of Drive's search-query language (https://developers.google.com/drive/api/guides/search-files and
/// ref-search-terms) the adapters use: <c>'ID' in parents</c>, <c>name</c> and <c>mimeType</c> with <c>=</c>,
/// <c>!=</c>, <c>contains</c>, <c>trashed = true|false</c>, <c>modifiedTime</c> with comparisons, joined by
/// <c>and</c>, <c>or</c>, <c>not</c> and parentheses. Strings are single-quoted; <c>\'</c> and <c>\\</c> escape.
/// Anything else is a <see cref="FormatException"/> (the API answers 400 "Invalid Value").
/// </summary>
internal static class DriveQuery
{
    public static Func<DriveFile, bool> Parse(string q, Func<string, string> resolveId)
    {
        if (string.IsNullOrWhiteSpace(q))
        {
            return _ => true;
        }
        var parser = new Parser(Tokenize(q), resolveId);
        var result = parser.Or();
        if (!parser.AtEnd)
        {
            throw new FormatException("unexpected text after the query");
        }
        return result;
    }

    private enum T { String, Word, Op, Open, Close }

    private readonly record struct Token(T Kind, string Text);

    private static List<Token> Tokenize(string q)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < q.Length)
        {
            char c = q[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '\'')
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= q.Length)
                    {
                        throw new FormatException("unterminated string");
                    }
                    if (q[i] == '\\' && i + 1 < q.Length)
                    {
                        sb.Append(q[i + 1]);
                        i += 2;
                    }
                    else if (q[i] == '\'')
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        sb.Append(q[i++]);
                    }
                }
                tokens.Add(new Token(T.String, sb.ToString()));
            }
            else if (c == '(')
            {
                tokens.Add(new Token(T.Open, "("));
                i++;
            }
            else if (c == ')')
            {
                tokens.Add(new Token(T.Close, ")"));
                i++;
            }
            else if (c is '=' or '!' or '<' or '>')
            {
                int start = i++;
                if (i < q.Length && q[i] == '=')
                {
                    i++;
                }
                var op = q[start..i];
                if (op == "!")
                {
                    throw new FormatException("bad operator");
                }
                tokens.Add(new Token(T.Op, op));
            }
            else if (char.IsLetterOrDigit(c))
            {
                int start = i;
                while (i < q.Length && (char.IsLetterOrDigit(q[i]) || q[i] is '.' or '_' or '-'))
                {
                    i++;
                }
                tokens.Add(new Token(T.Word, q[start..i]));
            }
            else
            {
                throw new FormatException($"unexpected character '{c}'");
            }
        }
        return tokens;
    }

    private sealed class Parser(List<Token> tokens, Func<string, string> resolveId)
    {
        private int _at;

        public bool AtEnd => _at >= tokens.Count;

        public Func<DriveFile, bool> Or()
        {
            var left = And();
            while (IsWord("or"))
            {
                _at++;
                var l = left;
                var r = And();
                left = f => l(f) || r(f);
            }
            return left;
        }

        private Func<DriveFile, bool> And()
        {
            var left = Not();
            while (IsWord("and"))
            {
                _at++;
                var l = left;
                var r = Not();
                left = f => l(f) && r(f);
            }
            return left;
        }

        private Func<DriveFile, bool> Not()
        {
            if (IsWord("not"))
            {
                _at++;
                var inner = Not();
                return f => !inner(f);
            }
            if (Peek()?.Kind == T.Open)
            {
                _at++;
                var inner = Or();
                Expect(T.Close);
                return inner;
            }
            return Term();
        }

        private Func<DriveFile, bool> Term()
        {
            var first = Next();
            if (first.Kind == T.String)
            {
                // 'value' in parents
                if (!IsWord("in"))
                {
                    throw new FormatException("expected 'in'");
                }
                _at++;
                var collection = Next();
                if (collection.Kind != T.Word || collection.Text != "parents")
                {
                    throw new FormatException("only 'in parents' is supported");
                }
                var id = resolveId(first.Text);
                return f => f.Parents.Contains(id);
            }
            if (first.Kind != T.Word)
            {
                throw new FormatException("expected a field");
            }
            var op = Next();
            string opText = op.Kind == T.Op || (op.Kind == T.Word && op.Text == "contains") ? op.Text : throw new FormatException("expected an operator");
            var value = Next();
            switch (first.Text)
            {
                case "name":
                    return StringTerm(f => f.Name, opText, Str(value));
                case "mimeType":
                    return StringTerm(f => f.MimeType, opText, Str(value));
                case "trashed":
                    bool wanted = value.Kind == T.Word && value.Text is "true" or "false" ? value.Text == "true" : throw new FormatException("trashed takes true or false");
                    return opText switch
                    {
                        "=" => f => f.Trashed == wanted,
                        "!=" => f => f.Trashed != wanted,
                        _ => throw new FormatException("trashed takes = or !="),
                    };
                case "modifiedTime":
                case "createdTime":
                    var when = DateTimeOffset.Parse(Str(value), CultureInfo.InvariantCulture);
                    Func<DriveFile, DateTimeOffset> get = first.Text == "modifiedTime" ? f => f.ModifiedTime : f => f.CreatedTime;
                    return opText switch
                    {
                        "=" => f => get(f) == when,
                        "!=" => f => get(f) != when,
                        "<" => f => get(f) < when,
                        "<=" => f => get(f) <= when,
                        ">" => f => get(f) > when,
                        ">=" => f => get(f) >= when,
                        _ => throw new FormatException("bad time operator"),
                    };
                default:
                    throw new FormatException($"unsupported field {first.Text}");
            }
        }

        private static Func<DriveFile, bool> StringTerm(Func<DriveFile, string> get, string op, string value) => op switch
        {
            "=" => f => get(f) == value,
            "!=" => f => get(f) != value,
            "contains" => f => get(f).Contains(value, StringComparison.OrdinalIgnoreCase),
            _ => throw new FormatException("bad string operator"),
        };

        private static string Str(Token t) => t.Kind == T.String ? t.Text : throw new FormatException("expected a quoted string");

        private Token? Peek() => _at < tokens.Count ? tokens[_at] : null;

        private bool IsWord(string word) => Peek() is { Kind: T.Word } t && t.Text == word;

        private Token Next() => _at < tokens.Count ? tokens[_at++] : throw new FormatException("the query ends early");

        private void Expect(T kind)
        {
            if (Next().Kind != kind)
            {
                throw new FormatException("unbalanced parentheses");
            }
        }
    }
}
