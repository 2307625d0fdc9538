#!/usr/bin/env bash
# LoadPipe tus benchmark: `lp serve` against the reference server (@tus/server 2.4.5 + @tus/file-store 2.1.1) and a
# bare Kestrel endpoint that discards the bodies (the ceiling), with the same client: tus-js-client 4.3.1 in one Node
# process, 32 concurrent uploads of 16 MiB (PATCHes of 4 MiB), while 1,000 idle TCP connections are held open to the
# server under test.
#
#   bash bench/tus.sh            # a few minutes on 2 cores; prints ONE Markdown table on stdout
#
# Progress goes to stderr. Everything runs on 127.0.0.1; each server gets a free port and its own folder under
# bench/out/tus/, and is stopped (and its data deleted) on exit, also on failure or Ctrl-C.
# Columns: throughput (MiB/s of upload bodies, first POST to last 204), p50 / p99 PATCH latency (ms, from the client's
# request to the server's answer), the server's peak RSS (VmHWM of its process), and the idle connections still open
# at the end (of 1,000). Targets (issue 13): lp serve >= 1.5x @tus/server's throughput, or >= 0.9x the ceiling where
# the ceiling is lower than that; lp serve's RSS <= 256 MiB; uploads progressing while the 1,000 idle connections stay.
#
# Knobs: LP_BENCH_TUS_COUNT (32), LP_BENCH_TUS_MIB (16), LP_BENCH_TUS_CHUNK_MIB (4), LP_BENCH_TUS_IDLE (1000),
# LP_BENCH_TUS_DIR (bench/out/tus), LP_BENCH_KEEP=1 (keep the data).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LP_BENCH_TUS_DIR:-$ROOT/bench/out/tus}"
COUNT="${LP_BENCH_TUS_COUNT:-32}"
MIB="${LP_BENCH_TUS_MIB:-16}"
CHUNK="${LP_BENCH_TUS_CHUNK_MIB:-4}"
IDLE="${LP_BENCH_TUS_IDLE:-1000}"
NPM="$ROOT/.artifacts/npm"

log() { printf '[bench-tus %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() { bench_stop_server; [ "${LP_BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

command -v node >/dev/null 2>&1 || bench_install nodejs npm
if [ ! -d "$NPM/node_modules/@tus/server" ] || [ ! -d "$NPM/node_modules/tus-js-client" ] || [ ! -d "$NPM/node_modules/@tus/file-store" ]; then
  log "installing @tus/server, @tus/file-store and tus-js-client from npm"
  mkdir -p "$NPM"
  npm install --silent --no-audit --no-fund --prefix "$NPM" @tus/server@2.4.5 @tus/file-store@2.1.1 tus-js-client@4.3.1 >&2
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
rm -rf "$WORK"; mkdir -p "$WORK"
bench_need_space 2
bench_lp
log "building the ceiling (bench/tus/Ceiling)"
dotnet publish "$ROOT/bench/tus/Ceiling" -c Release -o "$WORK/ceiling" --nologo -v quiet >&2 || die "the ceiling does not build"

# wait_http URL: until the server answers OPTIONS (at most 60 s).
wait_http() {
  for _ in $(seq 1 300); do
    curl -s -o /dev/null -X OPTIONS "$1" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited before answering"
    sleep 0.2
  done
  die "no answer from $1"
}

# run NAME: starts nothing; drives the server at $ENDPOINT (pid SERVER_PID) and prints the table row.
run() {
  local name="$1" out rss
  log "$name: $COUNT uploads of $MIB MiB, $IDLE idle connections"
  out=$(NODE_PATH="$NPM/node_modules" node "$ROOT/bench/tus/driver.js" "$ENDPOINT" "$COUNT" "$MIB" "$CHUNK" "$IDLE") || die "$name: the driver failed"
  rss=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$SERVER_PID/status")
  bench_stop_server
  log "$name: $out, peak RSS ${rss} MiB"
  node -e '
    const r = JSON.parse(process.argv[1]);
    const f = (x) => x.toFixed(0);
    console.log(`| ${process.argv[2]} | ${f(r.mibps)} | ${f(r.p50)} | ${f(r.p99)} | ${process.argv[3]} | ${r.idleAtEnd} / ${r.idleAtStart} | ${r.failures}${r.firstError ? " (" + r.firstError + ")" : ""} |`);
    ' "$out" "$name" "$rss" >>"$WORK/rows"
  echo "$out" >"$WORK/$(echo "$name" | tr -c "A-Za-z0-9\n" _).json"
}

: >"$WORK/rows"

# 1. lp serve, local disk destination, SQLite manifest, no auth (loopback).
port=$(bench_free_port)
mkdir -p "$WORK/lp-uploads"
cat >"$WORK/server.yaml" <<YAML
server:
  listen: 127.0.0.1:$port
  auth: none
  uploads:
    destination: $WORK/lp-uploads/
YAML
$LP --config "$WORK/server.yaml" --manifest "$WORK/manifest.db" serve >"$WORK/lp-serve.log" 2>&1 &
SERVER_PID=$!
ENDPOINT="http://127.0.0.1:$port/files/"
wait_http "$ENDPOINT"
run "lp serve"
rm -rf "$WORK/lp-uploads"

# 2. @tus/server with @tus/file-store.
port=$(bench_free_port)
mkdir -p "$WORK/ref-uploads"
NODE_PATH="$NPM/node_modules" node "$ROOT/tests/tus/reference-server.js" "$port" "$WORK/ref-uploads" >"$WORK/ref.log" 2>&1 &
SERVER_PID=$!
ENDPOINT="http://127.0.0.1:$port/files/"
wait_http "$ENDPOINT"
run "@tus/server + file-store"
rm -rf "$WORK/ref-uploads"

# 3. The ceiling: Kestrel discarding the bodies.
port=$(bench_free_port)
dotnet "$WORK/ceiling/Ceiling.dll" "http://127.0.0.1:$port" >"$WORK/ceiling.log" 2>&1 &
SERVER_PID=$!
ENDPOINT="http://127.0.0.1:$port/files/"
wait_http "$ENDPOINT"
run "ceiling (Kestrel, bodies discarded)"

echo "tus uploads: $COUNT x $MIB MiB, PATCHes of $CHUNK MiB, tus-js-client 4.3.1 in one Node process; lp $LP_KIND build $LP_REV; $(nproc) cores"
echo
echo "| server | MiB/s | p50 PATCH ms | p99 PATCH ms | peak RSS MiB | idle connections open (end / start) | failed uploads |"
echo "|---|---|---|---|---|---|---|"
cat "$WORK/rows"
