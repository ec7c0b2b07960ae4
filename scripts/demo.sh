#!/usr/bin/env bash
# The demo stand of the README: Consul, three pg_ha nodes (pg1, pg2, pg3)
# and HAProxy, all on loopback, then the cluster table.
#
#   ./scripts/demo.sh          install what is missing, build, start, show
#   ./scripts/demo.sh stop     stop everything and remove the demo's data
#
# Ports and place, overridable through the environment:
#   PG_HA_DEMO_DIR (/tmp/pg_ha-demo), PG_HA_DEMO_PG_PORTS (5432,5433,5434),
#   PG_HA_DEMO_API_PORTS (8008,8009,8010), PG_HA_DEMO_CONSUL_PORT (8500),
#   PG_HA_DEMO_CONSUL_SERVER_PORT (8300), PG_HA_DEMO_CONSUL_SERF_PORT (8301),
#   PG_HA_DEMO_PRIMARY_PORT (5000), PG_HA_DEMO_REPLICA_PORT (5001),
#   PG_HA_DEMO_STATS_PORT (7000)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${PG_HA_DEMO_DIR:-/tmp/pg_ha-demo}
IFS=, read -r -a pg_ports <<<"${PG_HA_DEMO_PG_PORTS:-5432,5433,5434}"
IFS=, read -r -a api_ports <<<"${PG_HA_DEMO_API_PORTS:-8008,8009,8010}"
consul_port=${PG_HA_DEMO_CONSUL_PORT:-8500}
consul_server_port=${PG_HA_DEMO_CONSUL_SERVER_PORT:-8300}
consul_serf_port=${PG_HA_DEMO_CONSUL_SERF_PORT:-8301}
primary_port=${PG_HA_DEMO_PRIMARY_PORT:-5000}
replica_port=${PG_HA_DEMO_REPLICA_PORT:-5001}
stats_port=${PG_HA_DEMO_STATS_PORT:-7000}
cluster=otus
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=/usr/lib/postgresql/15/bin
run_as=${PG_HA_DEMO_USER:-postgres}

as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$run_as" -- "$@"
	else
		"$@"
	fi
}

stop_all() {
	for n in pg1 pg2 pg3; do
		if [ -f "$dir/$n/postmaster.pid" ]; then
			as_user "$bindir/pg_ctl" -D "$dir/$n" -m immediate stop >/dev/null 2>&1 || true
		fi
	done
	for p in haproxy consul; do
		if [ -f "$dir/$p.pid" ]; then
			kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
		fi
	done
}

if [ "${1:-}" = "stop" ]; then
	stop_all
	rm -rf "$dir"
	echo "demo: stopped, $dir removed"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	"$top/scripts/setup.sh"
	make -s -C "$top" PG_CONFIG="$PG_CONFIG"
	make -s -C "$top" PG_CONFIG="$PG_CONFIG" install
	id "$run_as" >/dev/null 2>&1 || useradd --system --create-home "$run_as"
else
	sudo "$top/scripts/setup.sh"
	make -s -C "$top" PG_CONFIG="$PG_CONFIG"
	sudo make -s -C "$top" PG_CONFIG="$PG_CONFIG" install
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -d "$dir" ]; then
	echo "demo: $dir exists; stop the previous demo first: $0 stop" >&2
	exit 1
fi
for p in "${pg_ports[@]}" "${api_ports[@]}" "$consul_port" "$consul_server_port" \
	"$consul_serf_port" "$primary_port" \
	"$replica_port" "$stats_port"; do
	if port_busy "$p"; then
		echo "demo: port $p on 127.0.0.1 is in use; choose others (see the top of $0)" >&2
		exit 1
	fi
done

mkdir -p "$dir"
[ "$(id -u)" -ne 0 ] || chown "$run_as" "$dir"
trap 'echo "demo: failed; logs are in $dir" >&2' ERR

# Consul: one dev agent, in memory
consul_bin="$top/tools/consul/usr/bin/consul"
as_user bash -c "nohup '$consul_bin' agent -dev -bind 127.0.0.1 -client 127.0.0.1 \
	-http-port $consul_port -server-port $consul_server_port \
	-serf-lan-port $consul_serf_port -serf-wan-port -1 -dns-port -1 -grpc-port -1 \
	>'$dir/consul.log' 2>&1 & echo \$! >'$dir/consul.pid'"
