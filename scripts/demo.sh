#!/usr/bin/env bash
# LoadPipe's demo on the embedded defaults: a SQLite manifest and local folders, nothing to install.
# Makes sample data under .lp-demo/, runs the jobs of configs/example.yaml, interrupts a copy with kill -9
# and resumes it, and shows that a second run sends nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
demo=.lp-demo
export LP_MANIFEST="$demo/manifest.db"
rm -rf "$demo"
mkdir -p "$demo/input/photos/2026" "$demo/input/logs" "$demo/output"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Building lp and making sample data in $demo/input"
./lp --help >/dev/null
for i in $(seq 1 24); do head -c $((200000 + i * 9000)) /dev/urandom > "$demo/input/photos/2026/img_$i.jpg"; done
echo "not a photo" > "$demo/input/photos/notes.txt"
awk 'BEGIN { srand(7); split("info warn error", lv, " ");
  for (i = 0; i < 600000; i++) printf "{\"i\":%d,\"level\":\"%s\",\"msg\":\"event %d\"}\n", i, lv[int(rand() * 3) + 1], int(rand() * 100000) }' \
  | ./lp push "$demo/input/logs/app.jsonl.zst" --process zstd --quiet
head -c 256M /dev/urandom > "$demo/input/big.bin"
ls -la "$demo/input" "$demo/input/logs"

step "A copy interrupted with kill -9 ..."
./lp copy "$demo/input/big.bin" "$demo/output/" --bwlimit 64M --quiet &
pid=$!
until [ -f "$demo/output/.big.bin.lp-partial" ] && [ "$(stat -c %s "$demo/output/.big.bin.lp-partial")" -gt 50000000 ]; do sleep 0.2; done
kill -9 "$(pgrep -P "$pid" -f lp.dll || echo "$pid")" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
./lp status
step "... continues from its last confirmed chunk"
./lp copy "$demo/input/big.bin" "$demo/output/" --json | tail -1

step "lp sync --config configs/example.yaml (the big file is already done: skipped)"
./lp sync --config configs/example.yaml

step "Checking the results"
cmp "$demo/input/big.bin" "$demo/output/big.bin" && echo "big.bin: identical"
echo "photos copied: $(find "$demo/output/photos" -name '*.jpg' | wc -l) (notes.txt left out: $( [ -e "$demo/output/photos/notes.txt" ] && echo no || echo yes))"
errors_in=$(./lp pull "$demo/input/logs/app.jsonl.zst" --process unzstd --quiet | grep -c '"level":"error"')
errors_out=$(./lp pull "$demo/output/errors.jsonl.zst" --process unzstd --quiet | wc -l)
echo "error lines: $errors_in in the source, $errors_out in the result"

step "Running the jobs again sends nothing"
./lp sync --config configs/example.yaml --json | tail -1
