namespace LoadPipe.Storage.Conformance;

/// <summary>
/// What of the required storage contract a store cannot do, beyond the optional capabilities its
/// <see cref="Core.Storage.StorageFeatures"/> leave out. An adapter's contract test lists its gaps, each with why;
/// the cases that need one are skipped, naming it.
/// </summary>
[Flags]
public enum ContractGaps
{
    None = 0,

    /// <summary>No folder listing: an HTTP server lists a URL as the one object it names, a channel lists its uploads.</summary>
    Listing = 1,

    /// <summary>No folders: nothing is a directory to <c>StatAsync</c>.</summary>
    Folders = 2,

    /// <summary>Write-only: its objects cannot be stat'ed or read back (YouTube); <see cref="StorageContractTests.ReadCommittedAsync"/>
    /// reads what a write committed from the server instead.</summary>
    Reading = 4,

    /// <summary>A resume cannot drop bytes the store already holds past the confirmed length (Google's resumable
    /// uploads keep them, and skip them in the next write): it must be sent the same bytes again, as the engine does
    /// for an unchanged source.</summary>
    DroppingUnconfirmedBytes = 8,
}
