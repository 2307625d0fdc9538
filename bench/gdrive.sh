#!/usr/bin/env bash
# LoadPipe benchmark, Google Drive: 1 GiB through the Drive protocol on loopback, beside the same work between local
# folders.
#
#   bash bench/gdrive.sh         # ~3-5 minutes on 2 cores; prints ONE Markdown table on stdout
#
# The Drive side is the project's Google-protocol server (tests/LoadPipe.Testing.Google: Drive v3 files.list/get,
# alt=media with Range, resumable upload sessions in 256 KiB multiples, the OAuth token endpoint), run as a program
# on 127.0.0.1. lp signs in to it as a service account (`service_account_file`, a JWT bearer grant against
# `token_url`), exactly as against Google. The server keeps file contents on disk and computes every upload's MD5
# as it arrives; it runs on the same 2 cores as lp, so its CPU time is inside every Drive figure.
#
# Rows: a. Drive -> `-p zstd` -> Drive (seed 000's cycle), b. the same between local folders, c. Drive -> Drive
# without a stage, d. download Drive -> local, e. upload local -> Drive. The data: 1 GiB of JSON lines
# (compressible, as bench/run.sh row 2), seeded into the server with curl (one PUT to a session URI, untimed).
# Every output is checked: sizes and md5Checksum as the server reports them, and the zstd outputs decompress to the
# source's MD5.
#
# Timed: wall clock of the whole `lp` process (start-up included), CPU (user + sys) and peak RSS of lp from
# /usr/bin/time -v. The server's own peak RSS (VmHWM) over the whole run is reported under the table.
# MB/s are decimal (10^6 bytes per second); 1 GiB = 1073.7 MB, measured on the uncompressed size.
# Progress goes to stderr. Knobs: LP_BENCH_DIR (work folder, default bench/out/gdrive), LP_BENCH_RUNS (runs per row,
# best kept, default 2), LP_BENCH_MIB (data size, default 1024), LP_BENCH_KEEP=1 (keep the files), LP_BENCH_TIMEOUT (seconds per command, default 300).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LP_BENCH_DIR:-$ROOT/bench/out/gdrive}"
RUNS="${LP_BENCH_RUNS:-2}"
TMO="${LP_BENCH_TIMEOUT:-300}"
GIB=$(( ${LP_BENCH_MIB:-1024} << 20 ))   # the data size; LP_BENCH_MIB=64 for a quick smoke run

