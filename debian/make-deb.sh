#!/bin/sh
# `make deb`: builds the Debian packages and checks them with lintian.
#   sh debian/make-deb.sh BUILD
# dpkg-buildpackage writes its results next to the source directory and leaves build trees in
# debian/: it runs on a copy of the tree in a temporary directory, so that nothing lands
# outside BUILD, a developer's own build/ is neither reused with other flags nor cleaned, and
# no copy of the tree (its *.d files, its pam.d directory) sits under BUILD, where the
# top-level Makefile includes every *.d it finds. Results: BUILD/deb/*.deb, lintian.txt.
set -eu
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT="$BUILD/deb"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mss-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/mssante-modules"
case "$BUILD" in
/*) exclude_build="--exclude=./build" ;;
*) exclude_build="--exclude=./build --exclude=./${BUILD%%/*}" ;;
esac
# shellcheck disable=SC2086
(cd "$SRC" && tar -c --exclude=./.git $exclude_build --exclude=./debian/.debhelper --exclude=./debian/tmp .) |
	tar -x -C "$tmp/mssante-modules"

start=$(date +%s)
(cd "$tmp/mssante-modules" && dpkg-buildpackage -us -uc -b -j2)
rm -rf "$OUT"
mkdir -p "$OUT"
cp "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$OUT"/

# Errors fail the build; warnings and information tags are shown.
status=0
lintian --fail-on error --display-info "$OUT"/*.deb >"$OUT/lintian.txt" 2>"$tmp/lintian.err" || status=$?
cat "$OUT/lintian.txt"
grep -v 'running with root privileges' "$tmp/lintian.err" >&2 || true
echo "deb: $(ls "$OUT"/*.deb | wc -l) packages in $OUT in $(($(date +%s) - start)) s;" \
	"lintian: $(grep -c '^E:' "$OUT/lintian.txt") errors, $(grep -c '^W:' "$OUT/lintian.txt") warnings"
exit "$status"
