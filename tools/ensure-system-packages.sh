#!/usr/bin/env bash
# Installs the Debian packages Conductor needs when they are missing: PostgreSQL 15 with
# pg_cron and pgTAP (server, client, pg_dump), Python's venv module, and headless Chromium (the
# report page's browser test drives /usr/bin/chromium). Idempotent.
set -euo pipefail
need=()
dpkg -s postgresql-15 >/dev/null 2>&1 || need+=(postgresql-15)
dpkg -s postgresql-client-15 >/dev/null 2>&1 || need+=(postgresql-client-15)
dpkg -s postgresql-15-cron >/dev/null 2>&1 || need+=(postgresql-15-cron)
dpkg -s postgresql-15-pgtap >/dev/null 2>&1 || need+=(postgresql-15-pgtap)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s chromium-driver >/dev/null 2>&1 || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
# Debian starts a default cluster on port 5432; Conductor runs its own clusters.
if command -v pg_lsclusters >/dev/null 2>&1; then
  $SUDO pg_ctlcluster 15 main stop 2>/dev/null || true
fi
