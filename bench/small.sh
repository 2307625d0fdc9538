#!/usr/bin/env bash
# LoadPipe small-file benchmarks (issue 17): lp against rclone and cp -r, on the same data, in one run.
#
#   bash bench/small.sh          # full counts: ~20-40 minutes on 2 cores; prints ONE Markdown table on stdout
#
# Progress goes to stderr. Rows:
#   a. 300,000 files of a few bytes in 300 folders, local -> local: lp copy --transfers 16, rclone copy --transfers 16
#      --checkers 16, cp -r; then the no-op re-run of lp and rclone (cp has none);
#   b. 100,000 files of 4 KiB to S3 (s3rver on 127.0.0.1, started here as bench/s3.sh does, and warmed by an untimed
#      upload first): lp, its no-op re-run, then rclone and its no-op re-run, each on an empty bucket;
#   c. 10,000 files of 1 MiB, local -> local: lp, rclone, cp -r; then the no-op re-run of lp and rclone;
#   d. lp's peak RSS on row a's tree against a copy of its first LP_BENCH_SMALL_RSS_BASE files (default 10,000): the
#      base count's copy runs LP_BENCH_SMALL_RSS_RUNS times (default 3, each on a fresh destination and manifest) and
#      its median is compared, as one run's peak varies by several MiB.
# Every run's wall time and peak RSS (/usr/bin/time -v). Every copy is checked (file count; a's and c's bytes with
# diff -r); every no-op re-run must copy nothing. lp runs with its default hashes (sha256) and its durability: every
# file it reports done was fsynced, renamed and its folder fsynced (rclone and cp do not fsync).
# Targets: lp <= 1.0x rclone's time on a's and c's first copy, <= 0.5x on the no-op re-runs, <= 0.7x on b; lp's peak
# RSS on a no higher than at the base count.
#
# Knobs (environment): LP_BENCH_SMALL_DIR (work folder, default bench/out/small), LP_BENCH_SMALL_FILES (row a,
# default 300000), LP_BENCH_SMALL_FOLDERS (row a, default 300), LP_BENCH_SMALL_S3 (row b, default 100000; 0 skips it),
# LP_BENCH_SMALL_MIB (row c, default 10000), LP_BENCH_SMALL_RSS_BASE (row d, default 10000), LP_BENCH_TIMEOUT
# (seconds per command, default 1800), LP_BENCH_KEEP=1 (keep the data), LP_BENCH_SMALL_ROWS (the rows to run, default
# abcd; d needs a, e.g. "ad" for the local tiny files and their RSS only). Reduced counts, for a loaded machine, keep
# the ratios meaningful as long as lp and its peers run on the same data in the same run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LP_BENCH_SMALL_DIR:-$ROOT/bench/out/small}"
FILES="${LP_BENCH_SMALL_FILES:-300000}"
FOLDERS="${LP_BENCH_SMALL_FOLDERS:-300}"
S3FILES="${LP_BENCH_SMALL_S3:-100000}"
MIBFILES="${LP_BENCH_SMALL_MIB:-10000}"
RSS_BASE="${LP_BENCH_SMALL_RSS_BASE:-10000}"
RSS_RUNS="${LP_BENCH_SMALL_RSS_RUNS:-3}"
ROWS="${LP_BENCH_SMALL_ROWS:-abcd}"
row() { [[ "$ROWS" == *"$1"* ]]; }
row a || ! row d || { echo "LP_BENCH_SMALL_ROWS: row d needs row a" >&2; exit 2; }
row b || S3FILES=0
row c || MIBFILES=0
TMO="${LP_BENCH_TIMEOUT:-1800}"

