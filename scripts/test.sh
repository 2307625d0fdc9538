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

# A 4 MiB file system for the "disk full" test (needs root to mount; the test says so if it is missing).
mkdir -p "$small_disk"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=4m tmpfs "$small_disk" 2>/dev/null; then
  export LP_TEST_SMALL_DISK="$small_disk"
fi

dotnet build LoadPipe.slnx -c Release --nologo -v quiet -warnaserror || { echo "0 passed, 1 failed"; exit 1; }

dotnet test LoadPipe.slnx -c Release --no-build --nologo \
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
