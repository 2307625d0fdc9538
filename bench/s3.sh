#!/usr/bin/env bash
# LoadPipe S3 benchmarks: lp against rclone and the AWS CLI, all uploading to ONE s3rver on 127.0.0.1.
#
#   bash bench/s3.sh             # ~15-25 minutes on 2 cores; prints ONE Markdown table on stdout
#
# Progress goes to stderr. The script starts its own s3rver (tests/s3rver/server.js over s3rver 3.7.1, installed
# into .artifacts/npm like scripts/test.sh does) on a free port with its own data folder under bench/out/s3/, and
# stops it and deletes all data on exit (also on failure or Ctrl-C).
#
# Rows (the same server for all, one run of the script):
#   a. one 1 GiB random file uploaded: lp copy (--chunk-size 16M) vs rclone copy (default, --transfers 16) vs
#      aws s3 cp;
#   b. 10,000 files of 4 KiB uploaded: lp copy --transfers 16 vs rclone copy (default, --transfers 16) vs
#      aws s3 sync;
#   c. a no-op re-run over a finished upload of 100,000 files of 4 KiB: lp (its manifest kept), rclone copy,
#      aws s3 sync;
#   d. peak RSS (/usr/bin/time -v) of every run, and lp's peak RSS at 10,000 vs 100,000 files.
# Targets (the performance issue): lp time / best peer time <= 1.0 on a, <= 0.7 on b, <= 0.1 on c; lp's RSS at
# 100,000 files within 20 % of its RSS at 10,000.
#
# Knobs (environment): LP_BENCH_S3_DIR (work folder, default bench/out/s3), LP_BENCH_RUNS (runs per tool on row a,
# best kept, default 2), LP_BENCH_RUNS_SMALL (the same for row b, default 1), LP_BENCH_S3_SMALL (files in row b, default 10000), LP_BENCH_S3_MANY (files in row
# c, default 100000), LP_BENCH_S3_MANY_BUDGET (seconds lp may take to upload row c's tree, estimated from its row b
# rate; the count is lowered to fit, and the table says so; default 600), LP_BENCH_S3_CHUNK (lp's --chunk-size on
# row a, default 16M), LP_BENCH_TIMEOUT (seconds per command, default 1200), LP_BENCH_KEEP=1 (keep the data).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LP_BENCH_S3_DIR:-$ROOT/bench/out/s3}"
RUNS_A="${LP_BENCH_RUNS:-2}"
RUNS_B="${LP_BENCH_RUNS_SMALL:-1}"
SMALL="${LP_BENCH_S3_SMALL:-10000}"
MANY="${LP_BENCH_S3_MANY:-100000}"
MANY_BUDGET="${LP_BENCH_S3_MANY_BUDGET:-600}"
CHUNK="${LP_BENCH_S3_CHUNK:-16M}"
TMO="${LP_BENCH_TIMEOUT:-1200}"
GIB=$((1 << 30))
BIG_BYTES="${LP_BENCH_S3_BIG_BYTES:-$GIB}"   # a smaller file only for trying the script out
FILE_SIZE=4096
PER_DIR=1000          # small files are spread over folders of 1,000

