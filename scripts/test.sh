#!/usr/bin/env bash
# Runs every test of LoadPipe on a fresh Debian machine with the .NET 10 SDK.
# Installs what is missing, starts what the tests need on 127.0.0.1, runs `dotnet test` over every test project,
# stops what it started, and ends with one line: "N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

work="$(mktemp -d /tmp/lp-test.XXXXXX)"
results="$work/results"
mkdir -p "$results"
small_disk="$work/small-disk"

cleanup() {
  cd /
  if mountpoint -q "$small_disk" 2>/dev/null; then umount "$small_disk" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

apt_updated=0
need_apt() { # need_apt COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then echo "test.sh: '$1' is missing; install the Debian package '$2'" >&2; return 1; fi
  if [ $apt_updated = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || { echo "test.sh: could not install $2" >&2; return 1; }
}

need_apt zstd zstd

started=()
stop_services() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${pgbin:-}" ] && [ -d "$work/pgdata" ]; then
    su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $work/pgdata -m immediate stop" >/dev/null 2>&1 || true
  fi
}
trap 'stop_services; cleanup' EXIT

free_port() { # a random free TCP port on 127.0.0.1
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

wait_port() { # wait_port PORT NAME: until something listens (at most 60 s)
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "test.sh: $2 did not start on port $1" >&2
  return 1
}

# PostgreSQL, for the PostgreSQL manifest: a throwaway cluster on a free port.
start_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need_apt pg_ctlcluster postgresql || return 1; fi
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  local port; port=$(free_port)
  mkdir -p "$work/pgdata" "$work/pgsock"
  chown postgres:postgres "$work/pgdata" "$work/pgsock" && chmod 700 "$work/pgdata"
  chmod 755 "$work"
  su postgres -s /bin/sh -c "$pgbin/initdb -D $work/pgdata -U postgres -A trust -E UTF8 --no-locale" >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; return 1; }
  su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $work/pgdata -l $work/pgsock/pg.log -w -o '-p $port -k $work/pgsock -c listen_addresses=127.0.0.1 -c fsync=off' start" >/dev/null 2>&1 || { cat "$work/pgsock/pg.log" >&2; return 1; }
  psql -h 127.0.0.1 -p "$port" -U postgres -qc 'CREATE DATABASE lp_test' >/dev/null || return 1
  export LP_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=lp_test"
}

# An S3-compatible server: s3rver (npm) with the routes it lacks (tests/s3rver/server.js adds them).
start_s3() {
  command -v node >/dev/null 2>&1 || need_apt node nodejs || return 1
  command -v npm >/dev/null 2>&1 || need_apt npm npm || return 1
  local npmdir="$root/.artifacts/npm"
  # s3rver, and the tus reference parts the tus tests run (tus-js-client against lp serve, @tus/server for lp's client).
  if [ ! -d "$npmdir/node_modules/s3rver" ] || [ ! -d "$npmdir/node_modules/@tus/server" ] || [ ! -d "$npmdir/node_modules/@tus/file-store" ] \
    || [ ! -d "$npmdir/node_modules/tus-js-client" ]; then
    mkdir -p "$npmdir"
    npm install --silent --no-audit --no-fund --prefix "$npmdir" s3rver@3.7.1 @tus/server@2.4.5 @tus/file-store@2.1.1 tus-js-client@4.3.1 \
      >"$work/npm.log" 2>&1 || { cat "$work/npm.log" >&2; return 1; }
  fi
  local port; port=$(free_port)
  mkdir -p "$work/s3"
  local server="$npmdir/node_modules/s3rver/bin/s3rver.js"
  [ -f "$root/tests/s3rver/server.js" ] && server="$root/tests/s3rver/server.js"
  NODE_PATH="$npmdir/node_modules" NODE_OPTIONS=--openssl-legacy-provider \
    node "$server" -d "$work/s3" -a 127.0.0.1 -p "$port" --configure-bucket test-bucket >"$work/s3rver.log" 2>&1 &
  started+=($!)
  wait_port "$port" s3rver || { cat "$work/s3rver.log" >&2; return 1; }
  export LP_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export LP_TEST_S3_LOG="$work/s3rver.log"
}

