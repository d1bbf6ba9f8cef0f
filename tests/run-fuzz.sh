#!/bin/sh
# Runs one libFuzzer target for a few seconds on a scratch copy of its seed corpus.
#   tests/run-fuzz.sh BUILD/fuzz/fuzz_NAME SECONDS
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
seconds=${2:-8}
name=$(basename "$bin")
SRC=$(cd "$(dirname "$0")/.." && pwd)
seeds="$SRC/tests/fuzz/corpus/${name#fuzz_}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
[ -d "$seeds" ] && cp -r "$seeds"/. "$work/corpus/"
cd "$work"
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus
