#!/usr/bin/env bash
# lp fetch against the tools its users would otherwise script together (issue 16, part 7), on loopback against one
# HTTP server (rclone serve http):
#
#   bash bench/fetch.sh          # full run: 10,000 x 64 KiB, 100 x 50 MiB, RSS at 10,000 and 100,000 entries
#
# Peers: `aria2c -i LIST -j 16` then `sha256sum`, and `xargs -P 16 curl` then `sha256sum` (their hashing is in their
# time, as lp's is in its). Prints ONE Markdown table on stdout; progress on stderr; data under bench/out/fetch
# (deleted at the end unless LP_BENCH_KEEP=1).
# Knobs: FETCH_SMALL (10000), FETCH_BIG (100), FETCH_BIG_MIB (50), FETCH_RSS_ENTRIES (100000, each a 1 KiB file),
# FETCH_JOBS (16), LP_BENCH_DIR, LP_BENCH_TIMEOUT (seconds per command, 1800), LP_BENCH_LP (a command to run lp with
# instead of building ./lp, e.g. "dotnet src/LoadPipe.Cli/bin/Release/net10.0/lp.dll": for a quick check of the script).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LP_BENCH_DIR:-$ROOT/bench/out}/fetch"
SMALL="${FETCH_SMALL:-10000}"
BIG="${FETCH_BIG:-100}"
BIG_MIB="${FETCH_BIG_MIB:-50}"
RSS_ENTRIES="${FETCH_RSS_ENTRIES:-100000}"
JOBS="${FETCH_JOBS:-16}"
TMO="${LP_BENCH_TIMEOUT:-1800}"

