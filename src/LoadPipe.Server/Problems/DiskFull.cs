using LoadPipe.Core.Errors;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace LoadPipe.Server.Problems;

/// <summary>
/// Whether a failure is a full disk, whoever reported it: a store (<see cref="ErrorKind.NoSpace"/>), the SQLite manifest
/// (SQLITE_FULL, result code 13, sqlite.org/rescode.html) or the PostgreSQL one (SQLSTATE 53100 disk_full, PostgreSQL's
/// "Appendix A. Error Codes"). Each answers 507 Insufficient Storage, not 500: the server works, its disk does not have room.
/// </summary>
public static class DiskFull
{
    public const int SqliteFull = 13;
    public const string PostgresDiskFull = "53100";

    /// <summary>true when <paramref name="e"/> or an exception it wraps says the disk is full.</summary>
    public static bool Is(Exception? e)
    {
        for (var depth = 0; e is not null && depth < 8; e = e.InnerException, depth++)
        {
            switch (e)
            {
                case LoadPipeException { Kind: ErrorKind.NoSpace }:
                case SqliteException { SqliteErrorCode: SqliteFull }:
                case PostgresException { SqlState: PostgresDiskFull }:
                    return true;
            }
        }
        return false;
    }
}
