#!/usr/bin/env bash
# The CPU `lp serve` spends per uploaded GiB, measured so that a machine loaded by other work changes it little: the
# server process's CPU seconds (user + system, from /proc/PID/stat) per GiB of tus upload bodies, its allocations per
# GiB (from /metrics), its peak RSS, and the client's CPU. Not a throughput benchmark: bench/tus.sh is, on a quiet machine.
#
#   bash bench/tus-cpu.sh [LP_DLL_DIR]          # default: src/LoadPipe.Cli/bin/Release/net10.0 (build it first)
#   LP_TUS_CPU_MODE=strace bash bench/tus-cpu.sh  # also the system calls of the run (strace -c -f; slows it down)
#
# Runs lp serve on dotnet with DOTNET_TieredCompilation=0 (no JIT warm-up in the figure), a local folder destination
# and a SQLite manifest, then bench/tus/driver.js (tus-js-client): 4 uploads of warm-up, then LP_TUS_CPU_COUNT (64)
# uploads of LP_TUS_CPU_MIB (16) MiB in PATCHes of LP_TUS_CPU_CHUNK_MIB (4) MiB, without idle connections.
# LP_TUS_CPU_CEILING=1 measures bench/tus/Ceiling (bare Kestrel) instead of lp serve.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPM="$ROOT/.artifacts/npm"
DLLS="${1:-$ROOT/src/LoadPipe.Cli/bin/Release/net10.0}"
MODE="${LP_TUS_CPU_MODE:-plain}"
COUNT="${LP_TUS_CPU_COUNT:-64}"
MIB="${LP_TUS_CPU_MIB:-16}"
CHUNK="${LP_TUS_CPU_CHUNK_MIB:-4}"

log() { printf '[tus-cpu %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
[ -d "$NPM/node_modules/tus-js-client" ] || die "tus-js-client is not in $NPM (see bench/tus.sh)"
[ "$MODE" = plain ] || command -v strace >/dev/null || die "strace is not installed"

WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(shuf -i 20000-40000 -n 1)
mkdir -p "$WORK/uploads"
cat >"$WORK/server.yaml" <<YAML
server:
  listen: 127.0.0.1:$PORT
  auth: none
  uploads:
    destination: $WORK/uploads/
YAML
export DOTNET_TieredCompilation=0
if [ "${LP_TUS_CPU_CEILING:-0}" = 1 ]; then
  dotnet publish "$ROOT/bench/tus/Ceiling" -c Release -o "$WORK/ceiling" --nologo -v quiet >&2 || die "the ceiling does not build"
  dotnet "$WORK/ceiling/Ceiling.dll" "http://127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
else
  [ -f "$DLLS/lp.dll" ] || die "no lp.dll in $DLLS: dotnet build src/LoadPipe.Cli -c Release"
  dotnet "$DLLS/lp.dll" --config "$WORK/server.yaml" --manifest "$WORK/manifest.db" serve >"$WORK/server.log" 2>&1 &
fi
PID=$!
for _ in $(seq 1 300); do
  curl -s -o /dev/null -X OPTIONS "http://127.0.0.1:$PORT/files/" && break
  kill -0 "$PID" 2>/dev/null || die "the server exited: $(tail -3 "$WORK/server.log")"
  sleep 0.2
done

drive() { NODE_PATH="$NPM/node_modules" node "$ROOT/bench/tus/driver.js" "http://127.0.0.1:$PORT/files/" "$1" "$MIB" "$CHUNK" 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
allocated() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^dotnet_gc_heap_total_allocated_bytes_total/{print $2}'; }

drive 4 >/dev/null
a0=$(allocated || true)
c0=$(cpu_ticks)
if [ "$MODE" = strace ]; then
  strace -c -f -p "$PID" -o "$WORK/strace.txt" 2>/dev/null & TRACER=$!
  sleep 1
fi
/usr/bin/env time -f "%U %S" -o "$WORK/client.time" bash -c "$(declare -f drive); NPM='$NPM' ROOT='$ROOT' PORT='$PORT' MIB='$MIB' CHUNK='$CHUNK' drive $COUNT" >"$WORK/run.json"
c1=$(cpu_ticks)
a1=$(allocated || true)
rss=$(awk '/VmHWM/{print int($2 / 1024)}' "/proc/$PID/status")
if [ "$MODE" = strace ]; then kill -INT "$TRACER"; wait "$TRACER" || true; fi

node -e '
  const [run, ticks, hz, count, mib, a0, a1, rss, client] = process.argv.slice(1);
  const r = JSON.parse(run), gib = Number(count) * Number(mib) / 1024;
  const [cu, cs] = client.trim().split(/\s+/).map(Number);
  const out = { gib, patches: r.patches, failures: r.failures, serverCpuSecondsPerGiB: +(Number(ticks) / Number(hz) / gib).toFixed(3),
    clientCpuSecondsPerGiB: +((cu + cs) / gib).toFixed(3), peakRssMiB: Number(rss) };
  if (a0 && a1) out.allocatedMiBPerGiB = +((Number(a1) - Number(a0)) / 1048576 / gib).toFixed(1);
  console.log(JSON.stringify(out));
  ' "$(cat "$WORK/run.json")" "$((c1 - c0))" "$(getconf CLK_TCK)" "$COUNT" "$MIB" "$a0" "$a1" "$rss" "$(cat "$WORK/client.time")"
[ "$MODE" = strace ] && head -25 "$WORK/strace.txt"
exit 0
