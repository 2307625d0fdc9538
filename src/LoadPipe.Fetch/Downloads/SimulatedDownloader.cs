using System.Globalization;
using System.IO.Hashing;
using System.Text;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Sizes;
using LoadPipe.Fetch.Input;

namespace LoadPipe.Fetch.Downloads;

/// <summary>
/// --simulate-downloads: no network. Each entry gets a size and a latency drawn from seeded distributions and
/// pseudo-random bytes, all from the seed and the entry's URL alone, so the same seed and list give the same files, and
/// the same processor results, in every run, whatever the order the workers take them in. Sizes are log-uniform
/// between the bounds of <see cref="SizeRange"/> (small files are common, large ones rare), latencies uniform.
/// </summary>
public sealed class SimulatedDownloader(int seed, (long Min, long Max) sizeRange, (TimeSpan Min, TimeSpan Max) latencyRange, TimeProvider? time = null)
    : IDownloader
{
    /// <summary>Default --simulate-size: 1K-1M.</summary>
    public const string DefaultSize = "1K-1M";

    /// <summary>Default --simulate-latency: 5ms-50ms.</summary>
    public const string DefaultLatency = "5ms-50ms";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public (long Min, long Max) SizeRange => sizeRange;

    public async Task<DownloadInfo> DownloadAsync(FetchEntry entry, Stream sink, Func<long, CancellationToken, ValueTask> beforeBody,
        CancellationToken cancellationToken = default)
    {
        var random = new Random(unchecked((int)XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(entry.Url ?? ""), seed)));
        var size = sizeRange.Min == sizeRange.Max ? sizeRange.Min
            : (long)Math.Round(Math.Exp(Math.Log(Math.Max(1, sizeRange.Min)) + random.NextDouble() * (Math.Log(sizeRange.Max) - Math.Log(Math.Max(1, sizeRange.Min)))));
        var latency = latencyRange.Min + (latencyRange.Max - latencyRange.Min) * random.NextDouble();
        if (latency > TimeSpan.Zero) await Task.Delay(latency, _time, cancellationToken).ConfigureAwait(false);
        await beforeBody(size, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[1 << 16];
        for (var left = size; left > 0;)
        {
            var n = (int)Math.Min(buffer.Length, left);
            random.NextBytes(buffer.AsSpan(0, n));
            await sink.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            left -= n;
        }
        return new DownloadInfo(size, new Dictionary<string, string>());
    }

    /// <summary>"64K" (every file that size) or "1K-1M".</summary>
    public static (long Min, long Max) ParseSizeRange(string text)
    {
        var (a, b) = Split(text);
        var range = (ByteSize.Parse(a, "--simulate-size"), ByteSize.Parse(b, "--simulate-size"));
        return range.Item1 <= range.Item2 ? range
            : throw new LoadPipeException(ErrorKind.Usage, $"--simulate-size {text}: the smaller size comes first");
    }

    /// <summary>"20ms" (every download waits that long) or "5ms-50ms"; units ms, s.</summary>
    public static (TimeSpan Min, TimeSpan Max) ParseLatencyRange(string text)
    {
        var (a, b) = Split(text);
        var range = (Duration(a), Duration(b));
        return range.Item1 <= range.Item2 ? range
            : throw new LoadPipeException(ErrorKind.Usage, $"--simulate-latency {text}: the shorter latency comes first");

        TimeSpan Duration(string s)
        {
            var (number, unit) = s.EndsWith("ms", StringComparison.Ordinal) ? (s[..^2], 1.0) : s.EndsWith('s') ? (s[..^1], 1000.0) : (s, 1.0);
            return double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value * unit < int.MaxValue
                ? TimeSpan.FromMilliseconds(value * unit)
                : throw new LoadPipeException(ErrorKind.Usage, $"--simulate-latency: '{s}' is not a duration (examples: 20ms, 1.5s, 5ms-50ms)");
        }
    }

    private static (string, string) Split(string text)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? (text.Trim(), text.Trim()) : (text[..dash].Trim(), text[(dash + 1)..].Trim());
    }
}
