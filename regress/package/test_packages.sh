#!/usr/bin/env bash
# The package test (root): build the Debian packages (make deb), install
# them, run three Debian clusters 15/pgha1, 15/pgha2, 15/pgha3 as one pg_ha
# cluster with a Consul agent (each made by pg_createcluster, then set up by
# pg_ha_ctl init --debian as postgres: the first bootstraps the cluster,
# the others clone it), fail over once (kill -9 of the leader's
# postmaster, then the old leader rejoins), switch over once with
# pg_ha_ctl, then drop the clusters and purge the packages, checking that
# nothing of them is left.  docs/deployment.md ("Install from the
# packages") shows the same commands.
#
# Installing the packages replaces the pg_ha.so, SQL files and pg_ha_ctl of
# a `make install`, and purging removes them: the script puts back the
# files it found there, but other test runs must not use them meanwhile, so
# run it under their lock:
#
#   flock /tmp/pg_ha-cpu.lock regress/package/test_packages.sh
#
# Environment:
#   PG_HA_PKG_PORT     first port of the clusters (5501; they take 3 ports)
#   PG_HA_CONSUL       the consul binary (tools/consul/usr/bin/consul, as
#                      scripts/setup.sh installs it)
#   PG_HA_PKG_TIMEOUT  deadline of each wait, in seconds (90)
#   PG_HA_PKG_NO_BUILD 1: install the packages of build/deb/ as they are
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
deb_dir="$top/build/deb"
consul_bin=${PG_HA_CONSUL:-$top/tools/consul/usr/bin/consul}
port0=${PG_HA_PKG_PORT:-5501}
timeout=${PG_HA_PKG_TIMEOUT:-90}
pg_version=15
clusters=(pgha1 pgha2 pgha3)
ha_cluster=pkgtest
packages=(postgresql-15-pg-ha pg-ha-ctl)
ctl=/usr/bin/pg_ha_ctl

started_at=$(date +%s)
msg() { echo "package test [$(($(date +%s) - started_at)) s]: $*"; }
failure=""
fail() {
	failure=$*
	echo "package test: FAILED: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || fail "run as root: it installs packages and creates clusters"
[ -x "$consul_bin" ] || fail "no consul binary at $consul_bin (run scripts/setup.sh or set PG_HA_CONSUL)"
for c in "${clusters[@]}"; do
	if [ -e "/etc/postgresql/$pg_version/$c" ] || [ -e "/var/lib/postgresql/$pg_version/$c" ]; then
		fail "cluster $pg_version/$c exists already; this test creates and drops it: drop it first (pg_dropcluster --stop $pg_version $c)"
	fi
done
for p in "${packages[@]}"; do
	if dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.[^n]'; then
		fail "package $p is installed already; this test installs and purges it: remove it first"
	fi
done

port_busy() { [ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]; }
for i in 0 1 2; do
	port_busy $((port0 + i)) && fail "port $((port0 + i)) is in use; choose others with PG_HA_PKG_PORT"
done
picked=" "
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		case "$picked" in *" $p "*) continue ;; esac
		port_busy "$p" || break
	done
	picked="$picked$p "
	echo "$p"
}

work=$(mktemp -d /tmp/pg_ha-pkgtest.XXXXXX)
chown postgres:postgres "$work"
as_pg() { runuser -u postgres -- "$@"; }
leader_key() { curl -sf "$consul_url/v1/kv/service/$ha_cluster/leader?raw" 2>/dev/null || true; }

# ----- what the test leaves behind is what it found

consul_pid=""
created=()
installed=0
torn_down=0

# every file and link of the packages (not directories), without the "."
package_paths() {
	local d
	for d in "$deb_dir"/postgresql-15-pg-ha_*.deb "$deb_dir"/pg-ha-ctl_*.deb; do
		dpkg-deb --fsys-tarfile "$d" | tar -tvf - | awk '$1 !~ /^d/ {print $6}' | sed 's|^\.||'
	done
}

# the helpers that the HA workers start for our data directories:
# pg_ha_ctl rejoin (restarts its server) and release (removes pg_ha.session
# from the data directory once its server has stopped)
helpers_of() { pgrep -f "pg_ha_ctl .*/var/lib/postgresql/$pg_version/$1( |\$)" || true; }

