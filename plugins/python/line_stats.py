#!/usr/bin/env python3
"""An lp fetch plugin (docs/plugins.md): for each downloaded file, its line count and longest line.

Run as `lp fetch --files LIST --processor 'plugin:python3 plugins/python/line_stats.py'`.
One JSON request per line on stdin, one JSON answer per line on stdout; stdout carries nothing else
(print diagnostics to stderr). The process is kept for the next files and ends when stdin closes.
"""
import json
import sys


def process(request):
    lines = 0
    longest = 0
    with open(request["path"], "rb") as f:
        for line in f:
            lines += 1
            longest = max(longest, len(line.rstrip(b"\r\n")))
    return {"lines": lines, "longest_line": longest}


def main():
    for raw in sys.stdin:
        if not raw.strip():
            continue
        try:
            request = json.loads(raw)
            answer = {"result": process(request)}
        except Exception as e:  # one file's failure is that file's, not the plugin's
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