log() { printf '[bench-fetch %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need=()
[ -x /usr/bin/time ] || need+=(time)
command -v aria2c >/dev/null 2>&1 || need+=(aria2)
for t in curl rclone; do command -v "$t" >/dev/null 2>&1 || need+=("$t"); done
bench_install "${need[@]}"

cleanup() {
  bench_stop_server
  [ "${LP_BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$WORK"
mkdir -p "$WORK/srv/small" "$WORK/srv/big" "$WORK/srv/tiny" "$WORK/tmp"

if [ -n "${LP_BENCH_LP:-}" ]; then LP="$LP_BENCH_LP"; LP_KIND=given; else bench_lp; fi
bench_need_space $(( (SMALL * 64 / 1024 + BIG * BIG_MIB) * 3 / 1024 + 2 ))

# ---------------------------------------------------------------- data and server
log "writing $SMALL x 64 KiB, $BIG x $BIG_MIB MiB and $RSS_ENTRIES x 1 KiB files"
head -c $((64 << 10)) /dev/urandom >"$WORK/tmp/seed64k"
# hard links to one seed file each (python3 makes 100,000 in a second; `ln` in a loop takes minutes)
# (a file system allows ~65,000 links to one inode: a copy of the seed starts each 50,000)
links() {
  python3 - "$@" <<'PY'
import os, shutil, sys
seed, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(1, count + 1):
    if i % 50000 == 1:
        source = f"{seed}.{i}"
        shutil.copyfile(seed, source)
    os.link(source, f"{folder}/{i}.bin")
PY
}
links "$WORK/tmp/seed64k" "$WORK/srv/small" "$SMALL"
for i in $(seq 1 "$BIG"); do head -c $((BIG_MIB << 20)) /dev/urandom >"$WORK/srv/big/$i.bin"; done
head -c 1024 /dev/urandom >"$WORK/tmp/seed1k"
links "$WORK/tmp/seed1k" "$WORK/srv/tiny" "$RSS_ENTRIES"

PORT=$(bench_free_port)
env -u AWS_CA_BUNDLE rclone serve http "$WORK/srv" --addr "127.0.0.1:$PORT" --read-only >"$WORK/tmp/rclone.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -fsI "$BASE/small/1.bin" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsI "$BASE/small/1.bin" >/dev/null || { cat "$WORK/tmp/rclone.log" >&2; die "rclone serve http did not start"; }
for kind in small big tiny; do
  n=$SMALL; [ "$kind" = big ] && n=$BIG; [ "$kind" = tiny ] && n=$RSS_ENTRIES
  seq 1 "$n" | sed "s|^|$BASE/$kind/|; s|\$|.bin|" >"$WORK/tmp/$kind.txt"
done

# ---------------------------------------------------------------- measuring
# timed NAME CMD: runs CMD through bash with /usr/bin/time; records NAME's seconds and peak RSS (KiB).
declare -A SECS RSS
timed() {
  local name=$1 cmd=$2
  rm -rf "$WORK/dst" "$WORK/tmp/m.db"*; mkdir -p "$WORK/dst"
  sync
  timeout "$TMO" /usr/bin/time -f '%e %M' -o "$WORK/tmp/usage" bash -c "$cmd" >"$WORK/tmp/$name.out" 2>"$WORK/tmp/$name.err" \
    || { tail -5 "$WORK/tmp/$name.err" >&2; die "$name failed"; }
  read -r SECS[$name] RSS[$name] <"$WORK/tmp/usage"
  log "$name: ${SECS[$name]} s, peak RSS $((${RSS[$name]} / 1024)) MiB"
}
lp_fetch() { echo "$LP fetch --files $WORK/tmp/$1.txt --processor sha256 --downloads $JOBS --per-host $JOBS --processors 2 --post-processor jsonl:$WORK/dst/results.jsonl --manifest $WORK/tmp/m.db --quiet"; }
aria() { echo "aria2c -q -i $WORK/tmp/$1.txt -j $JOBS -d $WORK/dst --allow-overwrite=true --auto-file-renaming=false && find $WORK/dst -type f -print0 | xargs -0 sha256sum >/dev/null"; }
# 64 URLs per curl (its connection reused between them), each saved under its own name (N.bin).
curls() { echo "cd $WORK/dst && xargs -P $JOBS -n 64 curl -fsS --remote-name-all <$WORK/tmp/$1.txt && find . -type f -print0 | xargs -0 sha256sum >/dev/null"; }

for kind in small big; do
  timed "lp_$kind" "$(lp_fetch $kind)"
  [ "$(grep -c '"status":"done"' "$WORK/dst/results.jsonl")" = "$([ $kind = small ] && echo "$SMALL" || echo "$BIG")" ] || die "lp_$kind: not every file done"
  timed "aria2c_$kind" "$(aria $kind)"
  timed "curl_$kind" "$(curls $kind)"
done
timed lp_rss_tiny "$(lp_fetch tiny)"

fps() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/s}'; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN{printf "%.0f", b/s/1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b/a}'; }
SMALL_BYTES=$((SMALL * 65536)); BIG_BYTES=$((BIG * BIG_MIB * 1048576))
cat <<EOT
| case | lp fetch (sha256) | aria2c -j $JOBS + sha256sum | xargs -P $JOBS curl + sha256sum | lp vs aria2c | lp vs curl | target |
| --- | --- | --- | --- | --- | --- | --- |
| $SMALL x 64 KiB | $(fps "$SMALL" "${SECS[lp_small]}") files/s, RSS $((${RSS[lp_small]} / 1024)) MiB | $(fps "$SMALL" "${SECS[aria2c_small]}") files/s | $(fps "$SMALL" "${SECS[curl_small]}") files/s | $(ratio "${SECS[lp_small]}" "${SECS[aria2c_small]}")x | $(ratio "${SECS[lp_small]}" "${SECS[curl_small]}")x | ≥ 1.0x aria2c |
| $BIG x $BIG_MIB MiB | $(mbs "$BIG_BYTES" "${SECS[lp_big]}") MB/s, RSS $((${RSS[lp_big]} / 1024)) MiB | $(mbs "$BIG_BYTES" "${SECS[aria2c_big]}") MB/s | $(mbs "$BIG_BYTES" "${SECS[curl_big]}") MB/s | $(ratio "${SECS[lp_big]}" "${SECS[aria2c_big]}")x | $(ratio "${SECS[lp_big]}" "${SECS[curl_big]}")x | ≥ 0.9x curl |
| peak RSS by entries | $((${RSS[lp_small]} / 1024)) MiB at $SMALL, $((${RSS[lp_rss_tiny]} / 1024)) MiB at $RSS_ENTRIES | — | — | — | — | flat |
EOT
log "lp: $LP_KIND build"
