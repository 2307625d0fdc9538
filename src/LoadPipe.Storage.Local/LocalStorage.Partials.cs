using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Local;

/// <summary>The hidden partial files (<see cref="IPartialWrites"/>): listed as the targets they would become, and removed
/// only under the writer's own lock, so that one being written is never taken from its writer.</summary>
public sealed partial class LocalStorage
{
    public async IAsyncEnumerable<ObjectInfo> ListPartialsAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        if (!Directory.Exists(full)) yield break;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        foreach (var partial in Directory.EnumerateFiles(full, "." + "*" + PartialSuffix, options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetFileName(partial);
            var target = Path.Combine(Path.GetDirectoryName(partial)!, name[1..^PartialSuffix.Length]);
            FileInfo info;
            try
            {
                info = new FileInfo(partial);
                if (!info.Exists) continue;
            }
            catch (IOException)
            {
                continue;
            }
            yield return new ObjectInfo
            {
                Path = Path.GetRelativePath(full, target).Replace(Path.DirectorySeparatorChar, '/'),
                Size = info.Length,
                Modified = new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero),
            };
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<bool> RemovePartialAsync(string targetPath, CancellationToken cancellationToken = default)
    {
        var partial = PartialPath(Resolve(targetPath));
        if (!File.Exists(partial)) return Task.FromResult(false);
        try
        {
            // The writer's lock (LocalWriteSession): held, the partial file is someone's live write.
            using var handle = File.OpenHandle(partial, FileMode.Open, FileAccess.ReadWrite, LocalWriteSession.ExclusiveShare);
            LocalWriteSession.TakeLock(handle, partial);
            File.Delete(partial);
            return Task.FromResult(true);
        }
        catch (FileNotFoundException)
        {
            return Task.FromResult(false);
        }
        catch (IOException)
        {
            // Locked by its writer (a sharing violation at open).
            return Task.FromResult(false);
        }
        catch (LoadPipeException e) when (e.Kind == ErrorKind.Busy)
        {
            return Task.FromResult(false);
        }
    }
}
