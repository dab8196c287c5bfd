#!/bin/bash
# tests/provision.sh - provision CPython test interpreters whose USDT probes
# (python:function__entry / python:function__return) are compiled in.
#
#   bullseye  Debian 11's python3.9 (3.9.2-1), its .debs unpacked with dpkg -x
#             into $PYBPF_INTERP_DIR/bullseye.  Runs on the host as
#             $PYBPF_INTERP_DIR/bullseye/usr/bin/python3.9 with no environment
#             variables: CPython finds its prefix from the binary's location
#             (landmark ../lib/python3.9/os.py), so no PYTHONHOME or wrapper.
#             The binary links libpython statically, so the probes are in it.
#             Only host (bookworm) shared libraries are used: modules needing
#             libssl1.1, libffi7 or libmpdec3 (ssl, _hashlib, ctypes, _decimal)
#             do not import; asyncio, threading, json, re, cProfile, pstats,
#             marshal do (asyncio treats a missing ssl as optional).
#   sid       a Debian sid chroot (debootstrap --variant=minbase --merged-usr)
#             at $PYBPF_INTERP_DIR/sid with python3.X for each X in
#             $PYBPF_SID_PYTHONS (default "3.13 3.14 3.15"; e.g. "3.15").
#             Run: chroot "$PYBPF_SID_ROOT" /usr/bin/python3.15 ...
#             Attach probes to the host path "$PYBPF_SID_ROOT/usr/bin/python3.15"
#             (sid's binaries need glibc >= 2.38: they run only in the chroot).
#             CPython 3.12-3.14 have no function__entry/return probes at all
#             (lost in 3.11/3.12, restored in 3.15): 3.13/3.14 are there for
#             the eval-frame backend (and as probe-less controls for the USDT
#             one) and left out of PYBPF_SID_USDT_PYTHONS.
#             The probes have is-enabled semaphores: a tracer must bump them
#             (uprobe ref_ctr_offset), or the probes never fire.
#   austin    optional, never implied: the binary of sid's austin package (the
#             sampling profiler tests/bench_sample.py compares with) put in the
#             sid chroot as $PYBPF_SID_ROOT/usr/local/bin/austin, taken from
#             the .deb (provisions sid first). Run: chroot "$PYBPF_SID_ROOT"
#             /usr/local/bin/austin ... (it needs /proc mounted there).
#
# Usage: tests/provision.sh [-v] [--print-env [--no-provision]] [bullseye] [sid] [austin]
#   (no target)     bullseye and sid
#   -v              progress on stderr and a summary of what is available
#   --print-env     provision, then print shell assignments on stdout, for
#                   eval "$(tests/provision.sh --print-env)":
#                     PYBPF_INTERP_DIR  PYBPF_PY39 (host path of python3.9)
#                     PYBPF_SID_ROOT    PYBPF_SID_PY315... (host paths)
#                     PYBPF_SID_PYTHONS (installed)  PYBPF_SID_USDT_PYTHONS
#                     PYBPF_SID_AUSTIN (chroot path of austin, if installed)
#                   a variable is empty when its interpreter is not provisioned
#   --no-provision  with --print-env: report what is there, download nothing
#
# Environment: PYBPF_INTERP_DIR (default /var/lib/pybpf-prof/interp),
#   PYBPF_SID_PYTHONS (default "3.13 3.14 3.15"), PYBPF_DEBIAN_MIRROR (default: the
#   Debian main archive URI of this system's apt sources).
#
# Quiet on success; errors are one line on stderr, exit status 1.  Idempotent:
# each tree holds a stamp file written last, so a provisioned run does no
# network access and takes milliseconds.  Work happens in $DIR/.tmp-* and is
# moved into place when verified; leftovers of an interrupted run are removed
# (unmounting anything below them first) by the next run.  Needs root.
# The system's apt state (/var/lib/apt, /etc/apt, dpkg status) is not touched:
# bullseye uses a private apt configuration in the work directory.
set -eu
set -o pipefail

