#!/usr/bin/env bash
# LoadPipe benchmarks: lp against the peer tools doing the same job alone, on this machine.
#
#   bash bench/run.sh            # 4-6 minutes on 2 cores; prints ONE Markdown table on stdout
#
# Progress goes to stderr. Everything big is written under bench/out/ (gitignored) and deleted at the end.
# Knobs (environment): LP_BENCH_DIR (work folder, default bench/out), LP_BENCH_RUNS (runs per tool, best is
# kept, default 5), LP_BENCH_KEEP=1 (keep the data files), LP_BENCH_TIMEOUT (seconds per command, default 300),
# LP_BENCH_NICE (e.g. -10: run every measured command, and the HTTP server, at that niceness, so builds and tests
# running at the same time on a shared machine disturb the figures less; default 0, unchanged), LP_BENCH_BALLAST_MIB
# (page cache written and freed before every run, see run_one; default 1536, 0 for none).
#
# What is timed is the wall-clock time of the whole process, start-up included (a few ms for cp/zstd/curl;
# 0.1-0.5 s for lp's .NET runtime, measured with `lp --version` and logged). Every source file is read once
# before it is timed, so all runs read from the page cache (dropping the cache needs privileges a container
# usually lacks). Before each run the previous output is deleted and `sync` flushes dirty pages, so no run pays
# for the writeback of another.
# MB/s are decimal (10^6 bytes per second); sizes are binary (1 GiB = 1073.7 MB). Next to each speed is the
# CPU time (user + sys, from /usr/bin/time) of that run: on a shared 2-core machine other jobs steal wall time,
# CPU time is much less sensitive to them, so it shows the cost of the work itself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LP_BENCH_DIR:-$ROOT/bench/out}"
# Five rounds: on this VM a process writing a GiB sometimes pays 1-3 s of extra system time in the kernel's copy into
# the page cache (lp and cp both, at random: see docs/benchmarks.md), so the best of three was often no clean run.
RUNS="${LP_BENCH_RUNS:-5}"
TMO="${LP_BENCH_TIMEOUT:-300}"
NICE="${LP_BENCH_NICE:-0}"
BALLAST_MIB="${LP_BENCH_BALLAST_MIB:-1536}"
PRIO=""; [ "$NICE" = 0 ] || PRIO="nice -n $NICE"
GIB=$((1 << 30))

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- tools, work area, cleanup, lp
need=()
[ -x /usr/bin/time ] || need+=(time)
for t in zstd curl rclone openssl; do command -v "$t" >/dev/null 2>&1 || need+=("$t"); done
bench_install "${need[@]}"

