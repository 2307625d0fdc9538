# Set-up shared by the bench scripts (run.sh, s3.sh, gdrive.sh); sourced, not run. The caller sets ROOT (the
# repository) and WORK (its work folder) and defines log and die.

# bench_install PKG...: installs the Debian packages given (the caller lists those it lacks), after one apt-get update.
bench_install() {
  [ $# -gt 0 ] || return 0
  log "installing from Debian: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "$@" >&2
}

# bench_lp: builds lp with `./lp --help` and sets LP to the command that runs a snapshot of that build, copied to
# $WORK/tmp/lp: ./lp rebuilds .artifacts/lp in place when src/ changes, which others may trigger while a bench runs.
# Also sets LP_KIND (native: Native AOT; jit: ReadyToRun on dotnet) and LP_REV (the commit, and whether src/ differs).
bench_lp() {
  command -v dotnet >/dev/null || die "dotnet is not on PATH"
  log "building lp (Release) via ./lp --help"
  "$ROOT/lp" --help >/dev/null || die "lp does not build"
  LP_KIND=$(cat "$ROOT/.artifacts/lp/.built" 2>/dev/null || true)
  [ -n "$LP_KIND" ] || die ".artifacts/lp/.built missing after the build"
  LP_REV="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
  mkdir -p "$WORK/tmp"
  rm -rf "$WORK/tmp/lp"
  cp -a "$ROOT/.artifacts/lp" "$WORK/tmp/lp"
  if [ "$LP_KIND" = native ]; then LP="$WORK/tmp/lp/lp"; else LP="dotnet $WORK/tmp/lp/lp.dll"; fi
  log "lp ($LP_KIND build) from $LP_REV"
}

# bench_need_space GIB: fails unless the work folder's file system has about GIB GiB free.
bench_need_space() {
  local avail_kb
  avail_kb=$(df -Pk "$WORK" | awk 'NR==2{print $4}')
  [ "$avail_kb" -gt $(($1 * 1024 * 1024)) ] || die "need ~$1 GiB free under $WORK, have $((avail_kb / 1024)) MiB"
}

# bench_free_port: prints a port of 127.0.0.1 that nothing listens on.
bench_free_port() {
  local p
  for p in $(shuf -i 20000-40000 -n 50); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port"
}

# bench_stop_server: stops the server the script started (SERVER_PID), if it still runs.
SERVER_PID=""
bench_stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
}