PROG="pybpf-prof provision"
DIR=${PYBPF_INTERP_DIR:-/var/lib/pybpf-prof/interp}
SID_PYTHONS=${PYBPF_SID_PYTHONS:-3.13 3.14 3.15}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
BULLSEYE_PKGS="python3.9-minimal libpython3.9-minimal libpython3.9-stdlib python3.9"
IMPORTS="asyncio, threading, json, re, cProfile, pstats, marshal"
# Stamp keys: change one to force a rebuild of that tree.
BULLSEYE_KEY="pybpf-prof bullseye v1: $BULLSEYE_PKGS"
SID_KEY="pybpf-prof sid v1: debootstrap --variant=minbase --merged-usr sid"
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

VERBOSE=0 PRINT_ENV=0 PROVISION=1 DO_BULLSEYE=0 DO_SID=0 DO_AUSTIN=0
WORK=""

die() { printf '%s: %s: %s\n' "$PROG" "$1" "$2" >&2; exit 1; }
say() { [ "$VERBOSE" = 0 ] || printf '%s: %s\n' "$PROG" "$*" >&2; }

for arg in "$@"; do
	case $arg in
	-v|--verbose) VERBOSE=1 ;;
	--print-env) PRINT_ENV=1 ;;
	--no-provision) PROVISION=0 ;;
	bullseye) DO_BULLSEYE=1 ;;
	sid) DO_SID=1 ;;
	austin) DO_AUSTIN=1 ;;
	-h|--help) sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) die "usage" "unknown argument '$arg' (see --help)" ;;
	esac
