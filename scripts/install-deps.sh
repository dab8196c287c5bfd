#!/bin/sh
# Installs every build, test and runtime dependency on Debian bookworm (idempotent).
set -eu
PKGS="clang libclang-rt-dev llvm make gcc pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev
systemtap-sdt-dev debootstrap python3 python3-pytest python3-jsonschema binutils libxml2-utils
chromium time"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "pybpf-prof: cannot install$missing: not root (hint: sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