log() { printf '[bench-s3 %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "FAILED: $*"
  if [ -s "${WORK:-/nonexistent}/tmp/s3rver.log" ]; then log "s3rver's output, last lines:"; tail -30 "$WORK/tmp/s3rver.log" >&2; fi
  if [ -n "${SERVER_PID:-}" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID" 2>/dev/null; log "s3rver (pid $SERVER_PID) is gone, exit status $?"; SERVER_PID=""
  fi
  exit 1
}

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- tools
need=()
[ -x /usr/bin/time ] || need+=(time)
[ -x /usr/bin/aws ] || need+=(awscli)
command -v rclone >/dev/null 2>&1 || need+=(rclone)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
bench_install "${need[@]}"
AWS=/usr/bin/aws      # not the first `aws` on PATH, which may be another one

NPM_DIR="$ROOT/.artifacts/npm"
if [ ! -d "$NPM_DIR/node_modules/s3rver" ]; then
  log "installing s3rver 3.7.1 into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  npm install --silent --no-audit --no-fund --prefix "$NPM_DIR" s3rver@3.7.1 >&2 || die "npm install s3rver failed"
fi

# ---------------------------------------------------------------- work area, lp, server, cleanup
cleanup() {
  bench_stop_server
  if [ "${LP_BENCH_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK"
mkdir -p "$WORK/data" "$WORK/s3" "$WORK/tmp"
bench_lp
bench_need_space 8

PORT=$(bench_free_port)
SERVER_JS="$NPM_DIR/node_modules/s3rver/bin/s3rver.js"
[ -f "$ROOT/tests/s3rver/server.js" ] && SERVER_JS="$ROOT/tests/s3rver/server.js"
S3DATA="$WORK/s3"
BUCKET=bench
# --silent: s3rver logs every request through winston otherwise, which costs its one thread time on every request.
NODE_PATH="$NPM_DIR/node_modules" NODE_OPTIONS=--openssl-legacy-provider \
  node "$SERVER_JS" -d "$S3DATA" -a 127.0.0.1 -p "$PORT" --configure-bucket "$BUCKET" --silent >"$WORK/tmp/s3rver.log" 2>&1 &
SERVER_PID=$!
ENDPOINT="http://127.0.0.1:$PORT"
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null || { cat "$WORK/tmp/s3rver.log" >&2; die "s3rver did not start"; }
log "s3rver ($(basename "$SERVER_JS")) on $ENDPOINT, data in $S3DATA, bucket $BUCKET"

# lp: a config file with the remote.
CFG="$WORK/tmp/lp.yaml"
cat >"$CFG" <<EOF
remotes:
  s3remote:
    type: s3
    endpoint: $ENDPOINT
    region: us-east-1
    path_style: true
    access_key_id: S3RVER
    secret_access_key: S3RVER
EOF
# rclone: a remote named S3B, all by environment.
export RCLONE_CONFIG_S3B_TYPE=s3 RCLONE_CONFIG_S3B_PROVIDER=Other RCLONE_CONFIG_S3B_ENDPOINT="$ENDPOINT" \
  RCLONE_CONFIG_S3B_ACCESS_KEY_ID=S3RVER RCLONE_CONFIG_S3B_SECRET_ACCESS_KEY=S3RVER RCLONE_CONFIG_S3B_REGION=us-east-1 \
  RCLONE_CONFIG_S3B_FORCE_PATH_STYLE=true RCLONE_CONFIG="$WORK/tmp/rclone.conf"
: >"$WORK/tmp/rclone.conf"
# aws: keys and region by environment, path-style addressing in a private config file; no other profile is read.
cat >"$WORK/tmp/aws.config" <<EOF
[default]
region = us-east-1
s3 =
  addressing_style = path
EOF
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
  AWS_CONFIG_FILE="$WORK/tmp/aws.config" AWS_SHARED_CREDENTIALS_FILE="$WORK/tmp/aws.credentials" AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE   # rclone fails to start with AWS_CA_BUNDLE set

# ---------------------------------------------------------------- measuring
# run_one NAME CMD: one run of CMD (through eval) under /usr/bin/time -v; its output goes to $WORK/tmp/NAME.out.
# Sets T1 (wall seconds), C1 (CPU seconds, user + sys) and R1 (peak RSS, KiB).
declare -A T C R
run_one() {
  local name=$1 cmd=$2 t0 t1 tv="$WORK/tmp/time-v.txt"
  sync
  t0=$(date +%s%N)
  if ! eval "timeout $TMO /usr/bin/time -v -o $tv $cmd" >"$WORK/tmp/$name.out" 2>&1; then
    tail -20 "$WORK/tmp/$name.out" >&2; die "$name: command failed: $cmd"
  fi
  t1=$(date +%s%N)
  T1=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}')
  R1=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tv")
  C1=$(awk -F': ' '/User time/{u=$2} /System time/{y=$2} END{printf "%.1f", u+y}' "$tv")
  log "  $name: ${T1}s, CPU ${C1}s, peak RSS $((R1 / 1024)) MiB, load $(cut -d' ' -f1 /proc/loadavg)"
}
# run_best NAME CMD_TEMPLATE CHECK: RUNS runs; @N@ in the template and in CHECK becomes a fresh destination
# suffix per run. CHECK (through eval) verifies the upload, then the run's objects are deleted from the server's
# disk. Keeps the best wall time in T[NAME], and the C and R of that run.
run_best() {
  local name=$1 tmpl=$2 check=$3 i cmd
  for ((i = 1; i <= RUNS; i++)); do
    cmd=${tmpl//@N@/$i}
    run_one "$name-$i" "$cmd"
    eval "${check//@N@/$i}" || die "$name run $i: check failed"
    if [ -z "${T[$name]:-}" ] || awk -v x="$T1" -v y="${T[$name]}" 'BEGIN{exit !(x<y)}'; then
      T[$name]=$T1; C[$name]=$C1; R[$name]=$R1
    fi
  done
}
# The server's copy of a key: s3rver's file store keeps the bytes of BUCKET/KEY in DIR/BUCKET/KEY._S3rver_object.
obj() { echo "$S3DATA/$BUCKET/$1._S3rver_object"; }
objects_under() { find "$S3DATA/$BUCKET/$1" -name '*._S3rver_object' 2>/dev/null | wc -l; }
drop() { rm -rf "${S3DATA:?}/$BUCKET/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
best_of() { local best="" n; for n in "$@"; do if [ -z "$best" ] || awk -v x="${T[$n]}" -v y="${T[$best]}" 'BEGIN{exit !(x<y)}'; then best=$n; fi; done; echo "$best"; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN{printf "%.0f", b/s/1e6}'; }
fps() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/s}'; }
mib() { echo $(( R[$1] / 1024 )); }
le() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<=b)}'; }
verdict() { if le "$1" "$2"; then echo "yes"; else echo "**no**"; fi; }

# make_tree DIR COUNT: COUNT files of 4 KiB of random bytes, in folders of 1,000.
make_tree() {
  local dir=$1 count=$2 d n
  mkdir -p "$dir"
  for ((d = 0; d * PER_DIR < count; d++)); do
    n=$(( count - d * PER_DIR < PER_DIR ? count - d * PER_DIR : PER_DIR ))
    mkdir -p "$dir/d$(printf %04d $d)"
    head -c $((n * FILE_SIZE)) /dev/urandom | split -b $FILE_SIZE -a 4 -d - "$dir/d$(printf %04d $d)/f"
  done
  # mtimes in the past, as for files that were not written a moment ago
  find "$dir" -type f -exec touch -d '2026-11-01 12:00:00' {} +
}

# ---------------------------------------------------------------- data
log "machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') RAM, $(uname -r); uptime: $(uptime)"
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
BIG="$WORK/data/random-1g.bin"
log "generating 1 GiB random data and $SMALL files of 4 KiB"
head -c "$BIG_BYTES" /dev/urandom >"$BIG"
BIG_MD5=$(md5sum "$BIG" | cut -d' ' -f1)
make_tree "$WORK/data/small" "$SMALL"
SMALL_DIR="$WORK/data/small"

startup_s=$( { t0=$(date +%s%N); $LP --version >/dev/null; t1=$(date +%s%N); awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}'; } )
log "lp start-up (lp --version): ${startup_s}s; rclone $(rclone version 2>/dev/null | head -1 | awk '{print $2}'); $($AWS --version 2>&1 | cut -d' ' -f1)"
lpc() { echo "$LP copy -q --config $CFG --manifest $WORK/tmp/m-$1.db"; }   # lp copy with its own manifest NAME

# ---------------------------------------------------------------- a. one 1 GiB file
log "a. upload of one 1 GiB file"
RUNS=$RUNS_A
cat "$BIG" >/dev/null
big_ok() {   # big_ok PREFIX: the object is there with the right size (and, for the first run, the right MD5)
  local f; f=$(obj "$1/random-1g.bin")
  [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -eq "$BIG_BYTES" ] || { log "$1: object missing or of the wrong size"; return 1; }
  if [ "${2:-}" = md5 ]; then [ "$(md5sum "$f" | cut -d' ' -f1)" = "$BIG_MD5" ] || { log "$1: content differs"; return 1; }; fi
  drop "$1"
}
run_best lp_big      "$(lpc big-@N@) --chunk-size $CHUNK $BIG s3remote:$BUCKET/big/lp-@N@/"  "big_ok big/lp-@N@ md5"
run_best lp8_big     "$(lpc big8-@N@) $BIG s3remote:$BUCKET/big/lp8-@N@/"                   "big_ok big/lp8-@N@"
run_best rclone_big  "rclone copy $BIG S3B:$BUCKET/big/rclone-@N@/"                          "big_ok big/rclone-@N@"
run_best rclone16_big "rclone copy --transfers 16 $BIG S3B:$BUCKET/big/rclone16-@N@/"       "big_ok big/rclone16-@N@"
run_best aws_big     "$AWS s3 cp --endpoint-url $ENDPOINT --no-progress $BIG s3://$BUCKET/big/aws-@N@/random-1g.bin" "big_ok big/aws-@N@ md5"

# ---------------------------------------------------------------- b. small files
log "b. upload of $SMALL files of 4 KiB"
RUNS=$RUNS_B
find "$SMALL_DIR" -type f -exec cat {} + >/dev/null
small_ok() {   # small_ok PREFIX: every file is there
  local n; n=$(objects_under "$1")
  [ "$n" -eq "$SMALL" ] || { log "$1: $n objects, expected $SMALL"; return 1; }
  drop "$1"
}
run_best lp_small       "$(lpc small-@N@) --transfers 16 $SMALL_DIR s3remote:$BUCKET/small/lp-@N@/" "small_ok small/lp-@N@"
run_best rclone_small   "rclone copy $SMALL_DIR S3B:$BUCKET/small/rclone-@N@/"                     "small_ok small/rclone-@N@"
run_best rclone16_small "rclone copy --transfers 16 $SMALL_DIR S3B:$BUCKET/small/rclone16-@N@/"    "small_ok small/rclone16-@N@"
run_best aws_small      "$AWS s3 sync --endpoint-url $ENDPOINT --no-progress $SMALL_DIR s3://$BUCKET/small/aws-@N@/" "small_ok small/aws-@N@"

# ---------------------------------------------------------------- c. no-op re-run of a finished upload
# The count: lp must upload the tree first; estimate that from its row-b rate and lower the count to fit.
per_file=$(awk -v t="${T[lp_small]}" -v n="$SMALL" 'BEGIN{print t/n}')
est=$(awk -v p="$per_file" -v n="$MANY" 'BEGIN{printf "%.0f", p*n*1.15}')
MANY_NOTE=""
if [ "$est" -gt "$MANY_BUDGET" ]; then
  fit=$(awk -v p="$per_file" -v b="$MANY_BUDGET" 'BEGIN{printf "%d", b/(p*1.15)/10000}')
  [ "$fit" -ge 1 ] || fit=1
  MANY_NOTE=" (lowered from $MANY: lp's upload was estimated at ${est}s, over the ${MANY_BUDGET}s budget)"
  MANY=$((fit * 10000))
fi
log "c. no-op re-run over a finished upload of $MANY files$MANY_NOTE"
MANY_DIR="$WORK/data/many"
log "generating $MANY files of 4 KiB"
make_tree "$MANY_DIR" "$MANY"
find "$MANY_DIR" -type f -exec cat {} + >/dev/null
many_ok() { local n; n=$(objects_under "$1"); [ "$n" -eq "$MANY" ] || { log "$1: $n objects, expected $MANY"; return 1; }; }

# The upload, by lp (timed too: it gives lp's RSS at $MANY files). One tree serves all three re-runs: uploading it
# again with rclone and aws would take longer than everything else together, and each tool's re-run decides from
# what it finds there, which is the same whoever uploaded it: rclone from size and x-amz-meta-mtime (lp stores
# rclone's format), aws s3 sync from size and LastModified (the upload time, newer than the files). That every
# re-run is a no-op is checked below: one that uploads or changes anything fails the script.
RUNS=1
run_best lp_many_up "$(lpc many) --transfers 16 $MANY_DIR s3remote:$BUCKET/many/lp/"    "many_ok many/lp"

# The re-runs: the same commands again, over the finished tree.
run_best lp_noop     "$(lpc many) --transfers 16 --json $MANY_DIR s3remote:$BUCKET/many/lp/" "many_ok many/lp"
run_best rclone_noop "rclone copy -v $MANY_DIR S3B:$BUCKET/many/lp/"                     "many_ok many/lp"
run_best aws_noop    "$AWS s3 sync --endpoint-url $ENDPOINT --no-progress $MANY_DIR s3://$BUCKET/many/lp/" "many_ok many/lp"
# Were they really no-ops?
if grep -q '^upload:' "$WORK/tmp/aws_noop-1.out"; then die "aws s3 sync re-run uploaded files"; fi
for f in rclone_noop-1; do   # -v logs "Copied" or "Updated modification time" per file it acts on
  if grep -Eq ': (Copied|Updated modification time)' "$WORK/tmp/$f.out"; then die "$f: the rclone re-run changed files"; fi
done
LP_NOOP_SUMMARY=$(tail -1 "$WORK/tmp/lp_noop-1.out")
log "lp re-run summary: $LP_NOOP_SUMMARY"
if grep -Eq '"bytes_sent": *[1-9]' <<<"$LP_NOOP_SUMMARY"; then die "lp re-run sent bytes"; fi
RCLONE_CHECKS=$(grep -E '^Checks:' "$WORK/tmp/rclone_noop-1.out" | tail -1 | tr -s ' ')
RCLONE_CHECKS_CELL="$(cut -d, -f1 <<<"$RCLONE_CHECKS" | sed 's/Checks: /checks /')"
LP_SKIPPED=$(grep -o '"files_skipped":[0-9]*' <<<"$LP_NOOP_SUMMARY" | cut -d: -f2)
[ "$LP_SKIPPED" = "$MANY" ] || die "lp re-run skipped $LP_SKIPPED of $MANY files"
bench_stop_server

# ---------------------------------------------------------------- table
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
G=$BIG_BYTES
cell() { echo "${T[$1]} s, CPU ${C[$1]} s, RSS $(mib "$1") MiB"; }   # time, CPU and peak RSS of a measurement

best_a=$(best_of rclone_big rclone16_big aws_big)
best_b=$(best_of rclone_small rclone16_small aws_small)
best_c=$(best_of rclone_noop aws_noop)
ra=$(ratio "${T[lp_big]}" "${T[$best_a]}")
rb=$(ratio "${T[lp_small]}" "${T[$best_b]}")
rc=$(ratio "${T[lp_noop]}" "${T[$best_c]}")
rss_growth=$(awk -v a="${R[lp_small]}" -v b="${R[lp_many_up]}" 'BEGIN{printf "%+.0f", (b-a)*100/a}')
rss_ok=$(awk -v a="${R[lp_small]}" -v b="${R[lp_many_up]}" 'BEGIN{print (b <= a*1.2 && b >= a*0.8) ? "yes" : "**no**"}')

cat <<EOF
| # | S3 upload to s3rver 3.7.1 on 127.0.0.1 ($(nproc) cores; best of $RUNS_A on a, of $RUNS_B on b, one run on c; load avg $load_start at start, $load_end at end) | lp | peers, same server | lp ÷ best peer (time) | target | met |
|---|---|---|---|---|---|---|
| a | one $((BIG_BYTES >> 20)) MiB random file | \`lp copy --chunk-size $CHUNK\`: $(cell lp_big), $(mbps $G "${T[lp_big]}") MB/s (default 8M: $(cell lp8_big), $(mbps $G "${T[lp8_big]}") MB/s) | \`rclone copy\` $(cell rclone_big), $(mbps $G "${T[rclone_big]}") MB/s; \`--transfers 16\` $(cell rclone16_big), $(mbps $G "${T[rclone16_big]}") MB/s; \`aws s3 cp\` $(cell aws_big), $(mbps $G "${T[aws_big]}") MB/s | $ra | ≤ 1.0 | $(verdict "$ra" 1.0) |
| b | $SMALL files of 4 KiB | \`lp copy --transfers 16\`: $(cell lp_small), $(fps "$SMALL" "${T[lp_small]}") files/s | \`rclone copy\` $(cell rclone_small), $(fps "$SMALL" "${T[rclone_small]}") files/s; \`--transfers 16\` $(cell rclone16_small), $(fps "$SMALL" "${T[rclone16_small]}") files/s; \`aws s3 sync\` $(cell aws_small), $(fps "$SMALL" "${T[aws_small]}") files/s | $rb | ≤ 0.7 | $(verdict "$rb" 0.7) |
| c | no-op re-run over a finished upload of $MANY files of 4 KiB$MANY_NOTE | \`lp copy --transfers 16\`, manifest kept: $(cell lp_noop), $LP_SKIPPED skipped | \`rclone copy\` $(cell rclone_noop), $RCLONE_CHECKS_CELL; \`aws s3 sync\` $(cell aws_noop) | $rc | ≤ 0.1 | $(verdict "$rc" 0.1) |
| c0 | (the upload row c re-runs: \`lp copy --transfers 16\`, one run) | $(cell lp_many_up), $(fps "$MANY" "${T[lp_many_up]}") files/s | (row b's best peer rate: $(fps "$SMALL" "${T[$best_b]}") files/s) | — | — | — |
| d | lp's peak RSS, $SMALL vs $MANY files (\`--transfers 16\`, the uploads of b and c0) | $(mib lp_small) MiB vs $(mib lp_many_up) MiB ($rss_growth %) | — | — | flat within 20 % | $rss_ok |
EOF
log "best peers: a $best_a, b $best_b, c $best_c; rclone re-run: $RCLONE_CHECKS"
log "done in $(( $(date +%s) - t_start ))s (lp start-up ${startup_s}s is inside every lp time); uptime: $(uptime)"