done
[ "$DO_BULLSEYE$DO_SID$DO_AUSTIN" != 000 ] || DO_BULLSEYE=1 DO_SID=1
[ "$DO_AUSTIN" = 0 ] || DO_SID=1
[ "$PROVISION" = 1 ] || [ "$PRINT_ENV" = 1 ] || die "usage" "--no-provision needs --print-env"
case $DIR in /*) ;; *) die "PYBPF_INTERP_DIR" "'$DIR' is not an absolute path" ;; esac
DIR=${DIR%/}
for v in $SID_PYTHONS; do
	case $v in 3.[0-9]|3.[0-9][0-9]) ;; *) die "PYBPF_SID_PYTHONS" "'$v' is not a version like 3.15" ;; esac
done

# ---------------------------------------------------------------- helpers

stamp_ok() { # stamp-file key
	[ -f "$1" ] && [ "$(head -n 1 "$1" 2>/dev/null)" = "$2" ]
}
bullseye_ok() {
	stamp_ok "$DIR/bullseye/.pybpf-stamp" "$BULLSEYE_KEY" && [ -x "$DIR/bullseye/usr/bin/python3.9" ]
}
sid_ok() {
	stamp_ok "$DIR/sid/.pybpf-stamp" "$SID_KEY"
}
sid_python_usdt() { # 3.X -> true if its stamp says it has the probes
	grep -qx 'usdt=yes' "$DIR/sid/.pybpf-stamp-python$1" 2>/dev/null
}
sid_python_ok() { # 3.X
	sid_ok && stamp_ok "$DIR/sid/.pybpf-stamp-python$1" "pybpf-prof sid python$1 v2" &&
		[ -x "$DIR/sid/usr/bin/python$1" ]
}

# The binary must carry the stapsdt notes python:function__entry/return.
has_usdt() { # elf
	readelf -n "$1" 2>/dev/null | awk '
		/^[ \t]*Provider: python[ \t]*$/ { p = 1; next }
		p && /^[ \t]*Name: function__entry[ \t]*$/ { e = 1 }
		p && /^[ \t]*Name: function__return[ \t]*$/ { r = 1 }
		{ p = 0 }
		END { exit !(e && r) }'
}

last_line() { # log file -> its first apt error (E:, else W:) or last line
	local l
	l=$(grep -m 1 '^E: ' "$1" 2>/dev/null) || l=$(grep -m 1 '^W: ' "$1" 2>/dev/null) ||
		l=$(sed -e '/^[[:space:]]*$/d' "$1" 2>/dev/null | tail -n 1)
	printf '%s' "$l" | tr -d '\r' | cut -c 1-300
}

# Remove a tree below $DIR; unmount whatever a killed debootstrap left
# mounted in it first (proc, sys, bind mounts), and never cross devices.
safe_rm() { # path
	local p=$1 rp m
	[ -e "$p" ] || [ -L "$p" ] || return 0
	case $p in "$DIR"/?*) ;; *) die "internal" "refusing to remove '$p'" ;; esac
	rp=$(readlink -f "$p")
	mounts_below() {
		awk -v p="$rp/" '{ m = $5; gsub(/\\040/, " ", m); if (index(m "/", p) == 1) print m }' \
			/proc/self/mountinfo | sort -r
	}
	mounts_below | while IFS= read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || :; done
	[ -z "$(mounts_below)" ] || die "cleanup" "cannot unmount filesystems below '$p'"
	rm -rf --one-file-system "$p" 2>/dev/null || die "cleanup" "cannot remove '$p'"
}

# shellcheck disable=SC2317  # trap handlers
on_exit() {
	local rc=$?
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "$rc" = 0 ]; then safe_rm "$WORK"; else
			# keep the logs of a failure until the next run
			[ -z "$(ls "$WORK"/*.log 2>/dev/null)" ] && safe_rm "$WORK"
		fi
	fi
}
# shellcheck disable=SC2317
on_signal() { trap - EXIT; [ -z "$WORK" ] || safe_rm "$WORK" 2>/dev/null || :; exit 130; }

new_work() { # name
	WORK=$(mktemp -d "$DIR/.tmp-$1.XXXXXX") || die "$DIR" "cannot create a work directory"
}

# The Debian main archive URI, from the system's apt sources: a "deb" entry
# whose suites include a plain codename (no "-updates"/"-security") and which
# is signed by the Debian archive keyring or whose path ends in /debian.
find_mirror() {
	local f out=""
	if [ -n "${PYBPF_DEBIAN_MIRROR:-}" ]; then printf '%s\n' "${PYBPF_DEBIAN_MIRROR%/}"; return; fi
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		out=$(awk '
			function flush(  n, i, s, u) {
				if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^[ \t]*[Nn]o/ && uris != "" &&
				    (signed ~ /debian-archive-keyring/ || uris ~ /\/debian\/?([ \t]|$)/)) {
					n = split(suites, s, /[ \t]+/)
					for (i = 1; i <= n; i++) if (s[i] != "" && s[i] !~ /[-\/]/) {
						sub(/^[ \t]+/, "", uris); split(uris, u, /[ \t]+/); print u[1]; found = 1; exit
					}
				}
				types = suites = uris = enabled = signed = key = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { if (key == "uris") uris = uris " " $0; else if (key == "suites") suites = suites " " $0
			           else if (key == "types") types = types " " $0; next }
			{ key = tolower($0); sub(/:.*/, "", key); v = $0; sub(/^[^:]*:[ \t]*/, "", v)
			  if (key == "types") types = v; else if (key == "uris") { uris = v; sub(/^[ \t]+/, "", uris) }
			  else if (key == "suites") suites = v; else if (key == "enabled") enabled = v
			  else if (key == "signed-by") signed = v }
			END { if (!found) flush() }' "$f")
		[ -z "$out" ] || break
	done
	if [ -z "$out" ]; then
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			out=$(awk '
				/^[ \t]*deb[ \t]/ {
					sub(/^[ \t]*deb[ \t]+/, ""); opts = ""
					if ($0 ~ /^\[/) { opts = $0; sub(/\].*/, "", opts); sub(/^[^]]*\][ \t]*/, "") }
					if ($2 != "" && $2 !~ /[-\/]/ && (opts ~ /debian-archive-keyring/ || $1 ~ /\/debian\/?$/)) { print $1; exit }
				}' "$f")
			[ -z "$out" ] || break
		done
	fi
	[ -n "$out" ] || die "mirror" "no Debian main archive URI in /etc/apt/sources.list{,.d} (set PYBPF_DEBIAN_MIRROR)"
	printf '%s\n' "${out%/}"
}

need() { # command [hint]
	command -v "$1" >/dev/null 2>&1 || die "$1" "not installed${2:+ ($2)}"
}

# ---------------------------------------------------------------- bullseye