log() { printf '[gdrive %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- tools
need=()
[ -x /usr/bin/time ] || need+=(time)
for t in zstd curl jq mawk; do command -v "$t" >/dev/null 2>&1 || need+=("$t"); done
bench_install "${need[@]}"

# ---------------------------------------------------------------- work area and cleanup
cleanup() {
  bench_stop_server
  if [ "${LP_BENCH_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$WORK"
mkdir -p "$WORK/data" "$WORK/dst" "$WORK/srv" "$WORK/tmp"
bench_need_space 8

# ---------------------------------------------------------------- builds
bench_lp
log "building the Google protocol server (Release)"
dotnet build "$ROOT/tests/LoadPipe.Testing.Google" -c Release -o "$WORK/tmp/fake" -v q -nologo >"$WORK/tmp/fake-build.log" 2>&1 \
  || { tail -20 "$WORK/tmp/fake-build.log" >&2; die "the Google protocol server does not build"; }

# ---------------------------------------------------------------- server
SA="$WORK/tmp/service-account.json"
dotnet "$WORK/tmp/fake/LoadPipe.Testing.Google.dll" --port 0 --data "$WORK/srv" \
  --service-account "bench@loadpipe-bench.iam.gserviceaccount.com=$SA" \
  --issue-token loadpipe-test-client --print-ready >"$WORK/tmp/server.out" 2>"$WORK/tmp/server.err" </dev/null &
SERVER_PID=$!
for _ in $(seq 200); do grep -q '^READY ' "$WORK/tmp/server.out" 2>/dev/null && break; kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
grep -q '^READY ' "$WORK/tmp/server.out" || { cat "$WORK/tmp/server.err" >&2; die "the server did not start"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$WORK/tmp/server.out"; }
BASE=$(field base_url)          # http://127.0.0.1:PORT/
TOKEN=$(field access_token)     # for curl's seeding and checks only; lp gets its own through the service account
[ -s "$SA" ] || die "the server wrote no service-account key"
log "server on $BASE (pid $SERVER_PID), data in $WORK/srv"

CFG="$WORK/tmp/lp.yaml"
cat >"$CFG" <<EOF
remotes:
  gd:
    type: gdrive
    api_url: ${BASE}drive/v3
    upload_url: ${BASE}upload/drive/v3
    token_url: ${BASE}token
    service_account_file: $SA
EOF
unset LP_GOOGLE_ACCESS_TOKEN

# ---------------------------------------------------------------- Drive calls for seeding and checks (curl + jq)
api() { curl -sfS -H "Authorization: Bearer $TOKEN" "$@"; }
q() { jq -rn --arg v "$1" '$v|@uri'; }
child_id() {   # child_id PARENT_ID NAME: the id of NAME in PARENT_ID (not trashed), or empty
  local name=${2//\\/\\\\}; name=${name//\'/\\\'}
  api "${BASE}drive/v3/files?q=$(q "'$1' in parents and name = '$name' and trashed = false")" | jq -r '.files[0].id // empty'
}
path_id() {    # path_id a/b/c
  local id=root part
  IFS=/ read -ra parts <<<"$1"
  for part in "${parts[@]}"; do id=$(child_id "$id" "$part"); [ -n "$id" ] || return 0; done
  echo "$id"
}
only_file() {  # only_file FOLDER_PATH: the JSON of the single file in that folder
  local id; id=$(path_id "$1"); [ -n "$id" ] || { log "$1: no such folder"; return 1; }
  api "${BASE}drive/v3/files?q=$(q "'$id' in parents and trashed = false")" | jq -c '.files'
}
drop() { local id; id=$(path_id "$1"); [ -z "$id" ] || api -X DELETE "${BASE}drive/v3/files/$id" >/dev/null; }
make_folder() {
  api -H 'Content-Type: application/json' -d "{\"name\":\"$1\",\"mimeType\":\"application/vnd.google-apps.folder\",\"parents\":[\"root\"]}" \
    "${BASE}drive/v3/files" | jq -r .id
}

# ---------------------------------------------------------------- data
log "machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') RAM, $(uname -r); uptime: $(uptime)"
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
JSN="$WORK/data/lines.jsonl"
log "generating $((GIB >> 20)) MiB of JSON-lines text (compressible)"
mawk -v n=100000000 'BEGIN{srand(42); split("alpha beta gamma delta epsilon zeta eta theta iota kappa",w," ");
  for(i=0;i<n;i++){printf "{\"id\":%d,\"ts\":\"2026-11-%02dT%02d:%02d:%02dZ\",\"user\":\"user%05d\",\"level\":\"%s\",\"msg\":\"%s %s %s request took %d ms\",\"bytes\":%d,\"ok\":%s}\n",
  i, 1+int(rand()*28), int(rand()*24), int(rand()*60), int(rand()*60), int(rand()*50000), (rand()<0.9?"info":"warn"),
  w[1+int(rand()*10)], w[1+int(rand()*10)], w[1+int(rand()*10)], int(rand()*5000), int(rand()*1e6), (rand()<0.95?"true":"false")}}' 2>/dev/null \
  | head -c $GIB >"$JSN" || true
[ "$(stat -c %s "$JSN")" -eq $GIB ] || die "JSON-lines file has the wrong size"
MD5=$(md5sum "$JSN" | cut -d' ' -f1)

log "seeding raw/lines.jsonl into the server (curl, one PUT to a resumable session)"
RAW_ID=$(make_folder raw)
SESSION=$(curl -sfS -D - -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H "X-Upload-Content-Length: $GIB" -d "{\"name\":\"lines.jsonl\",\"parents\":[\"$RAW_ID\"]}" \
  "${BASE}upload/drive/v3/files?uploadType=resumable" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
[ -n "$SESSION" ] || die "no upload session"
seeded=$(curl -sfS -T "$JSN" "$SESSION" | jq -r '.size + " " + .md5Checksum')
[ "$seeded" = "$GIB $MD5" ] || die "seeding: the server has '$seeded', expected '$GIB $MD5'"

# ---------------------------------------------------------------- measuring
# run_one NAME CMD: one run under /usr/bin/time -v. Sets T1 (wall s), C1 (CPU s), R1 (peak RSS KiB) and S1 (the
# server's CPU seconds during the run, from /proc/PID/stat).
declare -A T C R S
TICK=$(getconf CLK_TCK)
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
run_one() {
  local name=$1 cmd=$2 t0 t1 s0 tv="$WORK/tmp/time-v.txt"
  sync
  s0=$(server_ticks)
  t0=$(date +%s%N)
  if ! eval "timeout $TMO /usr/bin/time -v -o $tv $cmd" >"$WORK/tmp/$name.out" 2>&1; then
    tail -20 "$WORK/tmp/$name.out" >&2; die "$name: command failed: $cmd"
  fi
  t1=$(date +%s%N)
  T1=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}')
  R1=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tv")
  C1=$(awk -F': ' '/User time/{u=$2} /System time/{y=$2} END{printf "%.1f", u+y}' "$tv")
  S1=$(awk -v a="$s0" -v b="$(server_ticks)" -v t="$TICK" 'BEGIN{printf "%.1f", (b-a)/t}')
  log "  $name: ${T1}s, CPU ${C1}s (server ${S1}s), peak RSS $((R1 / 1024)) MiB, load $(cut -d' ' -f1 /proc/loadavg)"
}
# run_best NAME CMD_TEMPLATE CHECK: RUNS runs, @N@ becomes the run number; CHECK (eval) verifies and cleans up.
run_best() {
  local name=$1 tmpl=$2 check=$3 i
  for ((i = 1; i <= RUNS; i++)); do
    run_one "$name-$i" "${tmpl//@N@/$i}"
    eval "${check//@N@/$i}" || die "$name run $i: check failed"
    if [ -z "${T[$name]:-}" ] || awk -v x="$T1" -v y="${T[$name]}" 'BEGIN{exit !(x<y)}'; then
      T[$name]=$T1; C[$name]=$C1; R[$name]=$R1; S[$name]=$S1
    fi
  done
}
lpc() { echo "$LP copy -q --config $CFG --manifest $WORK/tmp/m-$1.db"; }
ZSIZE=""
# drive_ok FOLDER zst|raw RUN: the folder holds one file, with the source's size and MD5 (raw), or a zstd stream of
# the source (zst: decompressed and hashed on the first run; later runs must match the first run's size).
drive_ok() {
  local files size id md5
  files=$(only_file "$1") || return 1
  [ "$(jq length <<<"$files")" -eq 1 ] || { log "$1: $(jq length <<<"$files") files, expected 1"; return 1; }
  size=$(jq -r '.[0].size' <<<"$files"); id=$(jq -r '.[0].id' <<<"$files"); md5=$(jq -r '.[0].md5Checksum' <<<"$files")
  if [ "$2" = raw ]; then
    [ "$size $md5" = "$GIB $MD5" ] || { log "$1: size/md5 $size $md5, expected $GIB $MD5"; return 1; }
  elif [ "$3" = 1 ]; then
    [ "$(api "${BASE}drive/v3/files/$id?alt=media" | zstd -dc | md5sum | cut -d' ' -f1)" = "$MD5" ] \
      || { log "$1: does not decompress to the source"; return 1; }
    ZSIZE=$size
  else
    [ "$size" = "$ZSIZE" ] || { log "$1: $size bytes, the first run made $ZSIZE"; return 1; }
  fi
  drop "$1"
}
local_ok() {   # local_ok FILE zst|raw
  if [ "$2" = raw ]; then [ "$(md5sum "$1" | cut -d' ' -f1)" = "$MD5" ] || { log "$1 differs"; return 1; }
  else [ "$(zstd -dc "$1" | md5sum | cut -d' ' -f1)" = "$MD5" ] || { log "$1 does not decompress to the source"; return 1; }; fi
  rm -rf "$(dirname "$1")"
}

startup_s=$( { t0=$(date +%s%N); $LP --version >/dev/null; t1=$(date +%s%N); awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}'; } )
log "lp start-up (lp --version): ${startup_s}s"
cat "$JSN" >/dev/null

log "a. Drive -> zstd -> Drive"
run_best drive_zstd "$(lpc a-@N@) -p zstd gd:raw/lines.jsonl gd:clean-@N@/" "drive_ok clean-@N@ zst @N@"
log "b. local -> zstd -> local"
run_best local_zstd "$(lpc b-@N@) -p zstd $JSN $WORK/dst/b-@N@/" 'local_ok "$(ls -d '"$WORK"'/dst/b-@N@/*)" zst'
log "c. Drive -> Drive, no stage"
run_best drive_copy "$(lpc c-@N@) gd:raw/lines.jsonl gd:copy-@N@/" "drive_ok copy-@N@ raw @N@"
log "d. download Drive -> local"
run_best drive_down "$(lpc d-@N@) gd:raw/lines.jsonl $WORK/dst/d-@N@/" "local_ok $WORK/dst/d-@N@/lines.jsonl raw"
log "e. upload local -> Drive"
run_best drive_up "$(lpc e-@N@) $JSN gd:up-@N@/" "drive_ok up-@N@ raw @N@"
log "reference: zstd -3 alone"
run_best zstd_cli "sh -c 'zstd -q -3 -c $JSN > $WORK/dst/ref.zst'" "rm -f $WORK/dst/ref.zst"

SERVER_HWM=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$SERVER_PID/status")
REQUESTS=$(curl -sfS "${BASE}__admin/requests" | jq length)
bench_stop_server

# ---------------------------------------------------------------- table
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
mbps() { awk -v b="$GIB" -v s="${T[$1]}" 'BEGIN{printf "%.0f", b/s/1e6}'; }
cell() { echo "${T[$1]} s, $(mbps "$1") MB/s, CPU ${C[$1]} s, RSS $(( R[$1] / 1024 )) MiB"; }
dcell() { echo "$(cell "$1"); server CPU ${S[$1]} s"; }   # a Drive row: also the server's CPU time in that run
ratio() { awk -v a="${T[$1]}" -v b="${T[$2]}" 'BEGIN{printf "%.2f", a/b}'; }
cat <<EOF
| # | $((GIB >> 20)) MiB of JSON lines, lp over the Drive protocol on 127.0.0.1 ($(nproc) cores; best of $RUNS; load avg $load_start at start, $load_end at end) | lp: time, MB/s (uncompressed), CPU, peak RSS; on Drive rows the server's CPU in that run | beside it | Drive ÷ local (time) |
|---|---|---|---|---|
| a | Drive -> \`-p zstd\` -> Drive (\`lp copy -p zstd gd:raw/lines.jsonl gd:clean/\`), output $ZSIZE bytes | $(dcell drive_zstd) | b: the same between local folders | $(ratio drive_zstd local_zstd) |
| b | local -> \`-p zstd\` -> local | $(cell local_zstd) | \`zstd -3 -c > out\` alone: $(cell zstd_cli) | — |
| c | Drive -> Drive, no stage | $(dcell drive_copy) | — | — |
| d | download Drive -> local | $(dcell drive_down) | — | — |
| e | upload local -> Drive | $(dcell drive_up) | — | — |
EOF
log "server: peak RSS ${SERVER_HWM} MiB over the whole run, $REQUESTS requests; lp start-up ${startup_s}s is inside every lp time"
log "done in $(( $(date +%s) - t_start ))s; uptime: $(uptime)"
