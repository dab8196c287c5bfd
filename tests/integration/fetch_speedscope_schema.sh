#!/bin/sh
# Installs speedscope's npm package into a cache directory (once) and prints
# the path of the file-format JSON schema it ships.
#   PYBPF_SPEEDSCOPE_DIR      cache (default /var/lib/pybpf-prof/speedscope)
#   PYBPF_SPEEDSCOPE_VERSION  package version (default 1.25.0, the one checked)
set -eu
dir=${PYBPF_SPEEDSCOPE_DIR:-/var/lib/pybpf-prof/speedscope}
version=${PYBPF_SPEEDSCOPE_VERSION:-1.25.0}
pkg="$dir/node_modules/speedscope"
schema="$pkg/dist/release/file-format-schema.json"

installed_version() {
	sed -n 's/^  "version": "\(.*\)",$/\1/p' "$pkg/package.json" 2>/dev/null
}

if [ "$(installed_version)" != "$version" ] || [ ! -r "$schema" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "pybpf-prof: cannot fetch speedscope $version: npm not found (hint: apt-get install npm)" >&2
		exit 1
	fi
	mkdir -p "$dir"
	npm install --prefix "$dir" --no-audit --no-fund --no-save --silent \
		"speedscope@$version" >&2
fi
if [ ! -r "$schema" ]; then
	echo "pybpf-prof: speedscope $version in $dir has no dist/release/file-format-schema.json" >&2
	exit 1
fi
echo "$schema"