consul_url="http://127.0.0.1:$consul_port"
for _ in $(seq 1 100); do
	leader=$(curl -sf "$consul_url/v1/status/leader" 2>/dev/null || true)
	[ -n "$leader" ] && [ "$leader" != '""' ] && break
	sleep 0.2
done
[ -n "${leader:-}" ] || { echo "demo: Consul did not start, see $dir/consul.log" >&2; exit 1; }

# the nodes: the first bootstraps, the others clone it
for i in 0 1 2; do
	n=pg$((i + 1))
	as_user "$bindir/pg_ha_ctl" init -D "$dir/$n" --cluster "$cluster" --node-name "$n" \
		--consul-url "$consul_url" --connect-address "127.0.0.1:${pg_ports[$i]}" \
		--api-listen "127.0.0.1:${api_ports[$i]}" --passfile "$dir/pgpass" \
		--log "$dir/$n.log" --set "unix_socket_directories=$dir" \
		--set pg_ha.ttl=10s --set pg_ha.loop_wait=1s --set pg_ha.retry_timeout=2s
	if [ "$i" -eq 0 ]; then
		# the demo trusts loopback, so that psql through HAProxy just works
		sed -i '1i host all all 127.0.0.1/32 trust' "$dir/pg1/pg_hba.conf"
		as_user "$bindir/pg_ctl" -D "$dir/pg1" reload >/dev/null
	fi
done

# HAProxy: the documented configuration with the demo's ports
sed -e "s/127.0.0.1:7000/127.0.0.1:$stats_port/" \
	-e "s/127.0.0.1:5000/127.0.0.1:$primary_port/" \
	-e "s/127.0.0.1:5001/127.0.0.1:$replica_port/" \
	-e "s/^\(\tserver pg1\) 127.0.0.1:5432 \(.*\) port 8008$/\1 127.0.0.1:${pg_ports[0]} \2 port ${api_ports[0]}/" \
	-e "s/^\(\tserver pg2\) 127.0.0.1:5433 \(.*\) port 8009$/\1 127.0.0.1:${pg_ports[1]} \2 port ${api_ports[1]}/" \
	-e "s/^\(\tserver pg3\) 127.0.0.1:5434 \(.*\) port 8010$/\1 127.0.0.1:${pg_ports[2]} \2 port ${api_ports[2]}/" \
	"$top/docs/haproxy.cfg" >"$dir/haproxy.cfg"
[ "$(id -u)" -ne 0 ] || chown "$run_as" "$dir/haproxy.cfg"
as_user haproxy -q -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid"

# healthy: one leader, two streaming replicas, HAProxy's primary port works
for _ in $(seq 1 150); do
	out=$(as_user "$bindir/pg_ha_ctl" list --cluster "$cluster" --consul-url "$consul_url" 2>/dev/null || true)
	leaders=$(grep -c '| Leader ' <<<"$out" || true)
	# streaming replicas have a timeline and a lag
	replicas=$(grep -cE '\| Replica +\| running +\| +[1-9][0-9]* \| +[0-9]+ \|' <<<"$out" || true)
	if [ "$leaders" = 1 ] && [ "$replicas" = 2 ] &&
		as_user "$bindir/psql" -h 127.0.0.1 -p "$primary_port" -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
		healthy=1
		break
	fi
	sleep 0.2
done
trap - ERR
echo
echo "$out"
echo
if [ -z "${healthy:-}" ]; then
	echo "demo: the cluster is up but not healthy yet; logs are in $dir" >&2
	exit 1
fi
cat <<MSG
pg_ha demo is running (data and logs in $dir):
  psql -h 127.0.0.1 -p $primary_port -U postgres    the leader, through HAProxy
  psql -h 127.0.0.1 -p $replica_port -U postgres    a replica, through HAProxy
  http://127.0.0.1:$stats_port/                        HAProxy's stats page
  $bindir/pg_ha_ctl list --cluster $cluster --consul-url $consul_url
Stop it and remove its data with: $0 stop
MSG
