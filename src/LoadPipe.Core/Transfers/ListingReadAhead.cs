using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// Runs a listing ahead of its reader, on a thread of its own, in blocks of <see cref="BlockSize"/> entries, at most
/// <see cref="Blocks"/> blocks ahead: the planner then settles one block against the manifest while the next is listed,
/// which on a re-run of a large local tree puts the stats and the manifest's lookups on two cores instead of one.
/// Memory stays bounded (a few thousand entries), whatever the tree's size. An error of the listing is thrown to the
/// reader where it would have been met; a reader that stops early stops the listing.
/// </summary>
internal static class ListingReadAhead
{
    public const int BlockSize = 256;
    public const int Blocks = 4;

    public static async IAsyncEnumerable<T> Of<T>(IAsyncEnumerable<T> listing, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var blocks = Channel.CreateBounded<List<T>>(new BoundedChannelOptions(Blocks) { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(() => ListAsync(listing, blocks.Writer, stop.Token), CancellationToken.None);
        try
        {
            while (await blocks.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (blocks.Reader.TryRead(out var block))
                {
                    foreach (var entry in block) yield return entry;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already thrown to the reader (WaitToReadAsync throws the exception the listing completed with), or the
                // reader stopped first and does not want it.
            }
        }
    }

    private static async Task ListAsync<T>(IAsyncEnumerable<T> listing, ChannelWriter<List<T>> writer, CancellationToken cancellationToken)
    {
        try
        {
            var block = new List<T>(BlockSize);
            await foreach (var entry in listing.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                block.Add(entry);
                if (block.Count < BlockSize) continue;
                await writer.WriteAsync(block, cancellationToken).ConfigureAwait(false);
                block = new List<T>(BlockSize);
            }
            if (block.Count > 0) await writer.WriteAsync(block, cancellationToken).ConfigureAwait(false);
            writer.TryComplete();
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
            throw;
        }
    }
}
