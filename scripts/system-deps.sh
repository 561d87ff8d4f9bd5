#!/usr/bin/env bash
# System packages the tests need and pip cannot provide: espeak-ng speaks known sentences into test audio,
# Debian Chromium is the browser Playwright drives. Skips apt when everything is already there.
set -euo pipefail
missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
# The Ray cluster test runs its nodes in a private network namespace (loopback only): unshare, nsenter, ip.
command -v nsenter >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
