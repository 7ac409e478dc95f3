#!/usr/bin/env bash
# Rebuilds custody from a fresh copy of this source at another path and compares the result
# with a given binary (docs/build.md). Prints both hashes; exits 0 when they are identical,
# 1 when they differ.
#
#   scripts/reproduce.sh BINARY
#
# The copy is a clone of the current commit (committed content only: a binary built from a
# dirty tree will not match, which is the point), built by its own scripts/build.sh into a
# fresh target folder. Only release builds are comparable: debug builds carry the build's
# paths in their debug info.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BINARY" >&2; exit 2; }
[ -f "$1" ] || { echo "$0: no such file: $1" >&2; exit 2; }
binary=$(realpath "$1")

source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/custody-reproduce.XXXXXX")
trap 'rm -rf "$work"' EXIT

commit=$(git -C "$source_dir" rev-parse HEAD)
git clone --quiet --no-hardlinks "$source_dir" "$work/src"
git -C "$work/src" checkout --quiet --detach "$commit"
echo "rebuilding commit $commit in $work/src" >&2
rebuilt=$("$work/src/scripts/build.sh" "$work/target" | awk '{print $2}')

given_hash=$(sha256sum "$binary" | awk '{print $1}')
rebuilt_hash=$(sha256sum "$rebuilt" | awk '{print $1}')
echo "given    $given_hash  $binary"
echo "rebuilt  $rebuilt_hash  (commit $commit, fresh copy)"
if [ "$given_hash" = "$rebuilt_hash" ]; then
    echo "identical"
else
    echo "DIFFERENT" >&2
    exit 1
fi