# The tus reference server: @tus/server with @tus/file-store (installed with s3rver, above), at /files/.
start_tus_reference() {
  local npmdir="$root/.artifacts/npm"
  [ -d "$npmdir/node_modules/@tus/server" ] || return 1
  local port; port=$(free_port)
  mkdir -p "$work/tus"
  NODE_PATH="$npmdir/node_modules" node "$root/tests/tus/reference-server.js" "$port" "$work/tus" >"$work/tus.log" 2>&1 &
  started+=($!)
  wait_port "$port" "the tus reference server" || { cat "$work/tus.log" >&2; return 1; }
  export LP_TEST_TUS_ENDPOINT="http://127.0.0.1:$port/files/"
  export LP_TEST_TUS_DIR="$work/tus"
  export LP_TEST_TUS_LOG="$work/tus.log"
}

# A browser for the browser tests: Debian's chromium, which Playwright drives (it downloads no browser of its own).
find_chromium() {
  need_apt chromium chromium || return 1
  export LP_TEST_CHROMIUM="$(command -v chromium)"
}

# clamd (Debian's clamav-daemon) for the ingest API's virus scan. No signature download is possible offline: its database
# is one .hdb line, the MD5 and size of the EICAR test file. StreamMaxLength lets it scan files up to the 1 GiB upload limit.
start_clamd() {
  need_apt clamd clamav-daemon || return 1
  local port; port=$(free_port)
  mkdir -p "$work/clamdb"
  echo '44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature' >"$work/clamdb/test.hdb"
  printf 'DatabaseDirectory %s\nTCPSocket %s\nTCPAddr 127.0.0.1\nForeground yes\nUser root\nStreamMaxLength 1100M\n' "$work/clamdb" "$port" >"$work/clamd.conf"
  clamd -c "$work/clamd.conf" >"$work/clamd.log" 2>&1 &
  started+=($!)
  wait_port "$port" clamd || { cat "$work/clamd.log" >&2; return 1; }
  export LP_TEST_CLAMD="127.0.0.1:$port"
}

# Redis (Debian's redis-server) for the ingest API's storage element discovery (pub/sub); nothing saved to disk.
start_redis() {
  need_apt redis-server redis-server || return 1
  local port; port=$(free_port)
  mkdir -p "$work/redis"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --save "" --appendonly no >"$work/redis.log" 2>&1 &
  started+=($!)
  wait_port "$port" redis-server || { cat "$work/redis.log" >&2; return 1; }
  export LP_TEST_REDIS="127.0.0.1:$port"
}

start_postgres || echo "test.sh: PostgreSQL could not start; its tests will fail" >&2
start_clamd || echo "test.sh: clamd could not start; the virus scan tests will fail" >&2
start_redis || echo "test.sh: redis-server could not start; the discovery tests will fail" >&2
start_s3 || echo "test.sh: the S3 server could not start; its tests will fail" >&2
start_tus_reference || echo "test.sh: the tus reference server could not start; its tests are skipped" >&2
find_chromium || echo "test.sh: chromium could not be installed; the browser tests will fail" >&2

# A 4 MiB file system for the "disk full" test (needs root to mount; the test says so if it is missing).
mkdir -p "$small_disk"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=4m tmpfs "$small_disk" 2>/dev/null; then
  export LP_TEST_SMALL_DISK="$small_disk"
fi

dotnet build LoadPipe.slnx -c Release --nologo -v quiet -warnaserror || { echo "0 passed, 1 failed"; exit 1; }

# The end-to-end tests run the program users run: ./lp's build, native where the machine can make it.
if "$root/lp" --version >/dev/null && [ "$(cat "$root/.artifacts/lp/.built" 2>/dev/null)" = native ]; then
  export LP_TEST_PROGRAM="$root/.artifacts/lp/lp"
else
  echo "test.sh: no native lp here; the end-to-end tests run dotnet lp.dll" >&2
fi

# LP_TEST_FILTER runs a subset (dotnet test --filter syntax), e.g. LP_TEST_FILTER=FullyQualifiedName~SharedManifest.
filter=()
if [ -n "${LP_TEST_FILTER:-}" ]; then filter=(--filter "$LP_TEST_FILTER"); fi
dotnet test LoadPipe.slnx -c Release --no-build --nologo "${filter[@]}" \
  --logger "trx" --results-directory "$results" -- RunConfiguration.TestSessionTimeout=1500000
status=$?

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
  f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
