using LoadPipe.Core.Errors;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Sagas;
using LoadPipe.Server.Problems;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace LoadPipe.Server.Tests.Problems;

/// <summary>A full disk under the manifest answers 507 Insufficient Storage, as a full element does, not 500: SQLite's
/// SQLITE_FULL (13) and PostgreSQL's disk_full (53100), bare or inside a saga's failure.</summary>
public sealed class DiskFullTests
{
    public static TheoryData<Exception> Full() => new()
    {
        new SqliteException("database or disk is full", DiskFull.SqliteFull),
        new PostgresException("could not extend file: No space left on device", "ERROR", "ERROR", DiskFull.PostgresDiskFull),
        new LoadPipeException(ErrorKind.NoSpace, "no space left on the device"),
        new InvalidOperationException("the manifest failed", new SqliteException("database or disk is full", DiskFull.SqliteFull)),
        new SagaFailedException("upload", "record", true, new PostgresException("no space", "ERROR", "ERROR", DiskFull.PostgresDiskFull)),
    };

    [Theory]
    [MemberData(nameof(Full))]
    public void Classify_DiskFull_Is507(Exception e)
    {
        Assert.True(DiskFull.Is(e));
        Assert.Equal(507, ErrorResponses.Classify(e, new DefaultHttpContext()).Status);
        var (status, code, message) = IngestErrorResponses.Classify(e, new DefaultHttpContext());
        Assert.Equal(507, status);
        Assert.Equal(IngestErrors.StorageError, code);
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_OtherDatabaseErrors_AreNotDiskFull()
    {
        // SQLITE_BUSY (5), PostgreSQL's unique_violation (23505): not a full disk.
        Exception[] others = [new SqliteException("database is locked", 5), new PostgresException("duplicate key", "ERROR", "ERROR", "23505")];
        foreach (var e in others)
        {
            Assert.False(DiskFull.Is(e));
            Assert.Equal(500, ErrorResponses.Classify(e, new DefaultHttpContext()).Status);
            Assert.Equal(500, IngestErrorResponses.Classify(e, new DefaultHttpContext()).Status);
        }
    }
}