cleanup() {
  bench_stop_server
  if [ "${LP_BENCH_KEEP:-0}" != 1 ]; then
    rm -rf "$WORK/data" "$WORK/dst" "$WORK/srv" "$WORK/tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK/data" "$WORK/dst" "$WORK/srv" "$WORK/tmp"
mkdir -p "$WORK/data" "$WORK/dst" "$WORK/srv" "$WORK/tmp"
bench_lp
bench_need_space 14

# ---------------------------------------------------------------- measuring
# run_one NAME PREP CMD ROUND [CHECK]: runs PREP then CMD (both through eval, so CMD may redirect) once under
# /usr/bin/time, then CHECK (not timed; it fails the script if the output is wrong), and keeps the run if it is
# NAME's fastest so far. Sets T[NAME] (seconds), C[NAME] (CPU seconds, user + sys) and
# R[NAME] (peak RSS in KiB) for that run.
# Before every run, of every tool, a ballast file of BALLAST_MIB is written and deleted. This VM hands memory the guest
# leaves free back to its host (free page reporting), and a process writing a GiB into such memory pays 1.3-2.5 s of
# extra system time (docs/benchmarks.md, "The slow state"); memory freed a moment ago is still backed. Without the
# ballast, which tool met which state depended on what ran before it (a tool that started right after a GiB of output
# was deleted got the fast memory): with it, every tool starts in the fast state.
declare -A T C R
ballast() {
  [ "$BALLAST_MIB" -gt 0 ] || return 0
  head -c "${BALLAST_MIB}M" /dev/zero >"$WORK/tmp/ballast"
  rm -f "$WORK/tmp/ballast"
}
run_one() {
  local name=$1 prep=$2 cmd=$3 round=$4 check=${5:-:} t0 t1 s rf="$WORK/tmp/usage" m u y
  eval "$prep"
  ballast
  sync
  t0=$(date +%s%N)
  if ! eval "timeout $TMO $PRIO /usr/bin/time -f '%M %U %S' -o $rf $cmd" >&2; then die "$name: command failed: $cmd"; fi
  t1=$(date +%s%N)
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
  read -r m u y < <(tail -1 "$rf")
  eval "$check" || die "$name: wrong output after run $round"
  log "  $name run $round: ${s}s, CPU ${u}+${y}s, peak RSS $((m / 1024)) MiB, load $(cut -d' ' -f1 /proc/loadavg)"
  if [ -z "${T[$name]:-}" ] || awk -v x="$s" -v y="${T[$name]}" 'BEGIN{exit !(x<y)}'; then
    T[$name]=$s; R[$name]=$m; C[$name]=$(awk -v a="$u" -v b="$y" 'BEGIN{printf "%.1f", a+b}')
  fi
}

# run_rounds SPEC...: each SPEC is NAME<TAB>PREP<TAB>CMD<TAB>CHECK (see spec). RUNS rounds; in each round every tool
# runs once, the order rotated by one each round, so each tool goes first once: whatever one tool's run leaves behind
# (dirty pages being written back, a server's warm state) falls on each of the others in turn.
TAB=$'\t'
run_rounds() {
  local specs=("$@") n=$# i j name prep cmd check
  for ((i = 1; i <= RUNS; i++)); do
    for ((j = 0; j < n; j++)); do
      IFS="$TAB" read -r name prep cmd check <<<"${specs[$(( (j + i - 1) % n ))]}"
      run_one "$name" "$prep" "$cmd" "$i" "$check"
    done
  done
}
spec() { printf '%s\t%s\t%s\t%s' "$1" "$2" "$3" "${4:-:}"; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN{printf "%.0f", b/s/1e6}'; }      # bytes seconds -> MB/s
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
min_of() { printf '%s\n' "$@" | sort -g | head -1; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a>=b)}'; }
warm() { log "warm-up read of $(basename "$1")"; cat "$1" >/dev/null; }
size_of() { stat -c %s "$1"; }
lp_copy() { echo "$LP copy -q --manifest $WORK/tmp/m.db $*"; }   # a fresh manifest per run (PREP deletes it)
fresh_lp="rm -f $WORK/tmp/m.db $WORK/tmp/m.db-*"

# ---------------------------------------------------------------- data
log "machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') RAM, $(uname -r)"
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
RND="$WORK/data/random-1g.bin"
JSN="$WORK/data/lines-1g.jsonl"
BIG="$WORK/data/random-4g.bin"
log "generating 1 GiB random data"
head -c $GIB /dev/urandom >"$RND"
log "generating 1 GiB JSON-lines text (compressible)"
mawk -v n=100000000 'BEGIN{srand(42); split("alpha beta gamma delta epsilon zeta eta theta iota kappa",w," ");
  for(i=0;i<n;i++){printf "{\"id\":%d,\"ts\":\"2026-11-%02dT%02d:%02d:%02dZ\",\"user\":\"user%05d\",\"level\":\"%s\",\"msg\":\"%s %s %s request took %d ms\",\"bytes\":%d,\"ok\":%s}\n",
  i, 1+int(rand()*28), int(rand()*24), int(rand()*60), int(rand()*60), int(rand()*50000), (rand()<0.9?"info":"warn"),
  w[1+int(rand()*10)], w[1+int(rand()*10)], w[1+int(rand()*10)], int(rand()*5000), int(rand()*1e6), (rand()<0.95?"true":"false")}}' 2>/dev/null \
  | head -c $GIB >"$JSN" || true
[ "$(size_of "$JSN")" -eq $GIB ] || die "JSON-lines file has the wrong size"
log "generating 4 GiB random data (the 1 GiB file 4 times)"
cat "$RND" "$RND" "$RND" "$RND" >"$BIG"
sync