# Stop a cluster, let its helpers finish (15 s at most, then they are
# killed), then drop it: pg_dropcluster --stop alone races the release
# helper's removal of pg_ha.session and then fails, leaving the cluster.
drop_cluster() {
	local c=$1 pid
	pg_ctlcluster "$pg_version" "$c" stop 2>/dev/null || true
	for _ in $(seq 1 75); do
		[ -z "$(helpers_of "$c")" ] && break
		sleep 0.2
	done
	for pid in $(helpers_of "$c"); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	pg_dropcluster --stop "$pg_version" "$c" || echo "package test: could not drop $pg_version/$c" >&2
	# pg_dropcluster keeps the files it does not know: ours in conf.d
	rm -f "/etc/postgresql/$pg_version/$c/conf.d/99-pg_ha.conf"
	rmdir "/etc/postgresql/$pg_version/$c/conf.d" "/etc/postgresql/$pg_version/$c" 2>/dev/null || true
}

teardown() {
	local c leader=""
	[ -n "${consul_url:-}" ] && leader=$(leader_key)
	# the replicas first, the leader last: no failover on the way
	for c in "${created[@]}"; do
		[ "$c" = "$leader" ] || drop_cluster "$c"
	done
	for c in "${created[@]}"; do
		[ "$c" = "$leader" ] && drop_cluster "$c"
	done
	created=()
	if [ -n "$consul_pid" ]; then
		kill -TERM "$consul_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$consul_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$consul_pid" 2>/dev/null || true
		wait "$consul_pid" 2>/dev/null || true
		consul_pid=""
	fi
	if [ "$installed" -eq 1 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${packages[@]}"
		installed=0
	fi
}

restore_backup() {
	if [ -s "$work/backup.list" ]; then
		cp -a "$work/backup/." /
		msg "put back the $(wc -l <"$work/backup.list") files of the earlier make install that the packages replaced"
		: >"$work/backup.list"
	fi
}

on_exit() {
	local status=$?
	if [ "$status" -ne 0 ]; then
		echo "=== package test: state at the failure"
		pg_lsclusters || true
		if [ -x "$ctl" ] && [ -n "${consul_url:-}" ]; then
			as_pg "$ctl" list "$ha_cluster" --consul-url "$consul_url" || true
		fi
		for c in "${clusters[@]}"; do
			f="/var/log/postgresql/postgresql-$pg_version-$c.log"
			[ -f "$f" ] && { echo "=== tail of $f"; tail -n 40 "$f"; }
		done
		[ -f "$work/consul.log" ] && { echo "=== tail of $work/consul.log"; tail -n 20 "$work/consul.log"; }
	fi
	if [ "$torn_down" -eq 0 ]; then
		teardown || true
	fi
	restore_backup || true
	rm -rf "$work"
	# last, for a log that keeps only its end
	[ -z "$failure" ] || echo "package test: FAILED: $failure" >&2
	exit "$status"
}
trap on_exit EXIT

wait_until() {
	local limit=$1 what=$2
	shift 2
	local deadline=$((SECONDS + limit))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "$what: not after $limit s"
		sleep 0.2
	done
}

# ----- build and install

if [ "${PG_HA_PKG_NO_BUILD:-0}" != 1 ]; then
	msg "make deb"
	make -s -C "$top" deb
fi
ls "$deb_dir"/postgresql-15-pg-ha_*.deb "$deb_dir"/pg-ha-ctl_*.deb >/dev/null ||
	fail "no packages in $deb_dir"

# the files of an earlier `make install` that the packages replace
mkdir -p "$work/backup"
: >"$work/backup.list"
while read -r p; do
	if { [ -e "$p" ] || [ -L "$p" ]; } && ! dpkg -S "$p" >/dev/null 2>&1; then
		(cd / && cp -a --parents "${p#/}" "$work/backup")
		echo "$p" >>"$work/backup.list"
	fi
done < <(package_paths)

msg "apt-get install ./postgresql-15-pg-ha_*.deb ./pg-ha-ctl_*.deb"
installed=1
(cd "$deb_dir" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	./postgresql-15-pg-ha_*_*.deb ./pg-ha-ctl_*_*.deb)
for p in "${packages[@]}"; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" | grep -q '^ii' || fail "package $p is not installed"
done
"$ctl" version

# ----- Consul: a dev agent on loopback, as the TAP tests start it

consul_port=$(free_port)
consul_url="http://127.0.0.1:$consul_port"
mkdir -p "$work/consul-data"
chown postgres:postgres "$work/consul-data"
cat >"$work/consul.json" <<EOF
{
  "node_name": "pg-ha-pkgtest",
  "datacenter": "dc1",
  "data_dir": "$work/consul-data",
  "bind_addr": "127.0.0.1",
  "client_addr": "127.0.0.1",
  "advertise_addr": "127.0.0.1",
  "disable_update_check": true,
  "disable_host_node_id": true,
  "leave_on_terminate": false,
  "log_level": "info",
  "performance": { "raft_multiplier": 1 },
  "ports": { "http": $consul_port, "server": $(free_port), "serf_lan": $(free_port),
             "https": -1, "dns": -1, "grpc": -1, "serf_wan": -1 }
}
EOF
msg "consul agent -dev on $consul_url"
HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres --init-groups \
	"$consul_bin" agent -dev -config-file="$work/consul.json" >"$work/consul.log" 2>&1 </dev/null &
consul_pid=$!
consul_ready() {
	kill -0 "$consul_pid" 2>/dev/null || fail "consul exited, see its log above"
	local leader
	leader=$(curl -sf "$consul_url/v1/status/leader" 2>/dev/null) || return 1
	[ -n "$leader" ] && [ "$leader" != '""' ] || return 1
	# sessions need the agent's node in the catalog, a moment after the
	# leader; this one expires by itself
	curl -sf -X PUT -d '{"TTL": "10s"}' "$consul_url/v1/session/create" 2>/dev/null | grep -q '"ID"'
}
wait_until 30 "Consul ready" consul_ready

# ----- the clusters

# init of the first node adds a random password of the replication role
passfile="$work/pgpass"

port_of() { # cluster name -> port
	local i
	for i in 0 1 2; do
		[ "${clusters[$i]}" = "$1" ] && echo $((port0 + i))
	done
}

# pg_ha_ctl init --debian of one cluster, as its owner: pg_ha's settings
# in its conf.d, a bootstrap or a clone of the leader, pg_ctlcluster start
init_debian() {
	local c=$1 port=$2
	as_pg "$ctl" init --debian "$pg_version/$c" --cluster="$ha_cluster" --node-name="$c" \
		--consul-url="$consul_url" --connect-address="127.0.0.1:$port" \
		--api-listen="127.0.0.1:$(free_port)" --passfile="$passfile"
}

sql() { # port, statement: the value, or nothing and a failure
	as_pg psql -X -At -q -v ON_ERROR_STOP=1 -p "$1" -d postgres -c "$2" 2>/dev/null
}
is_leader() { [ "$(leader_key)" = "$1" ] && [ "$(sql "$(port_of "$1")" 'SELECT pg_is_in_recovery()')" = f ]; }
is_streaming() {
	[ "$(sql "$(port_of "$1")" 'SELECT pg_is_in_recovery()')" = t ] &&
		[ "$(sql "$(port_of "$1")" 'SELECT status FROM pg_stat_wal_receiver')" = streaming ]
}
lsclusters_status() { pg_lsclusters -h | awk -v c="$1" -v v="$pg_version" '$1 == v && $2 == c {print $4}'; }

# one leader, the two others streaming from it, as pg_lsclusters shows them
healthy() {
	local leader=$1 c
	is_leader "$leader" || return 1
	[ "$(lsclusters_status "$leader")" = online ] || return 1
	[ "$(sql "$(port_of "$leader")" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 2 ] || return 1
	for c in "${clusters[@]}"; do
		[ "$c" = "$leader" ] && continue
		is_streaming "$c" || return 1
		[ "$(lsclusters_status "$c")" = online,recovery ] || return 1
	done
}

# a row written on the leader reaches both replicas
has_row() { [ "$(sql "$(port_of "$1")" "SELECT count(*) FROM pkgtest WHERE tag = '$2'")" = 1 ]; }
replicates() {
	local leader=$1 tag=$2 c
	sql "$(port_of "$leader")" "INSERT INTO pkgtest(tag) VALUES ('$tag')" >/dev/null ||
		fail "could not write on the leader $leader"
	for c in "${clusters[@]}"; do
		[ "$c" = "$leader" ] && continue
		wait_until "$timeout" "row '$tag' on $c" has_row "$c" "$tag"
	done
}

show() {
	pg_lsclusters
	as_pg "$ctl" list "$ha_cluster" --consul-url "$consul_url"
}

first=${clusters[0]}
msg "pg_createcluster $pg_version $first -p $port0, pg_ha_ctl init --debian $pg_version/$first (bootstrap)"
pg_createcluster "$pg_version" "$first" -p "$port0"
created+=("$first")
init_debian "$first" "$port0"
[ "$(lsclusters_status "$first")" = online ] || fail "pg_lsclusters does not show $first online after init"
is_leader "$first" || fail "$first does not lead cluster $ha_cluster after init"
# the extension for the views, and the table of the checks below
as_pg psql -X -q -v ON_ERROR_STOP=1 -p "$port0" -d postgres <<'SQL'
CREATE EXTENSION pg_ha;
CREATE TABLE pkgtest (tag text);
SQL

for i in 1 2; do
	c=${clusters[$i]}
	port=$((port0 + i))
	msg "pg_createcluster $pg_version $c -p $port, pg_ha_ctl init --debian $pg_version/$c (clone of $first)"
	pg_createcluster "$pg_version" "$c" -p "$port"
	created+=("$c")
	init_debian "$c" "$port"
	[ "$(lsclusters_status "$c")" = online,recovery ] ||
		fail "pg_lsclusters does not show $c online,recovery after init"
done

wait_until "$timeout" "$first leads, ${clusters[1]} and ${clusters[2]} stream from it" healthy "$first"
replicates "$first" created
show
[ "$(sql "$port0" "SELECT count(*) FROM pg_ha_status WHERE state IN ('running', 'streaming')")" = 3 ] ||
	fail "pg_ha_status does not show three running members"

# ----- failover: the leader's postmaster killed

leader=$first
pid=$(head -n 1 "/var/lib/postgresql/$pg_version/$leader/postmaster.pid")
msg "kill -9 $pid, the postmaster of the leader $leader"
t0=$(date +%s.%N)
kill -KILL "$pid"
new_leader() {
	local k
	k=$(leader_key)
	[ -n "$k" ] && [ "$k" != "$leader" ] && is_leader "$k"
}
wait_until "$timeout" "a replica takes over from $leader" new_leader
t1=$(date +%s.%N)
new=$(leader_key)
msg "$new took over $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s after the kill"
sql "$(port_of "$new")" "INSERT INTO pkgtest(tag) VALUES ('after failover')" >/dev/null ||
	fail "the new leader $new takes no writes"

# the old leader comes back: fenced as a primary, its HA worker demotes it
# (pg_ha_ctl rejoin: stop, pg_rewind, start as a standby of the new leader)
# the postmaster itself too: until it is reaped, its PID in the socket's
# lock file looks alive, and a start fails ("lock file ... already exists")
server_gone() {
	! pgrep -f "^postgres: $pg_version/$leader: " >/dev/null && ! kill -0 "$pid" 2>/dev/null
}
wait_until "$timeout" "the processes of the killed $leader end, its postmaster reaped" server_gone
[ "$(lsclusters_status "$leader")" = down ] || fail "pg_lsclusters does not show $leader down"
msg "pg_ctlcluster $pg_version $leader start: it rejoins as a replica of $new"
# pg_ctlcluster may see the server stop under it: the HA worker stops it
# at once to rewind it, then starts it again with pg_ctl (a systemd unit
# would see its main process exit: pg_ha.restart_command, docs/deployment.md)
if ! pg_ctlcluster "$pg_version" "$leader" start; then
	msg "pg_ctlcluster start of $leader failed: the HA worker stopped it to rejoin, as pg_ha_ctl rejoin's lines above show"
fi
wait_until "$timeout" "$new leads, the two others stream from it" healthy "$new"
replicates "$new" "after rejoin"
show

# ----- switchover back to the first

msg "pg_ha_ctl switchover $ha_cluster --candidate $first"
as_pg "$ctl" switchover "$ha_cluster" --candidate "$first" --force --consul-url "$consul_url"
wait_until "$timeout" "$first leads, the two others stream from it" healthy "$first"
replicates "$first" "after switchover"
show

# ----- drop the clusters, purge the packages: nothing left

msg "pg_dropcluster --stop, apt-get purge"
paths=$(package_paths)
torn_down=1
teardown
for c in "${clusters[@]}"; do
	for f in "/etc/postgresql/$pg_version/$c" "/var/lib/postgresql/$pg_version/$c" \
		"/var/log/postgresql/postgresql-$pg_version-$c.log"; do
		[ ! -e "$f" ] || fail "$f is left after pg_dropcluster"
	done
	if pgrep -f "^postgres: $pg_version/$c: " >/dev/null; then
		fail "a server process of $pg_version/$c is left"
	fi
done
for p in "${packages[@]}"; do
	if dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.[^n]'; then
		fail "package $p is left after the purge: $(dpkg -l "$p" | tail -n 1)"
	fi
done
while read -r p; do
	if [ -e "$p" ] || [ -L "$p" ]; then
		fail "$p is left after the purge"
	fi
done <<<"$paths"
restore_backup
msg "passed in $(($(date +%s) - started_at)) s"
