#!/usr/bin/env bash
# The system packages the tests use, installed from Debian when missing (npm test runs this first;
# a second run does nothing). Fails loudly when something is missing and cannot be installed: no
# test is then skipped for want of it.
#
# - chromium, fonts-noto-cjk: the court page and certificate tests drive Debian's Chromium through
#   playwright-core (never `playwright install`); the certificate prints Chinese.
# - golang-go, golang-golang-x-mod-dev: the Go x/mod interoperability test (GOPATH mode, no proxy).
# - openssl: the test TSA (`openssl ts -reply`) and the 国密 interop peer.
# - jq: docs/gm.md's OpenSSL walkthrough, run as written.
# - radosgw, ceph-mon, ceph-osd, ceph-common: the mirror tests start a real Ceph RADOS Gateway
#   (scripts/ceph-rgw.sh: one mon, one memstore OSD, S3 on 127.0.0.1).
set -euo pipefail
missing=()
# GUZHENG_SKIP_BROWSER_TESTS=1 skips the browser tests on purpose (README.md): no Chromium then.
if [ "${GUZHENG_SKIP_BROWSER_TESTS:-}" != 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -n "$(fc-list :lang=zh family 2>/dev/null || true)" ] || missing+=(fonts-noto-cjk)
fi
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ -f /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog/tile.go ] || missing+=(golang-golang-x-mod-dev)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v radosgw >/dev/null 2>&1 || missing+=(radosgw)
command -v ceph-mon >/dev/null 2>&1 || missing+=(ceph-mon)
command -v ceph-osd >/dev/null 2>&1 || missing+=(ceph-osd)
command -v ceph >/dev/null 2>&1 || missing+=(ceph-common)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "test-deps: installing ${missing[*]} (Debian packages)"
sudo=()
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "test-deps: FAILED: missing ${missing[*]}, and not root without sudo: install them (apt-get install ${missing[*]}) and run the tests again" >&2
    exit 1
  fi
  sudo=(sudo)
fi
if ! { "${sudo[@]}" apt-get update -qq >/dev/null && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "test-deps: FAILED to install ${missing[*]}: install them and run the tests again" >&2
  exit 1
fi