startup_s=$( { t0=$(date +%s%N); $LP --version >/dev/null; t1=$(date +%s%N); awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}'; } )
log "lp start-up (lp --version): ${startup_s}s"

# ---------------------------------------------------------------- 1. local copy
log "1. local copy of 1 GiB random data"
warm "$RND"
D="$WORK/dst/copy.bin"
src_sha=$(openssl dgst -sha256 -r "$RND" | cut -d" " -f1)
same_as_src="[ \"\$(openssl dgst -sha256 -r $D | cut -d' ' -f1)\" = $src_sha ]"
run_rounds \
  "$(spec lp_copy "$fresh_lp; rm -f $D" "$(lp_copy "$RND" "$D")" "$same_as_src")" \
  "$(spec cp "rm -f $D" "cp $RND $D" "$same_as_src")" \
  "$(spec cp_sync "rm -f $D" "sh -c 'cp $RND $D && sync $D'")" \
  "$(spec sha256 "rm -f $D" "openssl dgst -sha256 $RND >/dev/null")"
lp_sha=$src_sha
run_rounds \
  "$(spec lp_copy_md5 "$fresh_lp; rm -f $D" "$(lp_copy --hash md5,sha256 "$RND" "$D")" "$same_as_src")" \
  "$(spec md5 "rm -f $D" "openssl dgst -md5 $RND >/dev/null")"
rm -f "$D"

# ---------------------------------------------------------------- 2. zstd
log "2. zstd -3 of 1 GiB JSON lines"
warm "$JSN"
Z="$WORK/dst/lines.jsonl.zst"
run_rounds \
  "$(spec lp_zstd "$fresh_lp; rm -f $Z" "$(lp_copy -p zstd "$JSN" "$Z")" "lp_zsize=\$(size_of $Z); [ \"\$(zstd -dc $Z | wc -c)\" -eq $GIB ]")" \
  "$(spec zstd "rm -f $Z" "zstd -q -3 -c $JSN > $Z" "zsize=\$(size_of $Z)")" \
  "$(spec zstd_sync "rm -f $Z" "sh -c 'zstd -q -3 -c $JSN > $Z && sync $Z'")"
rm -f "$Z"

# ---------------------------------------------------------------- 3. HTTP download on loopback
log "3. HTTP download of 1 GiB from rclone serve http on loopback"
ln -f "$RND" "$WORK/srv/random-1g.bin"
PORT=$(bench_free_port)
env -u AWS_CA_BUNDLE $PRIO rclone serve http "$WORK/srv" --addr "127.0.0.1:$PORT" --read-only >"$WORK/tmp/rclone.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT/random-1g.bin"
for _ in $(seq 100); do curl -fsI "$URL" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsI "$URL" >/dev/null || { cat "$WORK/tmp/rclone.log" >&2; die "rclone serve http did not start"; }
log "rclone $(rclone version 2>/dev/null | head -1 | awk '{print $2}') serving on 127.0.0.1:$PORT"
warm "$RND"
# One unmeasured download first: a freshly started rclone serves its first GiB slower (2.7-3.6 s against 2.4 s
# here, whichever client asks).
log "warm-up download (not measured)"
curl -fsS -o /dev/null "$URL" || die "warm-up download failed"
DL="$WORK/dst/dl"
got_src="[ \"\$(openssl dgst -sha256 -r $DL/random-1g.bin | cut -d' ' -f1)\" = $src_sha ]"
run_rounds \
  "$(spec lp_http "$fresh_lp; rm -rf $DL; mkdir -p $DL" "$(lp_copy "$URL" "$DL/")" "$got_src")" \
  "$(spec curl "rm -rf $DL; mkdir -p $DL" "curl -fsS -o $DL/random-1g.bin $URL" "$got_src")" \
  "$(spec curl_sync "rm -rf $DL; mkdir -p $DL" "sh -c 'curl -fsS -o $DL/random-1g.bin $URL && sync $DL/random-1g.bin'")"
rm -rf "$DL"
bench_stop_server

# ---------------------------------------------------------------- 4. peak RSS, 1 GiB vs 4 GiB
log "4. peak RSS of lp copy, 1 GiB and 4 GiB"
warm "$BIG"
D4="$WORK/dst/big.bin"
rss_run() {   # rss_run NAME SRC: one run under /usr/bin/time -v
  local name=$1 src=$2 t0 t1
  eval "$fresh_lp"; rm -f "$D4"; ballast; sync
  t0=$(date +%s%N)
  timeout "$TMO" $PRIO /usr/bin/time -v $(lp_copy "$src" "$D4") 2>"$WORK/tmp/time-v.txt" || { cat "$WORK/tmp/time-v.txt" >&2; die "$name failed"; }
  t1=$(date +%s%N)
  T[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
  R[$name]=$(awk -F': ' '/Maximum resident set size/{print $2}' "$WORK/tmp/time-v.txt")
  C[$name]=$(awk -F': ' '/User time/{u=$2} /System time/{y=$2} END{printf "%.1f", u+y}' "$WORK/tmp/time-v.txt")
  log "  $name: ${T[$name]}s, peak RSS $((R[$name] / 1024)) MiB"
  [ "$(size_of "$D4")" -eq "$(size_of "$src")" ] || die "$name wrote the wrong size"
}
rss_run rss_1g "$RND"
rss_run rss_4g "$BIG"
rm -f "$D4"

# ---------------------------------------------------------------- table
G=$GIB; G4=$((4 * GIB))
mb() { mbps "$1" "${T[$2]}"; }
mib() { echo $(( R[$1] / 1024 )); }
verdict() { if ge "$1" 0.9; then echo "yes"; else echo "**no**"; fi; }

slow1=$(min_of "$(mb $G cp)" "$(mb $G sha256)")
r1=$(ratio "$(mb $G lp_copy)" "$slow1")
slow1b=$(min_of "$(mb $G cp_sync)" "$(mb $G sha256)")
r1b=$(ratio "$(mb $G lp_copy)" "$slow1b")
slow1c=$(min_of "$(mb $G cp_sync)" "$(mb $G sha256)" "$(mb $G md5)")
r1c=$(ratio "$(mb $G lp_copy_md5)" "$slow1c")
r2=$(ratio "$(mb $G lp_zstd)" "$(mb $G zstd)")
r2b=$(ratio "$(mb $G lp_zstd)" "$(mb $G zstd_sync)")
r3=$(ratio "$(mb $G lp_http)" "$(mb $G curl)")
r3b=$(ratio "$(mb $G lp_http)" "$(mb $G curl_sync)")
rss_ok="**no**"
if [ "${R[rss_1g]}" -le $((128 * 1024)) ] && [ "${R[rss_4g]}" -le $((128 * 1024)) ] \
   && [ "${R[rss_4g]}" -le $(( R[rss_1g] * 11 / 10 + 8 * 1024 )) ]; then rss_ok="yes"; fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
sp() { echo "$(mb "$1" "$2") MB/s, CPU ${C[$2]} s"; }   # speed and CPU time of a measurement
cr() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
cat <<EOF
| # | benchmark ($(nproc) cores; best of $RUNS; page cache warm;$([ "$NICE" = 0 ] || echo " nice $NICE;") load avg $load_start at start, $load_end at end) | lp | peers alone, same data | lp ÷ slowest peer | target | met |
|---|---|---|---|---|---|---|
| 1 | 1 GiB random, local copy (\`lp copy\`: copy + SHA-256, the default \`--hash\`; fsynced once, at commit) | $(sp $G lp_copy), RSS $(mib lp_copy) MiB | \`cp\` $(sp $G cp); \`openssl dgst -sha256\` $(sp $G sha256) | $r1 | ≥ 0.9 | $(verdict "$r1") |
| 1b | same, against peers that also pay for lp's fsync | $(sp $G lp_copy) | \`cp && sync FILE\` $(sp $G cp_sync); SHA-256 as above | $r1b | ≥ 0.9 | $(verdict "$r1b") |
| 1c | \`lp copy --hash md5,sha256\` (no target: MD5 bounds it) | $(sp $G lp_copy_md5) | \`openssl dgst -md5\` $(sp $G md5); \`cp && sync\`, SHA-256 as above | $r1c | — | — |
| 2 | 1 GiB JSON lines through zstd level 3 (\`lp copy -p zstd\`) | $(sp $G lp_zstd), RSS $(mib lp_zstd) MiB, ratio $(cr $G "$lp_zsize"):1 | \`zstd -3 -c > out\` $(sp $G zstd), ratio $(cr $G "$zsize"):1; with \`sync FILE\` $(sp $G zstd_sync) | $r2 (vs zstd + sync: $r2b) | ≥ 0.9 | $(verdict "$r2") |
| 3 | 1 GiB HTTP download from \`rclone serve http\` on 127.0.0.1 | $(sp $G lp_http), RSS $(mib lp_http) MiB | \`curl -o\` $(sp $G curl); with \`sync FILE\` $(sp $G curl_sync) | $r3 (vs curl + sync: $r3b) | ≥ 0.9 | $(verdict "$r3") |
| 4 | peak RSS of \`lp copy\` (\`/usr/bin/time -v\`, one run each), 1 GiB vs 4 GiB random | $(mib rss_1g) MiB at 1 GiB ($(sp $G rss_1g)); $(mib rss_4g) MiB at 4 GiB ($(sp $G4 rss_4g)) | — | — | ≤ 128 MiB and flat | $rss_ok |
EOF
log "done in $(( $(date +%s) - t_start ))s (lp start-up ${startup_s}s is inside every lp time)"