provision_bullseye() {
	local mirror arch apt w py p
	bullseye_ok && return 0
	mirror=$(find_mirror)
	arch=$(dpkg --print-architecture)
	new_work bullseye
	w=$WORK
	say "bullseye: downloading $BULLSEYE_PKGS from $mirror"
	mkdir -p "$w/apt/lists/partial" "$w/apt/cache/archives/partial" "$w/apt/state" "$w/debs" "$w/root"
	: >"$w/apt/status"
	printf 'deb [signed-by=%s] %s bullseye main\n' "$KEYRING" "$mirror" >"$w/apt/sources.list"
	# A private apt: own sources, lists, cache and (empty) dpkg status.
	apt=(apt-get -q -o "Dir::Etc::SourceList=$w/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
		-o "Dir::State=$w/apt/state" -o "Dir::State::Lists=$w/apt/lists"
		-o "Dir::State::Status=$w/apt/status" -o "Dir::Cache=$w/apt/cache"
		-o "APT::Architecture=$arch" -o "APT::Architectures=$arch" -o APT::Sandbox::User=root
		-o Acquire::Languages=none -o Acquire::Check-Valid-Until=false -o APT::Update::Error-Mode=any)
	# apt-get update can exit 0 having fetched nothing: look for the index too
	{ "${apt[@]}" update >"$w/apt-update.log" 2>&1 &&
		! grep -q '^[WE]: ' "$w/apt-update.log" &&
		[ -n "$(find "$w/apt/lists" -maxdepth 1 -name '*_bullseye_main_binary-*_Packages*' -print -quit)" ]; } ||
		die "apt-get update (bullseye)" "$(last_line "$w/apt-update.log") (log: $w/apt-update.log)"
	# shellcheck disable=SC2086
	(cd "$w/debs" && "${apt[@]}" download $BULLSEYE_PKGS) >"$w/apt-download.log" 2>&1 ||
		die "apt-get download (bullseye)" "$(last_line "$w/apt-download.log") (log: $w/apt-download.log)"
	for p in "$w"/debs/*.deb; do
		dpkg -x "$p" "$w/root" 2>"$w/dpkg.log" || die "dpkg -x $(basename "$p")" "$(last_line "$w/dpkg.log")"
	done
	py=$w/root/usr/bin/python3.9
	[ -x "$py" ] || die "bullseye" "no usr/bin/python3.9 in the unpacked packages"
	has_usdt "$py" || die "bullseye python3.9" "no python:function__entry/function__return stapsdt notes (readelf -n)"
	env -i "$py" -c "import $IMPORTS" >"$w/verify.log" 2>&1 ||
		die "bullseye python3.9" "import $IMPORTS failed: $(last_line "$w/verify.log")"
	rm -f "$w/verify.log" "$w/dpkg.log"
	{
		printf '%s\n' "$BULLSEYE_KEY"
		for p in "$w"/debs/*.deb; do printf '%s=%s\n' "$(dpkg-deb -f "$p" Package)" "$(dpkg-deb -f "$p" Version)"; done
	} >"$w/root/.pybpf-stamp.new"
	safe_rm "$DIR/bullseye"
	mv "$w/root" "$DIR/bullseye"
	# the stamp goes last: a tree without it is rebuilt by the next run
	mv "$DIR/bullseye/.pybpf-stamp.new" "$DIR/bullseye/.pybpf-stamp"
	safe_rm "$w"; WORK=""
	say "bullseye: ready"
}

# ---------------------------------------------------------------- sid

# CPython 3.12-3.14 have no function__entry/return probes (they broke in
# 3.11 and were dropped with PEP 669; upstream gh-98894, restored for 3.15 by
# python/cpython#142397): such a version is installed for comparison and its
# stamp says usdt=no.  Any other version must have the probes.
usdt_optional() { case $1 in 3.12|3.13|3.14) return 0 ;; *) return 1 ;; esac; }

sid_verify() { # root 3.X; sets SID_USDT=yes|no
	local root=$1 v=$2 log
	log=$(mktemp "$DIR/.tmp-verify.XXXXXX")
	[ -x "$root/usr/bin/python$v" ] || { rm -f "$log"; die "sid python$v" "no /usr/bin/python$v in the chroot"; }
	SID_USDT=yes
	has_usdt "$root/usr/bin/python$v" || SID_USDT=no
	[ "$SID_USDT" = yes ] || usdt_optional "$v" ||
		{ rm -f "$log"; die "sid python$v" "no python:function__entry/function__return stapsdt notes (readelf -n)"; }
	env -i PATH=$CLEAN_PATH chroot "$root" "/usr/bin/python$v" -c "import $IMPORTS" >"$log" 2>&1 ||
		{ local l; l=$(last_line "$log"); rm -f "$log"; die "sid python$v" "import $IMPORTS failed: $l"; }
	rm -f "$log"
}

# apt-get inside the chroot (its own sources.list, written by debootstrap).
sid_apt() { # root log args...
	local root=$1 log=$2; shift 2
	env -i PATH=$CLEAN_PATH HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		${http_proxy:+"http_proxy=$http_proxy"} \
		chroot "$root" apt-get -q -y -o APT::Sandbox::User=root "$@" >>"$log" 2>&1
}

# The package lists (~60 MB) are only needed to install: apt-get update
# fetches them again when a version is added.
sid_drop_lists() { # root
	find "$1/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete 2>/dev/null || :
}

sid_policy_hint() { # root -> which python3.X sid has
	printf 'sid has:'
	env -i PATH=$CLEAN_PATH chroot "$1" apt-cache pkgnames python3. 2>/dev/null |
		grep -E '^python3\.[0-9]+$' | sort -V | sed 's/^/ /' | tr -d '\n'
}

provision_sid() {
	local mirror w v incl="" missing=""
	if ! sid_ok; then
		need debootstrap "run scripts/install-deps.sh"
		mirror=$(find_mirror)
		for v in $SID_PYTHONS; do incl="${incl:+$incl,}python$v"; done
		new_work sid
		w=$WORK
		say "sid: debootstrap --variant=minbase${incl:+ --include=$incl} sid from $mirror (a few minutes)"
		# debootstrap checks the Release signature with the keyring, not its
		# Valid-Until; apt in the chroot is told the same below.
		env -i PATH=$CLEAN_PATH HOME=/root LC_ALL=C.UTF-8 ${http_proxy:+"http_proxy=$http_proxy"} \
			debootstrap --variant=minbase --merged-usr --components=main --keyring="$KEYRING" \
			${incl:+"--include=$incl"} sid "$w/root" "$mirror" >"$w/debootstrap.log" 2>&1 || {
			if grep -q 'Couldn.t find these debs' "$w/debootstrap.log"; then
				die "debootstrap sid" "$(last_line "$w/debootstrap.log") (is PYBPF_SID_PYTHONS='$SID_PYTHONS' in sid? log: $w/debootstrap.log)"
			fi
			die "debootstrap sid" "$(last_line "$w/debootstrap.log") (log: $w/debootstrap.log)"
		}
		# The mirror may serve a frozen snapshot whose Release is past its
		# Valid-Until; this is a throwaway test chroot.
		cat >"$w/root/etc/apt/apt.conf.d/99pybpf-prof" <<-'EOF'
			// written by pybpf-prof tests/provision.sh
			Acquire::Check-Valid-Until "false";
			Acquire::Languages "none";
			APT::Install-Recommends "false";
		EOF
		for v in $SID_PYTHONS; do
			sid_verify "$w/root" "$v"
			printf '%s\nusdt=%s\n' "pybpf-prof sid python$v v2" "$SID_USDT" >"$w/root/.pybpf-stamp-python$v"
		done
		env -i PATH=$CLEAN_PATH chroot "$w/root" apt-get clean >/dev/null 2>&1 || :
		sid_drop_lists "$w/root"
		printf '%s\n' "$SID_KEY" >"$w/root/.pybpf-stamp.new"
		safe_rm "$DIR/sid"
		mv "$w/root" "$DIR/sid"
		mv "$DIR/sid/.pybpf-stamp.new" "$DIR/sid/.pybpf-stamp"
		safe_rm "$w"; WORK=""
		say "sid: ready"
	fi
	# Versions asked for after the chroot was made: install them with apt.
	for v in $SID_PYTHONS; do sid_python_ok "$v" || missing="$missing $v"; done
	[ -n "$missing" ] || return 0
	new_work sid-apt
	w=$WORK
	# shellcheck disable=SC2086
	say "sid: apt-get install$(printf ' python%s' $missing)"
	sid_apt "$DIR/sid" "$w/apt.log" update ||
		die "apt-get update (sid chroot)" "$(last_line "$w/apt.log") (log: $w/apt.log)"
	for v in $missing; do
		sid_apt "$DIR/sid" "$w/apt.log" install --no-install-recommends "python$v" ||
			die "apt-get install python$v (sid chroot)" "$(last_line "$w/apt.log"); $(sid_policy_hint "$DIR/sid") (log: $w/apt.log)"
		sid_verify "$DIR/sid" "$v"
		printf '%s\nusdt=%s\n' "pybpf-prof sid python$v v2" "$SID_USDT" >"$DIR/sid/.pybpf-stamp-python$v"
	done
	sid_apt "$DIR/sid" "$w/apt.log" clean || :
	sid_drop_lists "$DIR/sid"
	safe_rm "$w"; WORK=""
	say "sid: ready"
}

# Austin, a peer sampling profiler, for tests/bench_sample.py (optional).
# sid's package depends on python3 (<< 3.14), which sid no longer has, so it
# cannot be installed; its austin binary needs only libc: take that from the
# .deb (apt-get download, dpkg-deb -x) and leave the chroot's dpkg alone.
SID_AUSTIN=/usr/local/bin/austin
sid_austin_ok() {
	sid_ok && [ -x "$DIR/sid$SID_AUSTIN" ]
}

provision_austin() {
	local w deb
	! sid_austin_ok || return 0
	new_work sid-austin
	w=$WORK
	say "sid: austin from sid's austin package"
	sid_apt "$DIR/sid" "$w/apt.log" update ||
		die "apt-get update (sid chroot)" "$(last_line "$w/apt.log") (log: $w/apt.log)"
	deb=$(mktemp -d "$DIR/sid/tmp/pybpf-austin.XXXXXX")
	# apt-get download fetches the .deb alone, without resolving its dependencies
	env -i PATH=$CLEAN_PATH HOME=/root LC_ALL=C.UTF-8 ${http_proxy:+"http_proxy=$http_proxy"} \
		chroot "$DIR/sid" sh -c 'cd "$1" && apt-get -q -o APT::Sandbox::User=root download austin' \
		sh "${deb#"$DIR/sid"}" >>"$w/apt.log" 2>&1 ||
		{ rm -rf "$deb"; die "apt-get download austin (sid chroot)" "$(last_line "$w/apt.log") (log: $w/apt.log)"; }
	sid_drop_lists "$DIR/sid"
	set -- "$deb"/austin_*.deb
	[ -f "$1" ] || { rm -rf "$deb"; die "austin (sid chroot)" "no austin .deb downloaded (log: $w/apt.log)"; }
	dpkg-deb -x "$1" "$w/deb" || { rm -rf "$deb"; die "dpkg-deb -x" "cannot unpack $1"; }
	rm -rf "$deb"
	install -D -m 0755 "$w/deb/usr/bin/austin" "$DIR/sid$SID_AUSTIN.new" &&
		mv "$DIR/sid$SID_AUSTIN.new" "$DIR/sid$SID_AUSTIN" || die "austin (sid chroot)" "cannot install $SID_AUSTIN"
	env -i PATH=$CLEAN_PATH chroot "$DIR/sid" "$SID_AUSTIN" --version >"$w/version.log" 2>&1 ||
		{ rm -f "$DIR/sid$SID_AUSTIN"; die "austin (sid chroot)" "does not run: $(last_line "$w/version.log")"; }
	safe_rm "$w"; WORK=""
	say "sid: austin ready"
}

# ---------------------------------------------------------------- output

shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

print_env() {
	local v py39="" sid="" list="" ulist=""
	bullseye_ok && py39=$DIR/bullseye/usr/bin/python3.9
	if sid_ok; then
		sid=$DIR/sid
		for v in $SID_PYTHONS; do
			sid_python_ok "$v" || continue
			list="${list:+$list }$v"
			sid_python_usdt "$v" && ulist="${ulist:+$ulist }$v"
		done
	fi
	printf 'PYBPF_INTERP_DIR=%s\n' "$(shq "$DIR")"
	printf 'PYBPF_PY39=%s\n' "$(shq "$py39")"
	printf 'PYBPF_SID_ROOT=%s\n' "$(shq "$sid")"
	printf 'PYBPF_SID_PYTHONS=%s\n' "$(shq "$list")"
	printf 'PYBPF_SID_USDT_PYTHONS=%s\n' "$(shq "$ulist")"
	if sid_austin_ok; then
		printf 'PYBPF_SID_AUSTIN=%s\n' "$(shq "$SID_AUSTIN")"
	else
		printf 'PYBPF_SID_AUSTIN=%s\n' "''"
	fi
	for v in $SID_PYTHONS; do
		if [ -n "$sid" ] && sid_python_ok "$v"; then
			printf 'PYBPF_SID_PY%s=%s\n' "${v//./}" "$(shq "$sid/usr/bin/python$v")"
		else
			printf 'PYBPF_SID_PY%s=%s\n' "${v//./}" "''"
		fi
	done
}

summary() {
	local v ver
	if bullseye_ok; then
		ver=$(sed -n 's/^python3.9-minimal=//p' "$DIR/bullseye/.pybpf-stamp")
		echo "bullseye python3.9 ${ver:-?}: $DIR/bullseye/usr/bin/python3.9"
	else
		echo "bullseye python3.9: not provisioned"
	fi
	if sid_ok; then
		for v in $SID_PYTHONS; do
			if sid_python_ok "$v"; then
				# shellcheck disable=SC2016
				ver=$(env -i PATH=$CLEAN_PATH chroot "$DIR/sid" dpkg-query -W -f='${Version}' "python$v-minimal" 2>/dev/null || :)
				if sid_python_usdt "$v"; then
					echo "sid python$v ${ver:-?}: chroot $DIR/sid /usr/bin/python$v (probes: $DIR/sid/usr/bin/python$v)"
				else
					echo "sid python$v ${ver:-?}: chroot $DIR/sid /usr/bin/python$v (no function__entry/return probes in this CPython)"
				fi
			else
				echo "sid python$v: not provisioned"
			fi
		done
		if sid_austin_ok; then
			# shellcheck disable=SC2016
			ver=$(env -i PATH=$CLEAN_PATH chroot "$DIR/sid" "$SID_AUSTIN" --version 2>/dev/null | head -n 1 || :)
			echo "sid austin (${ver:-?}): chroot $DIR/sid $SID_AUSTIN"
		else
			echo "sid austin: not provisioned (optional: tests/provision.sh austin)"
		fi
	else
		echo "sid chroot: not provisioned"
	fi
}

# ---------------------------------------------------------------- main

if [ "$PROVISION" = 1 ]; then
	[ "$(id -u)" = 0 ] || die "provision" "needs root (for dpkg -x ownership, debootstrap and chroot)"
	need apt-get; need dpkg-deb; need readelf "run scripts/install-deps.sh"; need flock; need chroot
	mkdir -p "$DIR" || die "$DIR" "cannot create"
	exec 9>>"$DIR/.lock" || die "$DIR/.lock" "cannot open"
	flock -w 3600 9 || die "$DIR/.lock" "another provision run holds the lock"
	trap on_exit EXIT
	trap on_signal INT TERM HUP
	# leftovers of an interrupted or failed run (we hold the lock)
	for stale in "$DIR"/.tmp-*; do [ ! -e "$stale" ] || safe_rm "$stale"; done
	[ "$DO_BULLSEYE" = 0 ] || provision_bullseye
	[ "$DO_SID" = 0 ] || provision_sid
	[ "$DO_AUSTIN" = 0 ] || provision_austin
fi

if [ "$PRINT_ENV" = 1 ]; then
	print_env
	[ "$VERBOSE" = 0 ] || summary >&2
elif [ "$VERBOSE" = 1 ]; then
	summary
fi
exit 0
