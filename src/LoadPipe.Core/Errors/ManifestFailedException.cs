namespace LoadPipe.Core.Errors;

/// <summary>The manifest could not be read or written (its disk is full, its database went away): a run stops at
/// once, as nothing it did could be recorded, instead of failing its files one by one with the same error.</summary>
public sealed class ManifestFailedException(string message, Exception inner) : LoadPipeException(ErrorKind.Permanent, message, inner);
