using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Hosting.Logging;

/// <summary>
/// lp's log lines, on standard error, each written whole as it happens: text (<c>HH:mm:ss warn: Category[id] message</c>)
/// or one JSON object per line (<c>--log-format json</c>). An exception adds its message, and its stack trace only under
/// <c>--debug</c>. Written here rather than taken from Microsoft.Extensions.Logging.Console because building that one
/// (a service container, options, a queue thread) was a fifth of a small copy's start-up in the native build.
/// </summary>
internal sealed class StderrLoggerProvider(bool json, bool stackTraces, TextWriter? output = null) : ILoggerProvider
{
    private readonly TextWriter _output = output ?? Console.Error;
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(string category, LogLevel level, EventId eventId, string message, Exception? exception)
    {
        var error = exception is null ? null : stackTraces ? exception.ToString() : exception.Message;
        var now = DateTimeOffset.UtcNow;
        string line;
        if (json)
        {
            var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("time", now);
                writer.WriteString("level", level.ToString().ToLowerInvariant());
                writer.WriteString("category", category);
                if (eventId.Id != 0) writer.WriteNumber("event_id", eventId.Id);
                writer.WriteString("message", message);
                if (error is not null) writer.WriteString("exception", error);
                writer.WriteEndObject();
            }
            line = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        else
        {
            var text = new StringBuilder()
                .Append(now.ToLocalTime().ToString("HH:mm:ss ", CultureInfo.InvariantCulture))
                .Append(Short(level)).Append(": ").Append(category);
            if (eventId.Id != 0) text.Append('[').Append(eventId.Id.ToString(CultureInfo.InvariantCulture)).Append(']');
            text.Append(' ').Append(message);
            if (error is not null) text.Append(" (").Append(error).Append(')');
            line = text.ToString();
        }
        lock (_gate)
        {
            _output.WriteLine(line);
            _output.Flush();
        }
    }

    private static string Short(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    private sealed class Logger(StderrLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        // The level is filtered by the factory (LoggerFilterOptions).
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            owner.Write(category, logLevel, eventId, formatter(state, exception), exception);
        }
    }
}
