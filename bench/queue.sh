#!/usr/bin/env bash
# LoadPipe job queue benchmark (issue 15), on one PostgreSQL:
#   1. empty-transfer jobs per second with 1, 2 and 4 workers, lp worker against Hangfire 1.8.25 with
#      Hangfire.PostgreSql 1.21.1 (bench/queue/HangfirePeer) running the same number of no-op jobs;
#   2. idle pickup latency, p50 and p99: a job added while one worker waits, until its run starts (from the
#      manifest: the attempt's started_at minus the job's created_at);
#   3. throughput of 100 x 10 MiB local transfers with 1 and 2 workers.
#
#   LP_BENCH_POSTGRES='Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres' bash bench/queue.sh
#
# Prints ONE Markdown table on stdout; progress on stderr. Each run gets a database of its own (dropped at the end).
# Targets: lp >= 2x Hangfire's jobs per second; idle pickup p99 < 100 ms.
# Knobs: LP_BENCH_QUEUE_JOBS (2000), LP_BENCH_QUEUE_PICKUPS (100), LP_BENCH_QUEUE_FILES (100),
# LP_BENCH_QUEUE_FILE_MIB (10), LP_BENCH_QUEUE_DIR (bench/out/queue), LP_BENCH_PROGRAM (an lp to run instead of
# building ./lp, e.g. "dotnet src/LoadPipe.Cli/bin/Release/net10.0/lp.dll" for a smoke run), LP_BENCH_KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LP_BENCH_QUEUE_DIR:-$ROOT/bench/out/queue}"
JOBS="${LP_BENCH_QUEUE_JOBS:-2000}"
PICKUPS="${LP_BENCH_QUEUE_PICKUPS:-100}"
FILES="${LP_BENCH_QUEUE_FILES:-100}"
FILE_MIB="${LP_BENCH_QUEUE_FILE_MIB:-10}"
SERVER="${LP_BENCH_POSTGRES:-${LP_TEST_POSTGRES:-}}"

