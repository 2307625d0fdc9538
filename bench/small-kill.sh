#!/usr/bin/env bash
# The kill -9 test of issue 17 at its full count: 100,000 small files, lp killed once a tenth are recorded complete.
#
#   bash bench/small-kill.sh     # ~1 minute on 2 cores (and the tests' build); prints ONE Markdown table on stdout
#
# Runs the end-to-end test SmallFilesKillTests (tests/LoadPipe.EndToEnd.Tests) with LP_TEST_SMALL_KILL_FILES files
# (default 100000, as the suite does) against ./lp's build (native where it can be made): every file recorded
# complete must be at its final name with the recorded SHA-256 and the source's bytes, every final name must hold the
# source's bytes, and the re-run must finish the rest (all files copied, none failed, no partial file left). The table
# gives the verdict and the time of each phase (writing the source tree, the copy up to the kill, the checks, the
# re-run, the last check, removing the 2 x N files), which says where a run of this size spends its time.
# Knobs: LP_TEST_SMALL_KILL_FILES (the count).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/bench/out/small-kill"
FILES="${LP_TEST_SMALL_KILL_FILES:-100000}"

log() { printf '[bench-small-kill %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

rm -rf "$WORK"
mkdir -p "$WORK"
bench_lp
log "building the end-to-end tests"
dotnet build "$ROOT/tests/LoadPipe.EndToEnd.Tests" -c Release --nologo -v quiet >&2 || die "the tests do not build"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "running SmallFilesKillTests with $FILES files (load $load_start)"
status=pass
program=""
[ "$LP_KIND" = native ] && program="$LP"   # else the test runs `dotnet lp.dll` of its own build
if ! LP_TEST_SMALL_KILL_FILES="$FILES" LP_TEST_PROGRAM="$program" dotnet test "$ROOT/tests/LoadPipe.EndToEnd.Tests" -c Release --no-build \
     --nologo --filter "FullyQualifiedName~SmallFilesKillTests" --logger "console;verbosity=detailed" >"$WORK/test.out" 2>&1; then
  status=FAIL
  tail -40 "$WORK/test.out" >&2
fi

echo "| kill -9 test, $FILES small files (lp $LP_KIND build of $LP_REV; load avg $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end) | seconds from the start |"
echo "|---|---|"
grep -E '^ +[0-9]+\.[0-9]+ s  ' "$WORK/test.out" | sed -E 's/^ +([0-9.]+) s  (.*)$/| \2 | \1 |/' || true
echo "| **verdict** (recorded files intact, every final name whole, the re-run finished the rest) | **$status** |"
[ "$status" = pass ]
