#!/usr/bin/env bash
# LoadPipe ingest benchmark (issue 14): `lp serve`'s POST /api/files/upload against a bare Kestrel endpoint that streams
# each body to a file on the same disk (the ceiling, bench/ingest/Ceiling), with the same client (bench/ingest/Client,
# .NET HttpClient): 1,000 multipart uploads of 1 MiB, 16 at a time, validation (MIME from magic bytes, size limit) and
# hashing (MD5 + SHA-256) on, into one local storage element, SQLite manifest.
#
#   bash bench/ingest.sh         # a minute or two on 2 cores; prints ONE Markdown table on stdout
#
# Progress goes to stderr. Everything runs on 127.0.0.1; each server gets a free port and its own folder under
# bench/out/ingest/, and is stopped (and its data deleted) on exit, also on failure or Ctrl-C.
# Columns: uploads/s and MiB/s (first request to last answer), p50 / p99 latency of one upload (ms, request to answer),
# the server's peak RSS (VmHWM) and its CPU seconds (user + system, from /proc) per GiB uploaded, which load does not
# change. Targets (issue 14): lp serve >= 0.8x the ceiling's uploads/s, lp serve's peak RSS <= 256 MiB.
#
# Knobs: LP_BENCH_INGEST_COUNT (1000), LP_BENCH_INGEST_MIB (1), LP_BENCH_INGEST_CONCURRENCY (16),
# LP_BENCH_INGEST_DIR (bench/out/ingest), LP_BENCH_KEEP=1 (keep the data).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LP_BENCH_INGEST_DIR:-$ROOT/bench/out/ingest}"
COUNT="${LP_BENCH_INGEST_COUNT:-1000}"
MIB="${LP_BENCH_INGEST_MIB:-1}"
CONCURRENCY="${LP_BENCH_INGEST_CONCURRENCY:-16}"

log() { printf '[bench-ingest %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() { bench_stop_server; [ "${LP_BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

rm -rf "$WORK"; mkdir -p "$WORK"
bench_need_space $(( (COUNT * ${MIB%.*} * 2) / 1024 + 1 ))
bench_lp
log "building the ceiling (bench/ingest/Ceiling) and the client (bench/ingest/Client)"
dotnet publish "$ROOT/bench/ingest/Ceiling" -c Release -o "$WORK/ceiling" --nologo -v quiet >&2 || die "the ceiling does not build"
dotnet publish "$ROOT/bench/ingest/Client" -c Release -o "$WORK/client" --nologo -v quiet >&2 || die "the client does not build"

# wait_http URL: until the server answers (at most 60 s).
wait_http() {
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "$1" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited before answering"
    sleep 0.2
  done
  die "no answer from $1"
}

# cpu_seconds PID: user + system CPU seconds the process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# run NAME: drives the server at $ENDPOINT (pid SERVER_PID) and adds its table row.
run() {
  local name="$1" out rss cpu0 cpu1
  log "$name: $COUNT uploads of $MIB MiB, $CONCURRENCY at a time"
  cpu0=$(cpu_seconds "$SERVER_PID")
  out=$(dotnet "$WORK/client/Client.dll" "$ENDPOINT" "$COUNT" "$MIB" "$CONCURRENCY") || log "$name: the client reported failures"
  [ -n "$out" ] || die "$name: the client printed nothing"
  cpu1=$(cpu_seconds "$SERVER_PID")
  rss=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$SERVER_PID/status")
  bench_stop_server
  log "$name: $out, peak RSS ${rss} MiB, CPU $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{printf "%.2f", b-a}') s"
  echo "$out" >"$WORK/$(echo "$name" | tr -c "A-Za-z0-9\n" _).json"
  python3 - "$out" "$name" "$rss" "$cpu0" "$cpu1" "$COUNT" "$MIB" >>"$WORK/rows" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); name, rss = sys.argv[2], sys.argv[3]
cpu = float(sys.argv[5]) - float(sys.argv[4]); gib = int(sys.argv[6]) * float(sys.argv[7]) / 1024
err = f" ({r['first_error'][:80]})" if r.get('first_error') else ""
print(f"| {name} | {r['uploads_per_s']:.0f} | {r['mibps']:.0f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {rss} | {cpu / gib:.1f} | {r['failures']}{err} |")
PY
  echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uploads_per_s"])' >"$WORK/$(echo "$name" | tr -c "A-Za-z0-9\n" _).rate"
}

: >"$WORK/rows"

# 1. lp serve: the ingest API, one local storage element, SQLite manifest, no auth (loopback).
port=$(bench_free_port)
mkdir -p "$WORK/se1" "$WORK/uploads"
cat >"$WORK/server.yaml" <<YAML
server:
  listen: 127.0.0.1:$port
  auth: none
  uploads:
    destination: $WORK/uploads/
  limits:
    requests_per_minute: 1000000
  storage_elements:
    - { id: se1, location: $WORK/se1/, mode: edit, capacity: 100G }
  ingest:
    max_file_size: 1G
    allowed_mime_types: [application/pdf, application/msword, image/*]
YAML
$LP --config "$WORK/server.yaml" --manifest "$WORK/manifest.db" serve >"$WORK/lp-serve.log" 2>&1 &
SERVER_PID=$!
ENDPOINT="http://127.0.0.1:$port/api/files/upload"
wait_http "http://127.0.0.1:$port/health/live"
run "lp serve (ingest API)"
stored=$(find "$WORK/se1" -type f ! -name '*.attr.json' ! -path '*/.lp-*' | wc -l)
log "lp serve stored $stored objects"
rm -rf "$WORK/se1" "$WORK/uploads"

# 2. The ceiling: Kestrel streaming each body to a file on the same disk.
port=$(bench_free_port)
dotnet "$WORK/ceiling/Ceiling.dll" "http://127.0.0.1:$port" "$WORK/ceiling-files" >"$WORK/ceiling.log" 2>&1 &
SERVER_PID=$!
ENDPOINT="http://127.0.0.1:$port/api/files/upload"
wait_http "http://127.0.0.1:$port/health/live"
run "ceiling (Kestrel, body to disk)"
rm -rf "$WORK/ceiling-files"

ratio=$(awk -v a="$(cat "$WORK/lp_serve__ingest_API_.rate")" -v b="$(cat "$WORK/ceiling__Kestrel__body_to_disk_.rate")" 'BEGIN{printf "%.2f", a/b}')
echo "ingest uploads: $COUNT x $MIB MiB, $CONCURRENCY concurrent clients (.NET HttpClient), validation + MD5/SHA-256 on; lp $LP_KIND build $LP_REV; $(nproc) cores"
echo
echo "| server | uploads/s | MiB/s | p50 ms | p99 ms | peak RSS MiB | server CPU s/GiB | failed uploads |"
echo "|---|---|---|---|---|---|---|---|"
cat "$WORK/rows"
echo
echo "lp serve / ceiling: ${ratio}x uploads/s (target >= 0.8x); lp serve peak RSS target <= 256 MiB"
