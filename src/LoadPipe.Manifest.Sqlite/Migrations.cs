namespace LoadPipe.Manifest.Sqlite;

/// <summary>The schema, one step per version. Never edit a step that has shipped: add the next one.</summary>
internal static class Migrations
{
    public static readonly string[] Steps =
    [
        // 1: sessions, transfers, chunks.
        """
        CREATE TABLE sessions (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            command       TEXT NOT NULL,
            source        TEXT NOT NULL,
            destination   TEXT NOT NULL,
            project       TEXT,
            config        TEXT,
            status        TEXT NOT NULL DEFAULT 'running',
            started_at    INTEGER NOT NULL,
            finished_at   INTEGER,
            files         INTEGER NOT NULL DEFAULT 0,
            files_skipped INTEGER NOT NULL DEFAULT 0,
            files_failed  INTEGER NOT NULL DEFAULT 0,
            bytes         INTEGER NOT NULL DEFAULT 0,
            bytes_sent    INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE transfers (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id      INTEGER NOT NULL REFERENCES sessions(id),
            source          TEXT NOT NULL,
            destination     TEXT NOT NULL,
            pipeline        TEXT NOT NULL,
            source_size     INTEGER NOT NULL,
            source_version  TEXT,
            source_modified INTEGER,
            status          TEXT NOT NULL,
            sink_state      TEXT,
            bytes_confirmed INTEGER NOT NULL DEFAULT 0,
            attempts        INTEGER NOT NULL DEFAULT 1,
            last_error      TEXT,
            md5             TEXT,
            sha256          TEXT,
            output_size     INTEGER NOT NULL DEFAULT -1,
            updated_at      INTEGER NOT NULL,
            UNIQUE (source, destination, pipeline)
        );
        CREATE INDEX transfers_session ON transfers(session_id);
        CREATE TABLE chunks (
            transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
            seq         INTEGER NOT NULL,
            offset      INTEGER NOT NULL,
            length      INTEGER NOT NULL,
            input_end   INTEGER,
            checksum    TEXT NOT NULL,
            PRIMARY KEY (transfer_id, seq)
        ) WITHOUT ROWID;
        """,
        // 2: who is working on which transfer (see SqliteManifest.TryLockAsync).
        """
        CREATE TABLE locks (
            lock_id   INTEGER PRIMARY KEY,
            pid       INTEGER NOT NULL,
            pid_start INTEGER NOT NULL
        );
        """,
        // 3: the quota a publishing sink spent per account and day, and what it published by content MD5 (IUploadLedger).
        """
        CREATE TABLE quota_spent (
            account    TEXT NOT NULL,
            day        TEXT NOT NULL,
            units      INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (account, day)
        ) WITHOUT ROWID;
        CREATE TABLE upload_history (
            account     TEXT NOT NULL,
            md5         TEXT NOT NULL,
            remote_id   TEXT NOT NULL,
            source      TEXT NOT NULL,
            size        INTEGER NOT NULL,
            title       TEXT,
            uploaded_at INTEGER NOT NULL,
            PRIMARY KEY (account, md5)
        ) WITHOUT ROWID;
        CREATE INDEX upload_history_remote ON upload_history(account, remote_id);
        CREATE INDEX upload_history_time ON upload_history(account, uploaded_at);
        """,
        // 4: adapters' own state (IAdapterStateStore) in one table, replacing YouTube's quota_spent and upload_history:
        // a day's quota becomes the counter 'quota/DAY' of the quota account's scope, a published video the JSON of
        // 'upload/MD5' in the history account's scope (the layout YouTubeLedger reads).
        """
        CREATE TABLE adapter_state (
            scope      TEXT NOT NULL,
            key        TEXT NOT NULL,
            value      TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        INSERT INTO adapter_state(scope, key, value, updated_at)
            SELECT account, 'quota/' || day, CAST(units AS TEXT), updated_at FROM quota_spent;
        INSERT INTO adapter_state(scope, key, value, updated_at)
            SELECT account, 'upload/' || md5,
                json_object('videoId', remote_id, 'source', source, 'size', size, 'title', title, 'uploadedAt', uploaded_at), uploaded_at
            FROM upload_history;
        DROP TABLE quota_spent;
        DROP TABLE upload_history;
        """,
        // 5: the epoch of the transfer's current holder (TransferLease): taking a transfer increments it, and every write
        // on behalf of that work checks it, so a process that lost its lock can no longer change the record.
        """
        ALTER TABLE transfers ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
        """,
        // 6: each session's own record of what it did to each file (ManifestRows.RecordSessionFile), so that a re-run
        // no longer takes files away from the session before it. Filled from what the transfers show today.
        """
        CREATE TABLE session_files (
            session_id  INTEGER NOT NULL REFERENCES sessions(id),
            transfer_id INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
            status      TEXT NOT NULL,
            bytes       INTEGER NOT NULL,
            error       TEXT,
            md5         TEXT,
            sha256      TEXT,
            updated_at  INTEGER NOT NULL,
            PRIMARY KEY (session_id, transfer_id)
        ) WITHOUT ROWID;
        INSERT INTO session_files(session_id, transfer_id, status, bytes, error, md5, sha256, updated_at)
            SELECT session_id, id, status, CASE status WHEN 'Completed' THEN output_size ELSE bytes_confirmed END,
                CASE status WHEN 'Failed' THEN last_error END, md5, sha256, updated_at FROM transfers;
        """,
        // 7: local paths keyed with their host ("file://HOST/abs/path", Location.LocalKey), so that a manifest shared by
        // machines never lets one skip a file only another copied. A SQLite manifest is one machine's: its former local
        // keys ("/abs/path", "C:\dir") are this host's ($host, bound by MigrateAsync), and keep their records.
        """
        UPDATE transfers SET source = 'file://' || $host || CASE WHEN source LIKE '/%' THEN '' ELSE '/' END || source
            WHERE source LIKE '/%' OR source GLOB '[A-Za-z]:[\/]*';
        UPDATE transfers SET destination = 'file://' || $host || CASE WHEN destination LIKE '/%' THEN '' ELSE '/' END || destination
            WHERE destination LIKE '/%' OR destination GLOB '[A-Za-z]:[\/]*';
        UPDATE sessions SET source = 'file://' || $host || CASE WHEN source LIKE '/%' THEN '' ELSE '/' END || source
            WHERE source LIKE '/%' OR source GLOB '[A-Za-z]:[\/]*';
        UPDATE sessions SET destination = 'file://' || $host || CASE WHEN destination LIKE '/%' THEN '' ELSE '/' END || destination
            WHERE destination LIKE '/%' OR destination GLOB '[A-Za-z]:[\/]*';
        """,
        // 8: the push entry's uploads (IUploadStore): one row per upload beside its transfer, which holds the bytes the
        // destination confirmed, and the tail each upload received beyond them, as segments of bytes. One open upload
        // per destination (two would share its partial file).
        """
        CREATE TABLE uploads (
            id            TEXT PRIMARY KEY,
            transfer_id   INTEGER NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
            destination   TEXT NOT NULL,
            pipeline      TEXT NOT NULL,
            length        INTEGER,
            upload_offset INTEGER NOT NULL DEFAULT 0,
            metadata      TEXT NOT NULL,
            created_at    INTEGER NOT NULL,
            expires_at    INTEGER,
            status        TEXT NOT NULL,
            sha256        TEXT,
            md5           TEXT,
            updated_at    INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX uploads_open_destination ON uploads(destination) WHERE status = 'Open';
        CREATE INDEX uploads_expiry ON uploads(expires_at) WHERE status = 'Open' AND expires_at IS NOT NULL;
        CREATE TABLE upload_tails (
            upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
            start     INTEGER NOT NULL,
            bytes     BLOB NOT NULL,
            PRIMARY KEY (upload_id, start)
        ) WITHOUT ROWID;
        """,
        // 9: intermediate uploads (a tus partial upload waiting to be joined): their expiry holds after completion too,
        // and their object goes with them.
        """
        ALTER TABLE uploads ADD COLUMN intermediate INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX uploads_intermediate_expiry ON uploads(expires_at) WHERE intermediate = 1 AND expires_at IS NOT NULL;
        """,
        // 10: the job queue (IJobQueue): jobs with their lease, epoch and progress, one entry per run of each, the
        // workers' heartbeats and the cron schedules. A unique key is unique among the active jobs only.
        """
        CREATE TABLE jobs (
            id               INTEGER PRIMARY KEY,
            state            TEXT NOT NULL,
            phase            TEXT,
            source           TEXT NOT NULL,
            destination      TEXT NOT NULL,
            options          TEXT NOT NULL,
            user_name        TEXT,
            priority         INTEGER NOT NULL DEFAULT 0,
            run_after        INTEGER NOT NULL,
            attempt          INTEGER NOT NULL DEFAULT 0,
            max_attempts     INTEGER NOT NULL,
            runs             INTEGER NOT NULL DEFAULT 0,
            bytes_done       INTEGER NOT NULL DEFAULT 0,
            bytes_total      INTEGER NOT NULL DEFAULT -1,
            message          TEXT,
            error            TEXT,
            holder           TEXT,
            lease_expires    INTEGER,
            epoch            INTEGER NOT NULL DEFAULT 0,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            unique_key       TEXT,
            quota_scope      TEXT,
            schedule         TEXT,
            session_id       INTEGER,
            created_at       INTEGER NOT NULL,
            updated_at       INTEGER NOT NULL,
            finished_at      INTEGER
        );
        -- ClaimAsync: the ready jobs in claim order; EnqueueAsync: one active job per unique key.
        CREATE INDEX jobs_ready ON jobs(priority DESC, run_after, id) WHERE state = 'pending';
        CREATE UNIQUE INDEX jobs_unique ON jobs(unique_key) WHERE state IN ('pending', 'running');
        CREATE INDEX jobs_running ON jobs(lease_expires) WHERE state = 'running';
        CREATE INDEX jobs_state ON jobs(state, id);
        CREATE TABLE job_attempts (
            job_id        INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            run           INTEGER NOT NULL,
            worker        TEXT NOT NULL,
            started_at    INTEGER NOT NULL,
            ended_at      INTEGER,
            bytes_sent    INTEGER NOT NULL DEFAULT 0,
            bytes_resumed INTEGER NOT NULL DEFAULT 0,
            error         TEXT,
            session_id    INTEGER,
            PRIMARY KEY (job_id, run)
        );
        CREATE TABLE job_workers (
            name         TEXT PRIMARY KEY,
            host         TEXT NOT NULL,
            pid          INTEGER NOT NULL,
            concurrency  INTEGER NOT NULL,
            running      INTEGER NOT NULL,
            state        TEXT NOT NULL,
            started_at   INTEGER NOT NULL,
            heartbeat_at INTEGER NOT NULL
        );
        CREATE TABLE job_schedules (
            name         TEXT PRIMARY KEY,
            cron         TEXT NOT NULL,
            time_zone    TEXT NOT NULL,
            source       TEXT NOT NULL,
            destination  TEXT NOT NULL,
            options      TEXT NOT NULL,
            user_name    TEXT,
            priority     INTEGER NOT NULL,
            max_attempts INTEGER NOT NULL,
            next_tick    INTEGER NOT NULL,
            last_tick    INTEGER,
            created_at   INTEGER NOT NULL
        );
        CREATE INDEX jobs_schedule ON jobs(schedule, id) WHERE schedule IS NOT NULL;
        """,
        // 11: duplicates by content and schedules by file (issue 15, parts 3 and 4). A job's content key (its content's
        // hash, destination and stages) is held by one running job at a time; a completed job keeps it with the object
        // it delivered (or found delivered: duplicate_of). A schedule records each file it queued, once.
        """
        ALTER TABLE jobs ADD COLUMN content_key TEXT;
        ALTER TABLE jobs ADD COLUMN delivered TEXT;
        ALTER TABLE jobs ADD COLUMN duplicate_of INTEGER;
        CREATE INDEX jobs_content ON jobs(content_key, state) WHERE content_key IS NOT NULL;
        CREATE TABLE job_schedule_files (
            schedule  TEXT NOT NULL,
            file_key  TEXT NOT NULL,
            queued_at INTEGER NOT NULL,
            PRIMARY KEY (schedule, file_key)
        );
        """,
        // 12: the held keys' fcntl locks spread over several lock files ("NAME-locks", "NAME-locks-1"...; see
        // SqliteManifest.TryLockAsync). Nothing in the tables changes: the step is there so that an lp that knows only
        // one lock file refuses a manifest a newer lp has opened, instead of missing the locks it holds.
        """
        CREATE TABLE lock_files (count INTEGER NOT NULL);
        INSERT INTO lock_files(count) VALUES (8);
        """,
    ];
}