log() { printf '[bench-queue %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

[ -n "$SERVER" ] || die "set LP_BENCH_POSTGRES to a PostgreSQL connection string (Host=...;Port=...;Username=...;Database=postgres)"
command -v psql >/dev/null || bench_install postgresql-client
kv() { printf '%s' "$SERVER" | tr ';' '\n' | awk -F= -v k="$1" 'tolower($1)==tolower(k){print $2}'; }
PGHOST=$(kv Host); PGPORT=$(kv Port); PGUSER=$(kv Username); export PGHOST PGPORT PGUSER
[ -n "$(kv Password)" ] && export PGPASSWORD="$(kv Password)"
DATABASES=()
WORKER_PIDS=()
cleanup() {
  for pid in "${WORKER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for db in "${DATABASES[@]}"; do psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  [ "${LP_BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

# new_db NAME: creates a database of this run and prints its connection string.
new_db() {
  local db="lp_bench_${1}_$$"
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  DATABASES+=("$db")
  printf 'Host=%s;Port=%s;Username=%s;Database=%s%s' "$PGHOST" "$PGPORT" "$PGUSER" "$db" "${PGPASSWORD:+;Password=$PGPASSWORD}"
}
sql() { psql -qtA -d "$1" -c "$2"; }

rm -rf "$WORK"; mkdir -p "$WORK"
if [ -n "${LP_BENCH_PROGRAM:-}" ]; then LP="$LP_BENCH_PROGRAM"; LP_KIND="given"; LP_REV="$(git -C "$ROOT" rev-parse --short HEAD)"
else bench_lp; fi
log "building the Hangfire peer (bench/queue/HangfirePeer)"
dotnet publish "$ROOT/bench/queue/HangfirePeer" -c Release -o "$WORK/hangfire" --nologo -v quiet >&2 || die "the Hangfire peer does not build"

# queue_empty_jobs CONN N: N jobs copying an empty file each, queued in one INSERT (queuing is not what is measured,
# and N `lp jobs add` processes would take minutes); the other measures queue through `lp jobs add`.
queue_empty_jobs() {
  local conn="$1" n="$2" db; db=$(printf '%s' "$conn" | tr ';' '\n' | awk -F= 'tolower($1)=="database"{print $2}')
  mkdir -p "$WORK/empty" "$WORK/out-empty"
  : > "$WORK/empty/e.bin"
  $LP jobs list --manifest "$conn" >/dev/null   # creates the schema
  sql "$db" "INSERT INTO jobs(state, source, destination, options, priority, run_after, max_attempts, created_at, updated_at)
    SELECT 'pending', '$WORK/empty/e.bin', '$WORK/out-empty/e' || g || '.bin', '{}', 0, 0, 3, 0, 0 FROM generate_series(1, $n) g" >/dev/null
}

# run_lp_workers CONN W: W worker processes (concurrency 1 each) until the queue is empty; prints the wall seconds
# (process starts included).
run_lp_workers() {
  local conn="$1" w="$2" start end pids=()
  start=$(date +%s.%N)
  for _ in $(seq 1 "$w"); do $LP worker --exit-when-idle --no-schedules --poll 50ms -q --manifest "$conn" & pids+=($!); done
  WORKER_PIDS=("${pids[@]}")
  for pid in "${pids[@]}"; do wait "$pid" || die "lp worker failed"; done
  WORKER_PIDS=()
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN{printf "%.3f", b-a}'
}

# run_seconds DB: from the first attempt's start to the last job's end, in seconds.
run_seconds() { sql "$1" "SELECT GREATEST(MAX(j.finished_at) - MIN(a.started_at), 1) / 1000.0 FROM jobs j JOIN job_attempts a ON a.job_id = j.id"; }

ROWS=()
for w in 1 2 4; do
  conn=$(new_db "lp$w"); db=${conn##*Database=}; db=${db%%;*}
  log "lp: $JOBS empty-transfer jobs, $w worker(s)"
  queue_empty_jobs "$conn" "$JOBS"
  run_lp_workers "$conn" "$w" >/dev/null
  # As Hangfire's figure, from the first run's start to the last job's end (the manifest's times), without start-up.
  secs=$(run_seconds "$db")
  done_count=$(sql "$db" "SELECT count(*) FROM jobs WHERE state = 'completed'")
  [ "$done_count" = "$JOBS" ] || die "lp completed $done_count of $JOBS jobs; the others: $(sql "$db" "SELECT id || ' ' || state || ': ' || COALESCE(error, '') FROM jobs WHERE state <> 'completed' LIMIT 5")"
  lp_rate=$(awk -v n="$JOBS" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')
  hconn=$(new_db "hf$w")
  log "Hangfire: $JOBS no-op jobs, $w worker(s)"
  read -r _ hsecs < <(dotnet "$WORK/hangfire/HangfirePeer.dll" "$hconn" "$JOBS" "$w")
  hf_rate=$(awk -v n="$JOBS" -v s="$hsecs" 'BEGIN{printf "%.0f", n/s}')
  ROWS+=("| jobs/s, $w worker(s), $JOBS jobs | $lp_rate | $hf_rate | $(awk -v a="$lp_rate" -v b="$hf_rate" 'BEGIN{printf "%.2fx", a/b}') |")
done

log "idle pickup latency: $PICKUPS jobs added one by one while one worker waits"
conn=$(new_db pickup); db=${conn##*Database=}; db=${db%%;*}
mkdir -p "$WORK/pick" && : > "$WORK/pick/p.bin"
$LP jobs list --manifest "$conn" >/dev/null
$LP worker --no-schedules -q --manifest "$conn" & WORKER_PIDS=($!)
sleep 2
for i in $(seq 1 "$PICKUPS"); do
  # Through lp's own queue (IJobQueue.EnqueueAsync: the row and its NOTIFY); the latency runs from the row's
  # created_at, so lp's start-up is not in it.
  $LP jobs add "$WORK/pick/p.bin" "$WORK/pick-out/p$i.bin" -q --manifest "$conn" >/dev/null
  for _ in $(seq 1 500); do
    [ "$(sql "$db" "SELECT count(*) FROM job_attempts")" -ge "$i" ] && break
    sleep 0.01
  done
  sleep 0.05
done
kill "${WORKER_PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; WORKER_PIDS=()
read -r p50 p99 < <(sql "$db" "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY a.started_at - j.created_at)::numeric, 1),
  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY a.started_at - j.created_at)::numeric, 1) FROM jobs j JOIN job_attempts a ON a.job_id = j.id AND a.run = 1" | tr '|' ' ')
ROWS+=("| idle pickup p50 / p99, ms ($PICKUPS jobs; NOTIFY wake-up) | $p50 / $p99 | - | target p99 < 100 |")

for w in 1 2; do
  log "throughput: $FILES x $FILE_MIB MiB, $w worker(s)"
  conn=$(new_db "big$w"); db=${conn##*Database=}; db=${db%%;*}
  rm -rf "$WORK/big" "$WORK/big-out"; mkdir -p "$WORK/big" "$WORK/big-out"
  for i in $(seq 1 "$FILES"); do head -c $((FILE_MIB << 20)) /dev/urandom > "$WORK/big/f$i.bin"; done
  for i in $(seq 1 "$FILES"); do $LP jobs add "$WORK/big/f$i.bin" "$WORK/big-out/" -q --manifest "$conn" >/dev/null; done
  run_lp_workers "$conn" "$w" >/dev/null
  secs=$(run_seconds "$db")
  ROWS+=("| $FILES x $FILE_MIB MiB local, $w worker(s), MiB/s | $(awk -v n="$FILES" -v m="$FILE_MIB" -v s="$secs" 'BEGIN{printf "%.0f", n*m/s}') | - | - |")
done

echo "lp $LP_KIND build, $LP_REV; PostgreSQL at $PGHOST:$PGPORT; $(nproc) cores"
echo
echo "| measure | lp worker | Hangfire 1.8.25 + PostgreSql 1.21.1 | lp / Hangfire |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
