#!/usr/bin/env bash
# Builds the ceremony binary the reproducible way (docs/build.md) and prints its SHA-256.
#
#   scripts/build.sh [TARGET_DIR]     (default: target/ in the source folder)
#
# The toolchain comes from rust-toolchain.toml and the dependencies from Cargo.lock (--locked).
# Dependency sources live under CARGO_HOME, whose path would otherwise end up in panic
# messages: it is remapped to /cargo, so builds under different homes give the same bytes.
# The source folder's own path is never embedded (cargo passes it relative).
set -euo pipefail

source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$source_dir"
target_dir=${1:-$source_dir/target}
cargo_home=$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)

# Nothing from the builder's environment may change the compiler's flags.
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER
export RUSTFLAGS="--remap-path-prefix=$cargo_home=/cargo"
export CARGO_TARGET_DIR=$target_dir

cargo build --release --locked --bin custody >&2
sha256sum "$target_dir/release/custody"
