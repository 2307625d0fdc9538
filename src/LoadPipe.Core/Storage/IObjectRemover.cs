namespace LoadPipe.Core.Storage;

/// <summary>
/// A store that can remove an object: the ingest API's delete, and the compensation that undoes a half-made upload.
/// Found with <c>storage as IObjectRemover</c>; a store without it (an HTTP server) cannot have its objects deleted.
/// </summary>
public interface IObjectRemover
{
    /// <summary>Removes the object at <paramref name="path"/> (a file, never a folder). Returns false when nothing was
    /// there, so that a retried or compensating delete is harmless.</summary>
    /// <exception cref="Errors.LoadPipeException">The store refused or could not be reached (its kind tells which).</exception>
    Task<bool> RemoveAsync(string path, CancellationToken cancellationToken = default);
}
