using Microsoft.Extensions.Logging;

namespace LoadPipe.Server;

/// <summary>The ingest API's transfer log lines (event ids 2150-2159 of the ingest API's 2100-2199).</summary>
internal static partial class Log
{
    [LoggerMessage(2150, LogLevel.Information, "file {FileId} transferred from {Source} to {Destination} (move: {Move})")]
    public static partial void FileTransferred(ILogger logger, string fileId, string source, string destination, bool move);

    [LoggerMessage(2151, LogLevel.Warning, "the transfer of file {FileId} to {Destination} failed: {Message}")]
    public static partial void TransferFailed(ILogger logger, string fileId, string destination, string message);

    [LoggerMessage(2152, LogLevel.Warning, "transfer {TransferId} of file {FileId} interrupted by the server's stop while {Status}: the next start takes it over")]
    public static partial void TransferInterrupted(ILogger logger, string transferId, string fileId, string status);

    [LoggerMessage(2153, LogLevel.Information, "transfer {TransferId} of file {FileId}, left {Status} by a stopped server, taken over")]
    public static partial void TransferResumed(ILogger logger, string transferId, string fileId, string status);

    [LoggerMessage(2154, LogLevel.Warning, "unfinished transfers could not be taken over now, trying again: {Message}")]
    public static partial void TransferRecoveryFailed(ILogger logger, string message);
}