log() { printf '[bench-small %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need=()
[ -x /usr/bin/time ] || need+=(time)
command -v rclone >/dev/null 2>&1 || need+=(rclone)
if [ "$S3FILES" -gt 0 ]; then
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
fi
bench_install "${need[@]}"
NPM_DIR="$ROOT/.artifacts/npm"
if [ "$S3FILES" -gt 0 ] && [ ! -d "$NPM_DIR/node_modules/s3rver" ]; then
  log "installing s3rver 3.7.1 into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  npm install --silent --no-audit --no-fund --prefix "$NPM_DIR" s3rver@3.7.1 >&2 || die "npm install s3rver failed"
fi

cleanup() {
  bench_stop_server
  if [ "${LP_BENCH_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK"
mkdir -p "$WORK/data" "$WORK/out" "$WORK/tmp"
bench_lp
bench_need_space $(( MIBFILES * 3 / 1024 + 4 ))   # row c's source and two copies at once, and the rest
unset AWS_CA_BUNDLE   # rclone fails to start with it set
export RCLONE_CONFIG="$WORK/tmp/rclone.conf"
: >"$RCLONE_CONFIG"

# run_one NAME CMD: one run of CMD (through eval) under /usr/bin/time -v, output in $WORK/tmp/NAME.out; T[NAME] wall
# seconds, R[NAME] peak RSS in KiB.
declare -A T R
run_one() {
  local name=$1 cmd=$2 t0 t1 tv="$WORK/tmp/time-v.txt"
  sync
  t0=$(date +%s%N)
  if ! eval "timeout $TMO /usr/bin/time -v -o $tv $cmd" >"$WORK/tmp/$name.out" 2>&1; then
    tail -20 "$WORK/tmp/$name.out" >&2; die "$name: command failed: $cmd"
  fi
  t1=$(date +%s%N)
  T[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}')
  R[$name]=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tv")
  log "  $name: ${T[$name]}s, peak RSS $((R[$name] / 1024)) MiB, load $(cut -d' ' -f1 /proc/loadavg)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
verdict() { if awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<=b)}'; then echo "yes"; else echo "**no**"; fi; }
mib() { echo $(( R[$1] / 1024 )); }
cell() { echo "${T[$1]} s, $(mib "$1") MiB"; }
count() { find "$1" -type f ! -name '*.lp-partial' | wc -l; }
same() { diff -rq "$1" "$2" >/dev/null || die "$2 differs from $1"; }
lpc() { echo "$LP copy -q --transfers 16 --manifest $WORK/tmp/m-$1.db"; }   # lp copy with its own manifest NAME
rc() { echo "rclone copy --transfers 16 --checkers 16"; }
noop_lp() {   # noop_lp NAME: the re-run NAME sent nothing
  local s; s=$(tail -1 "$WORK/tmp/$1.out")
  grep -Eq '"bytes_sent": *0[,}]' <<<"$s" || die "$1 sent bytes: $s"
}
noop_rclone() { if grep -Eq ': (Copied|Updated modification time)' "$WORK/tmp/$1.out"; then die "$1 changed files"; fi; }

# make_tiny DIR COUNT FOLDERS: COUNT files of a few bytes (their own number), spread evenly over FOLDERS folders.
make_tiny() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys
root, count, folders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = -(-count // folders)
for i in range(count):
    d = os.path.join(root, f"d{i // per:04}")
    if i % per == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:07}"), "w") as f: f.write(f"{i}\n")
PY
  find "$1" -type f -exec touch -d '2026-11-01 12:00:00' {} +
}
# make_sized DIR COUNT BYTES: COUNT files of BYTES random bytes, in folders of 1,000.
make_sized() {
  local dir=$1 count=$2 size=$3 d n
  for ((d = 0; d * 1000 < count; d++)); do
    n=$(( count - d * 1000 < 1000 ? count - d * 1000 : 1000 ))
    mkdir -p "$dir/d$(printf %04d $d)"
    head -c $((n * size)) /dev/urandom | split -b "$size" -a 4 -d - "$dir/d$(printf %04d $d)/f"
  done
  find "$dir" -type f -exec touch -d '2026-11-01 12:00:00' {} +
}

log "machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') RAM, $(uname -r); uptime: $(uptime)"
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- a. tiny files, local -> local
if row a; then
log "a. $FILES files of a few bytes in $FOLDERS folders, local -> local"
TINY="$WORK/data/tiny"
make_tiny "$TINY" "$FILES" "$FOLDERS"
find "$TINY" -type f -exec cat {} + >/dev/null
run_one lp_a     "$(lpc a) $TINY $WORK/out/a-lp/"
run_one rclone_a "$(rc) $TINY $WORK/out/a-rclone"
run_one cp_a     "cp -r $TINY $WORK/out/a-cp"
same "$TINY" "$WORK/out/a-lp"; same "$TINY" "$WORK/out/a-rclone"; same "$TINY" "$WORK/out/a-cp"
run_one lp_a_noop     "$(lpc a) --json $TINY $WORK/out/a-lp/"
run_one rclone_a_noop "$(rc) -v $TINY $WORK/out/a-rclone"
noop_lp lp_a_noop; noop_rclone rclone_a_noop
rm -rf "$WORK/out/a-rclone" "$WORK/out/a-cp"

# d. the same files, fewer: lp's RSS at the base count, the median of RSS_RUNS runs
if row d; then
  BASE="$WORK/data/base"
  mkdir -p "$BASE"
  make_tiny "$BASE" "$RSS_BASE" "$(( FOLDERS * RSS_BASE / FILES > 0 ? FOLDERS * RSS_BASE / FILES : 1 ))"
  d_runs=()
  for ((i = 1; i <= RSS_RUNS; i++)); do
    rm -rf "$WORK/out/d-lp" "$WORK/tmp/m-d.db"*
    run_one lp_d "$(lpc d) $BASE $WORK/out/d-lp/"
    d_runs+=("${R[lp_d]}")
  done
  R[lp_d]=$(printf '%s\n' "${d_runs[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
  D_RUNS=$(printf '%s\n' "${d_runs[@]}" | awk '{printf "%s%d", (NR>1 ? ", " : ""), $1/1024}')
  rm -rf "$WORK/out/d-lp" "$BASE"
fi
rm -rf "$WORK/out/a-lp"
fi

# ---------------------------------------------------------------- b. 4 KiB files to S3
if [ "$S3FILES" -gt 0 ]; then
  log "b. $S3FILES files of 4 KiB to S3 (s3rver)"
  mkdir -p "$WORK/s3"
  PORT=$(bench_free_port)
  SERVER_JS="$NPM_DIR/node_modules/s3rver/bin/s3rver.js"
  [ -f "$ROOT/tests/s3rver/server.js" ] && SERVER_JS="$ROOT/tests/s3rver/server.js"
  NODE_PATH="$NPM_DIR/node_modules" NODE_OPTIONS=--openssl-legacy-provider \
    node "$SERVER_JS" -d "$WORK/s3" -a 127.0.0.1 -p "$PORT" --configure-bucket bench --silent >"$WORK/tmp/s3rver.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null || die "s3rver did not start"
  CFG="$WORK/tmp/lp.yaml"
  printf 'remotes:\n  s3remote:\n    type: s3\n    endpoint: http://127.0.0.1:%s\n    region: us-east-1\n    path_style: true\n    access_key_id: S3RVER\n    secret_access_key: S3RVER\n' "$PORT" >"$CFG"
  export RCLONE_CONFIG_S3B_TYPE=s3 RCLONE_CONFIG_S3B_PROVIDER=Other RCLONE_CONFIG_S3B_ENDPOINT="http://127.0.0.1:$PORT" \
    RCLONE_CONFIG_S3B_ACCESS_KEY_ID=S3RVER RCLONE_CONFIG_S3B_SECRET_ACCESS_KEY=S3RVER RCLONE_CONFIG_S3B_REGION=us-east-1 \
    RCLONE_CONFIG_S3B_FORCE_PATH_STYLE=true
  FOUR="$WORK/data/four"
  make_sized "$FOUR" "$S3FILES" 4096
  objects() { find "$WORK/s3/bench/$1" -name '*._S3rver_object' 2>/dev/null | wc -l; }
  # Each upload starts from the same server state, as in bench/s3.sh (whose row b runs on a server its 1 GiB uploads
  # warmed, each tool's objects removed after its run): a fresh s3rver (node) has not compiled its code yet, and lp,
  # uploading first, met it cold while rclone found it warm and lp's objects in the bucket. An untimed upload of up to
  # 2,000 of these files warms it; each tool's objects are removed after its re-run.
  WARM="$WORK/data/warm"
  make_sized "$WARM" $(( S3FILES < 2000 ? S3FILES : 2000 )) 4096
  rclone copy --transfers 16 "$WARM" S3B:bench/warm/ >"$WORK/tmp/warm.out" 2>&1 || die "the warm-up upload failed"
  rm -rf "$WORK/s3/bench/warm" "$WARM"
  run_one lp_b     "$(lpc b) --config $CFG $FOUR s3remote:bench/lp/"
  [ "$(objects lp)" -eq "$S3FILES" ] || die "lp uploaded $(objects lp) of $S3FILES objects"
  run_one lp_b_noop     "$(lpc b) --config $CFG --json $FOUR s3remote:bench/lp/"
  noop_lp lp_b_noop
  rm -rf "$WORK/s3/bench/lp"
  run_one rclone_b "$(rc) $FOUR S3B:bench/rclone/"
  [ "$(objects rclone)" -eq "$S3FILES" ] || die "rclone uploaded $(objects rclone) of $S3FILES objects"
  run_one rclone_b_noop "$(rc) -v $FOUR S3B:bench/rclone/"
  noop_rclone rclone_b_noop
  bench_stop_server
  rm -rf "$WORK/s3" "$FOUR"
fi

# ---------------------------------------------------------------- c. 1 MiB files, local -> local
if row c; then
log "c. $MIBFILES files of 1 MiB, local -> local"
MIB="$WORK/data/mib"
make_sized "$MIB" "$MIBFILES" $((1 << 20))
run_one lp_c     "$(lpc c) $MIB $WORK/out/c-lp/"
run_one rclone_c "$(rc) $MIB $WORK/out/c-rclone"
same "$MIB" "$WORK/out/c-lp"; same "$MIB" "$WORK/out/c-rclone"
run_one lp_c_noop     "$(lpc c) --json $MIB $WORK/out/c-lp/"
run_one rclone_c_noop "$(rc) -v $MIB $WORK/out/c-rclone"
noop_lp lp_c_noop; noop_rclone rclone_c_noop
rm -rf "$WORK/out/c-lp" "$WORK/out/c-rclone"   # room for cp's copy: at most two copies of row c at once
run_one cp_c     "cp -r $MIB $WORK/out/c-cp"
[ "$(count "$WORK/out/c-cp")" -eq "$MIBFILES" ] || die "cp copied $(count "$WORK/out/c-cp") files"
fi

# ---------------------------------------------------------------- table
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
cat <<TABLE
| # | small files ($(nproc) cores; one run each, d's base count the median of $RSS_RUNS; load avg $load_start at start, $load_end at end; lp $LP_KIND build of $LP_REV) | lp | \`rclone copy --transfers 16 --checkers 16\` | \`cp -r\` | lp ÷ rclone | target | met |
|---|---|---|---|---|---|---|---|
TABLE
if row a; then
  ra=$(ratio "${T[lp_a]}" "${T[rclone_a]}"); ran=$(ratio "${T[lp_a_noop]}" "${T[rclone_a_noop]}")
  cat <<TABLE
| a | $FILES files of a few bytes in $FOLDERS folders, local -> local | $(cell lp_a) | $(cell rclone_a) | $(cell cp_a) | $ra | ≤ 1.0 | $(verdict "$ra" 1.0) |
| a0 | its no-op re-run | $(cell lp_a_noop) | $(cell rclone_a_noop) | — | $ran | ≤ 0.5 | $(verdict "$ran" 0.5) |
TABLE
fi
if [ "$S3FILES" -gt 0 ]; then
  rb=$(ratio "${T[lp_b]}" "${T[rclone_b]}"); rbn=$(ratio "${T[lp_b_noop]}" "${T[rclone_b_noop]}")
  cat <<TABLE
| b | $S3FILES files of 4 KiB to S3 (s3rver) | $(cell lp_b) | $(cell rclone_b) | — | $rb | ≤ 0.7 | $(verdict "$rb" 0.7) |
| b0 | its no-op re-run | $(cell lp_b_noop) | $(cell rclone_b_noop) | — | $rbn | ≤ 0.5 | $(verdict "$rbn" 0.5) |
TABLE
fi
if row c; then
  rcc=$(ratio "${T[lp_c]}" "${T[rclone_c]}"); rcn=$(ratio "${T[lp_c_noop]}" "${T[rclone_c_noop]}")
  cat <<TABLE
| c | $MIBFILES files of 1 MiB, local -> local | $(cell lp_c) | $(cell rclone_c) | $(cell cp_c) | $rcc | ≤ 1.0 | $(verdict "$rcc" 1.0) |
| c0 | its no-op re-run | $(cell lp_c_noop) | $(cell rclone_c_noop) | — | $rcn | ≤ 0.5 | $(verdict "$rcn" 0.5) |
TABLE
fi
if row d; then
  rss_ok=$(awk -v a="${R[lp_d]}" -v b="${R[lp_a]}" 'BEGIN{print (b <= a*1.1) ? "yes" : "**no**"}')
  cat <<TABLE
| d | lp's peak RSS: $RSS_BASE (median of $D_RUNS MiB) vs $FILES files of row a | $(mib lp_d) MiB vs $(mib lp_a) MiB | — | — | — | no higher | $rss_ok |
TABLE
fi
log "done in $(( $(date +%s) - t_start ))s; uptime: $(uptime)"
