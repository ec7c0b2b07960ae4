#!/usr/bin/env bash
# Install everything pg_ha needs to build, test and run its demo on Debian 12.
#
# Idempotent: a second run checks, finds nothing missing, and says so.
# Consul is not packaged for Debian 12; we take Debian 11's consul package
# from the same archive the system already uses, through a private apt
# configuration (the system's sources are never touched), and unpack its
# binary into tools/ (git-ignored).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tools="$top/tools"
consul_bin="$tools/consul/usr/bin/consul"

packages=(
	postgresql-15 postgresql-server-dev-15 postgresql-client-15
	libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev libpq-dev libyaml-dev
	libkrb5-dev haproxy libipc-run-perl libdbd-pg-perl build-essential pkg-config ca-certificates curl procps openssl
	iproute2 clang libclang-rt-14-dev
	patroni python3-consul gnuplot-nox
	# etcd v3, the second DCS (issue 17): the tests start their own members
	etcd-server etcd-client
	# make deb: Debian's packaging tools, pg_buildext, lintian
	dpkg-dev debhelper postgresql-server-dev-all lintian
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "setup: run as root or install sudo" >&2; exit 1; }
	sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

# etcd-server's postinst enables its service (sysvinit links and the
# systemd unit) and, on a host whose init system runs, starts a daemon on
# 127.0.0.1:2379 as user etcd (invoke-rc.d, or deb-systemd-invoke under
# systemd; a failed start through invoke-rc.d fails the install).  The
# tests and the demo start etcd members of their own, as the test user and
# on ports of their own: a package daemon would only hold 2379 and a data
# directory nobody uses.  Both starters ask policy-rc.d first (naming the
# service etcd and etcd.service), so for the time of the install one
# denies etcd's start, and the install succeeds without it; a policy
# already there, such as a container image's, is moved aside, still
# decides for the other packages, and is put back afterwards.  The
# service the postinst enabled is disabled below.
policy=/usr/sbin/policy-rc.d
policy_saved=$policy.pg_ha-saved
restore_policy() {
	"${sudo_cmd[@]}" rm -f "$policy"
	if [ -e "$policy_saved" ]; then
		"${sudo_cmd[@]}" mv "$policy_saved" "$policy"
	fi
}
deny_etcd_start() {
	# a run killed before its restore left ours in place: the saved one is
	# the system's
	if [ -e "$policy_saved" ]; then
		restore_policy
	fi
	if [ -e "$policy" ]; then
		"${sudo_cmd[@]}" mv "$policy" "$policy_saved"
	fi
	trap restore_policy EXIT
	printf '%s\n' '#!/bin/sh' \
		'# pg_ha scripts/setup.sh, for the time of one apt-get install only' \
		'case "$1" in etcd | etcd.service) exit 101 ;; esac' \
		"[ -x $policy_saved ] && exec $policy_saved \"\$@\"" \
		'exit 0' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
	"${sudo_cmd[@]}" chmod 755 "$policy"
}

did=0
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	"${sudo_cmd[@]}" apt-get update -q
	deny_etcd_start
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
	restore_policy
	trap - EXIT
	did=1
fi
# no etcd daemon of the package's at boot either (sysvinit links and the
# systemd unit alike: update-rc.d disables both)
if ls /etc/rc[2345].d/S*etcd >/dev/null 2>&1 ||
	[ -e /etc/systemd/system/multi-user.target.wants/etcd.service ]; then
	echo "setup: disabling the etcd service of the etcd-server package"
	"${sudo_cmd[@]}" update-rc.d etcd disable
	did=1
fi

# The Debian archive URI that the system's own sources use.
archive_uri() {
	local uri=""
	if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
		uri=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}' \
			/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	fi
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
			/etc/apt/sources.list | head -n1)
	fi
	[ -n "$uri" ] || { echo "setup: no Debian archive URI found in the apt sources" >&2; return 1; }
	echo "$uri"
}

if [ ! -x "$consul_bin" ]; then
	echo "setup: fetching consul from Debian 11 (bullseye) into $tools/consul"
	uri=$(archive_uri)
	apt_dir="$tools/apt-bullseye"
	rm -rf "$apt_dir"
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc/preferences.d"
	echo "deb [trusted=yes] $uri bullseye main" >"$apt_dir/etc/sources.list"
	: >"$apt_dir/status"
	apt_opts=(
		-o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
		-o "Dir::Etc::SourceParts=-"
		-o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
		-o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
		-o "Dir::State::Lists=$apt_dir/lists"
		-o "Dir::State::Status=$apt_dir/status"
		-o "Dir::Cache=$apt_dir/cache"
		-o "APT::Sandbox::User=root"
		-o "Acquire::Languages=none"
	)
	apt-get "${apt_opts[@]}" update -q
	(cd "$apt_dir" && apt-get "${apt_opts[@]}" download consul)
	deb=$(ls "$apt_dir"/consul_*.deb | sed -n 1p)
	rm -rf "$tools/consul"
	dpkg -x "$deb" "$tools/consul"
	rm -rf "$apt_dir"
	"$consul_bin" version | sed -n 1p
	did=1
fi

if [ "$did" -eq 0 ]; then
	echo "setup: nothing to do, every dependency is installed ($("$consul_bin" version | sed -n 1p))"
fi
