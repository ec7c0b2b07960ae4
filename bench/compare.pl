#!/usr/bin/perl
# Copyright (c) pg_ha contributors
#
# bench/compare.pl: pg_ha against Patroni, side by side, in one run on one
# machine.  It measures, it asserts nothing.  Normally started by
# `make bench` (bench/run.sh compare ...); see bench/README.md.
#
# For each tool (pg_ha, Debian's patroni daemon) and each timing profile
# (the tool's defaults, its fastest safe settings) it builds a three-node
# cluster on 127.0.0.1 with the same PostgreSQL binaries, a private Consul
# 1.8.7 agent and HAProxy rendered from docs/haproxy.cfg (checks on each
# node's REST API: OPTIONS /primary), then:
#
#   scenarios  bench/writer inserts a row every 20 ms through HAProxy's
#              read-write port while the leader is taken down:
#                kill9     SIGKILL to the leader's postmaster
#                kill9ha   SIGKILL to the leader's patroni daemon (Patroni
#                          only: its postgres keeps running)
#                stop      graceful stop of the leader (pg_ha: pg_ctl stop
#                          -m fast; Patroni: SIGTERM to the daemon, which
#                          stops postgres)
#                switchover  pg_ha_ctl switchover --force /
#                          patronictl switchover --force
#              reported: the writer's longest gap between acknowledged
#              writes, acknowledged writes missing on the final leader,
#              whether the old leader still took writes while the new one
#              did, and the time until the old leader streams again
#   idle       the HA machinery of each node (pg_ha: its HA worker, which
#              serves the REST API too; Patroni: its python process) over
#              --idle seconds:
#              RSS, PSS and private memory (smaps_rollup), CPU seconds per
#              minute; Consul HTTP requests per minute (Consul's debug log
#              has one "Request finished" line per request)
# and once, apart from the tools' clusters:
#   pgbench    TPS of a server without pg_ha and of servers with pg_ha
#              loaded and leading a one-node cluster (both profiles),
#              same settings, same scale, runs interleaved
#
# Runs as an unprivileged user with the TAP tests' environment (as
# bench/failover.pl).  It is not a TAP test.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Getopt::Long;
use List::Util qw(shuffle sum);
use POSIX qw(WNOHANG strftime);
use Time::HiRes ();

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgHaTest;

my %profiles = (
	pg_ha => {
		# pg_ha's defaults (Patroni's too)
		default => { ttl => '30s', loop_wait => '10s', retry_timeout => '10s', loop_wait_s => 10 },
		# bench/failover.pl's fast profile: loop_wait + 2 * retry_timeout <= ttl
		fast => { ttl => '3s', loop_wait => '500ms', retry_timeout => '1s', loop_wait_s => 0.5 },
	},
	patroni => {
		default => { ttl => 30, loop_wait => 10, retry_timeout => 10, loop_wait_s => 10 },
		# Patroni 3.0.2 checks only that these are integers.  With Consul
		# it asks for a session TTL of ttl/2, and Consul 1.8.7 refuses
		# sessions under session_ttl_min (10 s by default): with ttl = 10
		# every session.create fails ("Invalid Session TTL"), Patroni's
		# fallback (adjust_ttl) fails too (KeyError 'SessionTTLMin': this
		# agent does not report it), and no node ever takes the leader
		# lock.  ttl = 20 is the lowest that works.  loop_wait is whole
		# seconds, 1 the least; retry_timeout 3 (Consul read timeouts are
		# retry_timeout/3 = 1 s) keeps loop_wait + 2 * retry_timeout <= ttl.
		fast => { ttl => 20, loop_wait => 1, retry_timeout => 3, loop_wait_s => 1 },
	},);

my %scenarios_of = (
	pg_ha   => [qw(kill9 stop switchover)],
	patroni => [qw(kill9 kill9ha stop switchover)],);

my %label = (
	kill9      => 'kill -9 of the leader\'s postmaster',
	kill9ha    => 'kill -9 of the leader\'s patroni daemon',
	stop       => 'graceful stop of the leader',
	switchover => 'switchover',);

my $tools        = 'pg_ha,patroni';
my $profile_list = 'default,fast';
my $runs         = 5;
my $phases       = 'scenarios,idle,pgbench';
my $idle_s       = 60;
my $pgbench_runs = 5;
my $pgbench_time = 10;
my $pgbench_scale = 10;
my $pgbench_clients = 4;
my $interval_ms  = 20;
my $warmup_acks  = 50;
my $writer       = dirname(abs_path($0)) . '/writer';
my $results_dir;
my $seed = time() ^ $$;
my $haproxy_retries;    # default: as in docs/haproxy.cfg (0 on the primary port)

GetOptions(
	'tools=s'         => \$tools,
	'profiles=s'      => \$profile_list,
	'runs=i'          => \$runs,
	'phases=s'        => \$phases,
	'idle=i'          => \$idle_s,
	'pgbench-runs=i'  => \$pgbench_runs,
	'pgbench-time=i'  => \$pgbench_time,
	'pgbench-scale=i' => \$pgbench_scale,
	'pgbench-clients=i' => \$pgbench_clients,
	'interval=i'      => \$interval_ms,
	'warmup-acks=i'   => \$warmup_acks,
	'writer=s'        => \$writer,
	'results-dir=s'   => \$results_dir,
	'seed=i'          => \$seed,
	'haproxy-retries=i' => \$haproxy_retries,)
  or die "usage: $0 [--tools pg_ha,patroni] [--profiles default,fast] [--runs N] "
  . "[--phases scenarios,idle,pgbench] [--idle SECONDS] [--pgbench-runs N] "
  . "[--pgbench-time SECONDS] [--pgbench-scale N] [--results-dir DIR] [--seed N]\n";
my @tools    = split /,/, $tools;
my @profiles = split /,/, $profile_list;
my %phase    = map { $_ => 1 } split /,/, $phases;
foreach my $t (@tools)
{
	die "unknown tool '$t' (pg_ha, patroni)\n" unless $profiles{$t};
	foreach my $p (@profiles)
	{
		die "unknown profile '$p' (default, fast)\n" unless $profiles{$t}{$p};
	}
}
die "writer '$writer' is not executable (make -C bench)\n" unless -x $writer;
$results_dir //= "$PostgreSQL::Test::Utils::tmp_check/compare";
make_path($results_dir);
srand($seed);

my $bindir = (split /\n/, `pg_config --bindir`)[0];
my ($patroni_bin) = grep { -x } map { "$_/patroni" } split(/:/, $ENV{PATH} // ''), '/usr/bin';
my ($patronictl_bin) = grep { -x } map { "$_/patronictl" } split(/:/, $ENV{PATH} // ''), '/usr/bin';
die "no patroni daemon (apt-get install patroni)\n"
  if grep({ $_ eq 'patroni' } @tools) && !($patroni_bin && $patronictl_bin);

my $out = Test::More->builder->output;

sub say_out { print $out @_, "\n"; print @_, "\n"; return; }

sub now { return Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) }

sub wall
{
	my $t = Time::HiRes::time();
	return strftime('%H:%M:%S', gmtime $t) . sprintf('.%03d', ($t - int $t) * 1000);
}

sub wait_for
{
	my ($what, $timeout, $code, $period) = @_;
	$period //= 0.05;
	my $deadline = now() + $timeout;
	my $err;
	while (1)
	{
		my $r = eval { $code->() };
		$err = $@ if $@;
		return $r if !$@ && $r;
		last if now() >= $deadline;
		Time::HiRes::sleep($period);
	}
	chomp($err) if defined $err;
	say_out("# timed out after ${timeout}s waiting for: $what"
		  . (defined $err ? " (last error: $err)" : ''));
	return undef;
}

sub median
{
	my @v = sort { $a <=> $b } grep { defined } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub max_of { my @v = sort { $a <=> $b } grep { defined } @_; return @v ? $v[-1] : undef; }
sub min_of { my @v = sort { $a <=> $b } grep { defined } @_; return @v ? $v[0] : undef; }

sub fmt { my ($f, $v) = @_; return defined $v ? sprintf($f, $v) : 'n/a'; }

# ---------------------------------------------------------------------
# Processes.

sub pid_state
{
	my ($pid) = @_;
	return 'gone' unless defined $pid && (kill(0, $pid) || $!{EPERM});
	open my $fh, '<', "/proc/$pid/stat" or return 'alive';
	my $stat = <$fh> // '';
	close $fh;
	return $stat =~ /\)\s+Z\s/ ? 'zombie' : 'alive';
}

sub postmaster_pid
{
	my ($dir) = @_;
	open my $fh, '<', "$dir/postmaster.pid" or return undef;
	my $pid = <$fh>;
	close $fh;
	return (defined $pid && $pid =~ /^\s*(\d+)\s*$/) ? $1 : undef;
}

sub all_pids
{
	opendir(my $dh, '/proc') or return ();
	my @pids = grep { /^\d+$/ } readdir $dh;
	closedir $dh;
	return @pids;
}

sub processes_in
{
	my ($dir) = @_;
	my $want = abs_path($dir) // $dir;
	return grep { my $c = readlink("/proc/$_/cwd"); defined $c && $c eq $want } all_pids();
}

sub children_of
{
	my ($ppid) = @_;
	my @kids;
	foreach my $pid (all_pids())
	{
		open my $fh, '<', "/proc/$pid/stat" or next;
		my $stat = <$fh> // '';
		close $fh;
		push @kids, $pid if $stat =~ /\)\s+\S\s+(\d+)\s/ && $1 == $ppid;
	}
	return @kids;
}

sub cmdline
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/cmdline" or return '';
	local $/;
	my $c = <$fh> // '';
	close $fh;
	$c =~ s/\0+$//;
	$c =~ s/\0/ /g;
	return $c;
}

# utime + stime in seconds
sub cpu_seconds
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/stat" or return undef;
	my $stat = <$fh> // '';
	close $fh;
	$stat =~ s/^.*\)\s+//;
	my @f = split /\s+/, $stat;
	return ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}

# Rss, Pss and Private_Clean + Private_Dirty in kB
sub smaps_rollup
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/smaps_rollup" or return undef;
	my %m;
	while (<$fh>) { $m{$1} = $2 if /^(\w+):\s+(\d+) kB/; }
	close $fh;
	return { rss => $m{Rss} // 0, pss => $m{Pss} // 0,
		private => ($m{Private_Clean} // 0) + ($m{Private_Dirty} // 0) };
}

my (%spawned, @haproxy_pids, @cleanup);

sub spawn
{
	my ($log, @cmd) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null')
		  && open(STDOUT, '>>', $log)
		  && open(STDERR, '>&', \*STDOUT)
		  or POSIX::_exit(126);
		{ no warnings 'exec'; exec { $cmd[0] } @cmd; }
		POSIX::_exit(127);
	}
	$spawned{$pid} = 1;
	return $pid;
}

sub reap
{
	foreach my $pid (keys %spawned)
	{
		delete $spawned{$pid} if waitpid($pid, WNOHANG) == $pid;
	}
	return;
}

sub wait_child
{
	my ($pid, $timeout) = @_;
	my $deadline = now() + $timeout;
	while (waitpid($pid, WNOHANG) == 0)
	{
		return 0 if now() >= $deadline;
		Time::HiRes::sleep(0.05);
	}
	delete $spawned{$pid};
	return 1;
}

END
{
	local $?;
	$_->() foreach reverse @cleanup;
	foreach my $pid (keys %spawned) { kill 'KILL', $pid; waitpid($pid, 0); }
	kill 'TERM', @haproxy_pids if @haproxy_pids;
}

# ---------------------------------------------------------------------
# HAProxy: docs/haproxy.cfg with its ports replaced, checks on each node's
# REST API (pg_ha's, or Patroni's), as PgHaTest::HAProxy does.

sub start_haproxy
{
	my (@nodes) = @_;
	my $bin = PgHaTest::haproxy_binary() or die "haproxy is not installed\n";
	my %port = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } qw(primary replicas stats);
	my $cfg = slurp_file(dirname(abs_path($0)) . '/../docs/haproxy.cfg');
	$cfg =~ s/127\.0\.0\.1:7000/127.0.0.1:$port{stats}/;
	$cfg =~ s/127\.0\.0\.1:5000/127.0.0.1:$port{primary}/;
	$cfg =~ s/127\.0\.0\.1:5001/127.0.0.1:$port{replicas}/;
	# HAProxy waits a turn-around second before each retry to a server that
	# refused; libpq gives up a connection attempt after 2 s at the least.
	# Every retries line: the primary section's overrides the defaults'.
	$cfg =~ s/^(\s*retries) \d+$/$1 $haproxy_retries/mg if defined $haproxy_retries;
	my %default_pg  = (pg1 => 5432, pg2 => 5433, pg3 => 5434);
	my %default_api = (pg1 => 8008, pg2 => 8009, pg3 => 8010);
	foreach my $n (@nodes)
	{
		my ($srv, $p, $a) = ($n->{srv}, $n->{pg}->port, $n->{api_port});
		$cfg =~ s/(server $srv) 127\.0\.0\.1:$default_pg{$srv} (.*) port $default_api{$srv}$/$1 127.0.0.1:$p $2 port $a/mg;
	}
	my $dir = PostgreSQL::Test::Utils::tempdir();
	PostgreSQL::Test::Utils::append_to_file("$dir/haproxy.cfg", $cfg);
	system($bin, '-q', '-f', "$dir/haproxy.cfg", '-D', '-p', "$dir/haproxy.pid") == 0
	  or die "haproxy did not start\n";
	my $pid = slurp_file("$dir/haproxy.pid");
	chomp $pid;
	push @haproxy_pids, $pid;
	# PgHaTest::HAProxy's methods (port, up, via) work on this layout
	return bless { port => \%port, config => $cfg, pid => $pid }, 'PgHaTest::HAProxy';
}

sub stop_haproxy
{
	my ($h) = @_;
	kill 'TERM', $h->{pid};
	@haproxy_pids = grep { $_ != $h->{pid} } @haproxy_pids;
	return;
}

# ---------------------------------------------------------------------
# Clusters.  A cluster is a hash: tool, profile, consul, prefix (of the
# leader key), nodes (hashes: name, srv (HAProxy's server name), pg (a
# PostgreSQL::Test::Cluster, for psql and the data directory), api_port,
# and for Patroni: yml, pid (the daemon), log), haproxy.

sub query
{
	my ($n, $sql) = @_;
	my ($stdout, $stderr);
	my $ret = eval {
		$n->{pg}->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
			timeout => 10);
	};
	return undef if !defined $ret || $ret != 0;
	return $stdout;
}

sub in_recovery { return query($_[0], 'SELECT pg_is_in_recovery()') // ''; }

sub streaming_names
{
	my ($leader) = @_;
	return query($leader,
		"SELECT coalesce(string_agg(application_name, ',' ORDER BY application_name), '') "
		  . "FROM pg_stat_replication WHERE state = 'streaming'") // '';
}

sub leader_name
{
	my ($c) = @_;
	my $v = eval { $c->{consul}->kv_get("$c->{prefix}/leader") };
	return defined $v ? $v : '';
}

sub node_named
{
	my ($c, $name) = @_;
	my ($n) = grep { $_->{name} eq $name } @{ $c->{nodes} };
	return $n;
}

sub wait_stable
{
	my ($c, $timeout) = @_;
	return wait_for(
		"a stable $c->{tool} cluster: one leader, two streaming replicas, HAProxy on the leader",
		$timeout,
		sub {
			my $leader = node_named($c, leader_name($c)) or return undef;
			return undef unless in_recovery($leader) eq 'f';
			my @others = grep { $_ != $leader } @{ $c->{nodes} };
			return undef
			  unless streaming_names($leader) eq join(',', sort map { $_->{name} } @others);
			foreach my $n (@others) { return undef unless in_recovery($n) eq 't'; }
			if ($c->{tool} eq 'patroni')
			{
				foreach my $n (@{ $c->{nodes} }) { return undef unless pid_state($n->{pid}) eq 'alive'; }
			}
			return undef unless $c->{haproxy}->up('primary') eq $leader->{srv};
			return $leader;
		},
		0.2);
}

sub setup_pg_ha
{
	my ($profile_name) = @_;
	my $p = $profiles{pg_ha}{$profile_name};
	my $consul = PgHaTest::Consul->start(name => "consul_pg_ha_$profile_name");
	my $cluster = 'bench';
	my %common = (cluster => $cluster, consul => $consul,
		ttl => $p->{ttl}, loop_wait => $p->{loop_wait}, retry_timeout => $p->{retry_timeout},
		extra_conf => ['log_statement = none']);
	my $c = { tool => 'pg_ha', profile => $profile_name, consul => $consul,
		prefix => "service/$cluster", cluster => $cluster, nodes => [] };
	my $first;
	foreach my $i (1 .. 3)
	{
		my $name = "h${profile_name}$i";
		my $pg = $i == 1 ? PgHaTest::new_node($name, %common)
		  : PgHaTest::new_replica($name, $first->{pg}, %common);
		# the last one counts: a replica's file starts as a copy of pg1's
		my @api = slurp_file($pg->data_dir . '/postgresql.conf') =~ /^pg_ha\.api_listen = '[^':]*:(\d+)'/mg;
		my $n = { name => $name, srv => "pg$i", pg => $pg, api_port => $api[-1] };
		push @{ $c->{nodes} }, $n;
		$pg->start;
		if ($i == 1)
		{
			$first = $n;
			wait_for("$name takes writes", 60,
				sub { leader_name($c) eq $name && in_recovery($n) eq 'f' })
			  or die "$name did not become the leader\n";
		}
	}
	$c->{haproxy} = start_haproxy(@{ $c->{nodes} });
	push @cleanup, sub { teardown($c) };
	return $c;
}

sub patroni_yaml
{
	my ($c, $n, $p) = @_;
	my ($consul_hostport) = $c->{consul}->http_url =~ m{^http://(.*)$};
	my $pg = $n->{pg};
	my $sockdir = $pg->host;
	my $port = $pg->port;
	# the same PostgreSQL settings as the pg_ha nodes (PostgreSQL::Test::
	# Cluster's init with allows_streaming, plus what PgHaTest adds)
	my $params = <<"EOT";
        fsync: 'off'
        restart_after_crash: 'off'
        log_line_prefix: '%m [%p] %q%a '
        log_statement: 'none'
        log_replication_commands: 'on'
        wal_retrieve_retry_interval: '500ms'
        wal_level: replica
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: 'on'
        hot_standby: 'on'
        shared_buffers: 1MB
        max_connections: 10
        max_wal_size: 128MB
        wal_keep_size: 128MB
EOT
	return <<"EOT";
scope: $c->{cluster}
namespace: /$c->{namespace}/
name: $n->{name}
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$n->{api_port}
  connect_address: 127.0.0.1:$n->{api_port}
consul:
  host: $consul_hostport
  register_service: false
bootstrap:
  dcs:
    ttl: $p->{ttl}
    loop_wait: $p->{loop_wait}
    retry_timeout: $p->{retry_timeout}
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      parameters:
$params
  initdb:
    - encoding: UTF8
    - no-sync
postgresql:
  listen: 127.0.0.1:$port
  connect_address: 127.0.0.1:$port
  data_dir: @{[ $pg->data_dir ]}
  bin_dir: $bindir
  pgpass: $n->{dir}/pgpass
  authentication:
    superuser:
      username: @{[ scalar getpwuid($<) ]}
      password: bench-superuser
    replication:
      username: replicator
      password: bench-replicator
  parameters:
    unix_socket_directories: '$sockdir'
    listen_addresses: 127.0.0.1
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
watchdog:
  mode: 'off'
EOT
}

sub start_patroni
{
	my ($n) = @_;
	$n->{pid} = spawn($n->{log}, $patroni_bin, $n->{yml});
	return;
}

sub setup_patroni
{
	my ($profile_name) = @_;
	my $p = $profiles{patroni}{$profile_name};
	my $consul = PgHaTest::Consul->start(name => "consul_patroni_$profile_name");
	# its own namespace and scope: never pg_ha's service/bench
	my $c = { tool => 'patroni', profile => $profile_name, consul => $consul,
		namespace => 'patroni', cluster => 'pbench', prefix => 'patroni/pbench', nodes => [] };
	foreach my $i (1 .. 3)
	{
		my $name = "p${profile_name}$i";
		my $pg = PostgreSQL::Test::Cluster->new($name);
		my $dir = PostgreSQL::Test::Utils::tempdir("patroni_$name");
		my $n = { name => $name, srv => "pg$i", pg => $pg, dir => $dir,
			api_port => PostgreSQL::Test::Cluster::get_free_port(),
			yml => "$dir/patroni.yml",
			log => "$PostgreSQL::Test::Utils::log_path/compare_patroni_$name.log" };
		PostgreSQL::Test::Utils::append_to_file($n->{yml}, patroni_yaml($c, $n, $p));
		push @{ $c->{nodes} }, $n;
		start_patroni($n);
		if ($i == 1)
		{
			wait_for("$name bootstraps and leads", 120,
				sub { leader_name($c) eq $name && in_recovery($n) eq 'f' })
			  or die "$name did not bootstrap (see $n->{log})\n";
		}
	}
	$c->{haproxy} = start_haproxy(@{ $c->{nodes} });
	push @cleanup, sub { teardown($c) };
	# patronictl's configuration: the same Consul, Patroni's namespace
	my ($consul_hostport) = $consul->http_url =~ m{^http://(.*)$};
	$c->{ctl_yml} = PostgreSQL::Test::Utils::tempdir() . '/patronictl.yml';
	PostgreSQL::Test::Utils::append_to_file($c->{ctl_yml},
		"scope: $c->{cluster}\nnamespace: /$c->{namespace}/\nconsul:\n  host: $consul_hostport\n");
	return $c;
}

sub teardown
{
	my ($c) = @_;
	return if $c->{torn_down}++;
	stop_haproxy($c->{haproxy}) if $c->{haproxy};
	foreach my $n (@{ $c->{nodes} })
	{
		if ($n->{pid} && pid_state($n->{pid}) eq 'alive')
		{
			kill 'TERM', $n->{pid};
			wait_child($n->{pid}, 60) or do { kill 'KILL', $n->{pid}; wait_child($n->{pid}, 10) };
		}
		my $pm = postmaster_pid($n->{pg}->data_dir);
		if (defined $pm && pid_state($pm) eq 'alive')
		{
			system('pg_ctl', '-D', $n->{pg}->data_dir, '-m', 'immediate', '-w', 'stop');
		}
		$n->{pg}->{_pid} = undef;
	}
	eval { $c->{consul}->stop };
	return;
}

# ---------------------------------------------------------------------
# The writer (as in bench/failover.pl), through HAProxy's read-write port.

sub start_writer
{
	my ($c, $tag, $direct) = @_;
	my %w = (tag => $tag, csv => "$results_dir/$tag.csv", out => "$results_dir/$tag.out",
		pos => 0, buf => '', acks => 0);
	# through HAProxy's read-write port, or (direct) straight to the nodes
	# with a libpq multi-host connection string, as bench/failover.pl does
	my $conninfo = $direct
	  ? 'host=' . join(',', ('127.0.0.1') x @{ $c->{nodes} })
	  . ' port=' . join(',', map { $_->{pg}->port } @{ $c->{nodes} })
	  : 'host=127.0.0.1 port=' . $c->{haproxy}->port('primary');
	$conninfo .= ' dbname=postgres target_session_attrs=read-write connect_timeout=1'
	  . ' application_name=bench_writer';
	$w{pid} = spawn($w{out}, $writer, '--duration', 3600, '--interval', $interval_ms,
		'--csv', $w{csv}, '--table', "bench_$tag", '--verify-timeout', 60, $conninfo);
	return \%w;
}

sub follow_writer
{
	my ($w) = @_;
	open my $fh, '<', $w->{csv} or return ();
	seek($fh, $w->{pos}, 0);
	local $/;
	my $chunk = <$fh> // '';
	close $fh;
	$w->{pos} += length $chunk;
	$chunk = $w->{buf} . $chunk;
	my @lines = split /\n/, $chunk, -1;
	$w->{buf} = pop(@lines) // '';
	my @new;
	foreach my $line (@lines)
	{
		next unless $line =~ /^([0-9.]+),([01]),/;
		push @new, [ $1, $2 ];
		$w->{acks}++ if $2;
	}
	return @new;
}

sub stop_writer
{
	my ($w) = @_;
	kill 'TERM', $w->{pid};
	wait_child($w->{pid}, 120) or do { kill 'KILL', $w->{pid}; wait_child($w->{pid}, 10) };
	my %r;
	open my $fh, '<', $w->{out} or return \%r;
	while (my $line = <$fh>)
	{
		chomp $line;
		$r{$1} = $2 if $line =~ /^([a-z_]+)=(.*)$/;
		push @{ $r{gap_errors} }, $1 if $line =~ /^gap_error: (.*)$/;
	}
	close $fh;
	return \%r;
}

# ---------------------------------------------------------------------
# One run of a scenario.

sub one_run
{
	my ($c, $scenario, $i) = @_;
	my $p = $profiles{ $c->{tool} }{ $c->{profile} };
	my %r = (tool => $c->{tool}, profile => $c->{profile}, scenario => $scenario, run => $i);
	my $fail = sub { $r{failed} = $_[0]; say_out("# $c->{tool} $c->{profile} $scenario run $i FAILED: $_[0]"); return \%r };

	my $old = wait_stable($c, 240) or return $fail->('no stable cluster');
	$r{old_leader} = $old->{name};
	my $tag = "$c->{tool}_$c->{profile}_${scenario}_$i";
	$r{tag} = $tag;
	# the fault at a random phase of the leader's loop (see failover.pl)
	my $acks_wanted = $warmup_acks + int(rand($p->{loop_wait_s} * 1000 / $interval_ms));
	my $w = start_writer($c, $tag);
	my $wd = start_writer($c, "${tag}_direct", 1);
	wait_for("the writer's first $acks_wanted acknowledged writes", 60 + 2 * $p->{loop_wait_s},
		sub { follow_writer($w); $w->{acks} >= $acks_wanted })
	  or do { stop_writer($w); stop_writer($wd); return $fail->('writer did not write') };

	my $data = $old->{pg}->data_dir;
	my $old_pm = postmaster_pid($data);
	my $ctl_pid;
	$r{fault_wall} = wall();
	my $t_fault = now();
	$r{t_fault_ms} = $t_fault * 1000;
	if ($scenario eq 'kill9')
	{
		kill 'KILL', $old_pm;
	}
	elsif ($scenario eq 'kill9ha')
	{
		kill 'KILL', $old->{pid};
		wait_child($old->{pid}, 10);
	}
	elsif ($scenario eq 'stop')
	{
		if ($c->{tool} eq 'pg_ha')
		{
			system('pg_ctl', '-D', $data, '-m', 'fast', '-w', '-t', '120', 'stop');
		}
		else
		{
			kill 'TERM', $old->{pid};    # Patroni stops postgres, then exits
		}
	}
	elsif ($scenario eq 'switchover')
	{
		my $log = "$results_dir/$tag.switchover.log";
		if ($c->{tool} eq 'pg_ha')
		{
			$ctl_pid = spawn($log, "$bindir/pg_ha_ctl", 'switchover', $c->{cluster}, '--force',
				'--leader=' . $old->{name}, '--consul-url=' . $c->{consul}->http_url);
		}
		else
		{
			$ctl_pid = spawn($log, $patronictl_bin, '-c', $c->{ctl_yml}, 'switchover', $c->{cluster},
				'--leader', $old->{name}, '--force');
		}
	}
	$r{fault_call_s} = now() - $t_fault;

	# until the writer's INSERTs are acknowledged again (after its first
	# error) and the leader key is settled
	my ($t_key, $t_ack, $t_err, $new_name);
	wait_for(
		'writes acknowledged again',
		3 * $p->{loop_wait_s} + 4 * ($p->{ttl} =~ /^(\d+)/)[0] + 60,
		sub {
			my $l = leader_name($c);
			if (!defined $t_key && $l ne '' && $l ne $old->{name})
			{
				$t_key = now();
			}
			foreach my $row (follow_writer($w))
			{
				my $t = $row->[0] / 1000;
				next if $t <= $t_fault;
				$t_err //= $t unless $row->[1];
				$t_ack //= $t if $row->[1] && defined $t_err;
			}
			$new_name = $l if defined $t_ack && $l ne '';
			return defined $t_ack && defined $new_name && node_named($c, $new_name);
		},
		0.02)
	  or do { stop_writer($w); stop_writer($wd); return $fail->('writes were not acknowledged again') };
	$r{new_leader}       = $new_name;
	$r{fault_to_key_s}   = defined $t_key ? $t_key - $t_fault : undef;
	$r{fault_to_ack_s}   = $t_ack - $t_fault;
	$r{fault_to_error_s} = $t_err - $t_fault;
	my $new = node_named($c, $new_name);

	# two writable nodes?  The old leader, asked directly (not through
	# HAProxy), while the new leader takes writes
	$r{old_writable} = 'no';
	if ($new != $old)
	{
		my $ok = query($old, 'CREATE TABLE IF NOT EXISTS split_probe (t timestamptz); '
			  . 'INSERT INTO split_probe VALUES (now()); SELECT 1');
		$r{old_writable} = 'YES' if defined $ok && $ok eq '1';
	}

	# the old leader back as a replica: timed from its restart by hand,
	# or, when the HA tool restarts it itself, from the fault
	my $t_restart = $t_fault;
	if ($c->{tool} eq 'pg_ha' && $scenario =~ /^(kill9|stop)$/)
	{
		wait_for("the processes of the old $old->{name} are gone", 60,
			sub { !processes_in($data) && pid_state($old_pm) eq 'gone' })
		  or do { stop_writer($w); stop_writer($wd); return $fail->("old processes of $old->{name} remain") };
		$r{old_gone_s} = now() - $t_ack;
		$t_restart = now();
		# the Cluster object still holds the killed or stopped pid
		$old->{pg}->{_pid} = undef;
		$old->{pg}->start(fail_ok => 1) unless defined postmaster_pid($data)
		  && pid_state(postmaster_pid($data)) eq 'alive';
	}
	elsif ($c->{tool} eq 'patroni' && $scenario =~ /^(kill9ha|stop)$/)
	{
		# the daemon must have finished (stop) before it starts again
		wait_child($old->{pid}, 120) or do { stop_writer($w); stop_writer($wd); return $fail->('patroni did not exit') };
		$r{old_gone_s} = now() - $t_ack;
		$t_restart = now();
		start_patroni($old);
	}
	if ($new == $old)
	{
		$r{rejoin_s} = undef;    # no failover: the same leader came back
	}
	else
	{
		my $t_old_w;
		wait_for("$old->{name} streams from $new_name", 300,
			sub {
				# until when the old leader still takes writes (kill9ha)
				$t_old_w = now() if $r{old_writable} eq 'YES' && in_recovery($old) eq 'f';
				return (grep { $_ eq $old->{name} } split /,/, streaming_names($new)) ? 1 : 0;
			}, 0.05)
		  or do { stop_writer($w); stop_writer($wd); return $fail->("$old->{name} did not rejoin") };
		$r{rejoin_s} = now() - $t_restart;
		$r{old_writable_s} = $t_old_w - $t_fault if defined $t_old_w;
	}

	my $acks = $w->{acks};
	wait_for('writes after the rejoin', 60, sub { follow_writer($w); $w->{acks} >= $acks + $warmup_acks });
	my $res = stop_writer($w);
	my $resd = stop_writer($wd);
	$r{direct_acked}  = $resd->{acknowledged_writes};
	$r{direct_lost}   = $resd->{lost_acknowledged_writes};
	$r{direct_gap_ms} = $resd->{max_gap_ms};
	if (defined $ctl_pid) { wait_child($ctl_pid, 120) or kill 'KILL', $ctl_pid; }
	$r{acked}      = $res->{acknowledged_writes};
	$r{lost}       = $res->{lost_acknowledged_writes};
	$r{gap_ms}     = $res->{max_gap_ms};
	$r{gap_from_s} = defined $res->{max_gap_from_monotonic_ms}
	  ? $res->{max_gap_from_monotonic_ms} / 1000 - $t_fault : undef;
	$r{gap_errors} = $res->{gap_errors} || [];
	say_out(sprintf('# %s %s %-10s run %d: %s -> %s, unavailable %s ms, fault->ack %.2f s, '
			  . 'rejoin %s s, old leader writable: %s, acked %s, lost %s; direct writer %s ms, lost %s',
			$c->{tool}, $c->{profile}, $scenario, $i, $old->{name}, $new_name,
			$r{gap_ms} // '?', $r{fault_to_ack_s}, fmt('%.1f', $r{rejoin_s}),
			$r{old_writable}, $r{acked} // '?', $r{lost} // '?', $r{direct_gap_ms} // '?',
			$r{direct_lost} // '?'));
	return \%r;
}

# ---------------------------------------------------------------------
# Idle footprint.

sub ha_pids
{
	my ($c, $n) = @_;
	if ($c->{tool} eq 'pg_ha')
	{
		my $pm = postmaster_pid($n->{pg}->data_dir) // return ();
		return grep { cmdline($_) =~ /pg_ha (HA|API) worker/ } children_of($pm);
	}
	return ($n->{pid}, grep { cmdline($_) =~ /^\S*python/ } children_of($n->{pid}));
}

sub consul_requests
{
	my ($c) = @_;
	open my $fh, '<', $c->{consul}->log_file or return (0, {});
	my ($count, %by) = (0);
	while (my $line = <$fh>)
	{
		next unless $line =~ /Request finished: method=(\w+) url=(\S+)/;
		my ($m, $u) = ($1, $2);
		$count++;
		$u =~ s/\?.*//;
		$u =~ s{^(/v1/[a-z]+/[a-z]+).*}{$1};
		$by{"$m $u"}++;
	}
	close $fh;
	return ($count, \%by);
}

sub idle
{
	my ($c) = @_;
	wait_stable($c, 240) or return { failed => 'no stable cluster' };
	my %pids = map { $_->{name} => [ ha_pids($c, $_) ] } @{ $c->{nodes} };
	my %cpu0 = map { my $n = $_; $n => sum(0, map { cpu_seconds($_) // 0 } @{ $pids{$n} }) } keys %pids;
	my ($req0, $by0) = consul_requests($c);
	my $t0 = now();
	my %mem;
	# five memory samples spread over the window; the largest counts
	foreach my $k (1 .. 5)
	{
		Time::HiRes::sleep($idle_s / 5);
		foreach my $n (keys %pids)
		{
			my %s = (rss => 0, pss => 0, private => 0);
			foreach my $pid (@{ $pids{$n} })
			{
				my $m = smaps_rollup($pid) or next;
				$s{$_} += $m->{$_} for keys %s;
			}
			foreach my $f (keys %s)
			{
				$mem{$n}{$f} = $s{$f} if !defined $mem{$n}{$f} || $s{$f} > $mem{$n}{$f};
			}
		}
	}
	my $secs = now() - $t0;
	my ($req1, $by1) = consul_requests($c);
	my %cpu1 = map { my $n = $_; $n => sum(0, map { cpu_seconds($_) // 0 } @{ $pids{$n} }) } keys %pids;
	my %r = (tool => $c->{tool}, profile => $c->{profile}, secs => $secs,
		consul_per_min => ($req1 - $req0) / $secs * 60, nodes => {});
	my $leader = leader_name($c);
	foreach my $n (sort keys %pids)
	{
		$r{nodes}{$n} = { %{ $mem{$n} }, cpu_per_min => ($cpu1{$n} - $cpu0{$n}) / $secs * 60,
			procs => scalar @{ $pids{$n} }, role => ($n eq $leader ? 'leader' : 'replica') };
	}
	my %by = map { $_ => ($by1->{$_} - ($by0->{$_} // 0)) / $secs * 60 } keys %$by1;
	$r{consul_by} = { map { $_ => $by{$_} } grep { $by{$_} > 0 } keys %by };
	say_out(sprintf('# idle %s %s: %.0f s, Consul %.0f requests/min; per node: %s', $c->{tool},
			$c->{profile}, $secs, $r{consul_per_min},
			join('; ', map { sprintf('%s (%s, %d procs) RSS %d kB PSS %d kB private %d kB CPU %.3f s/min',
						$_, $r{nodes}{$_}{role}, $r{nodes}{$_}{procs}, $r{nodes}{$_}{rss},
						$r{nodes}{$_}{pss}, $r{nodes}{$_}{private}, $r{nodes}{$_}{cpu_per_min}) }
				  sort keys %{ $r{nodes} })));
	say_out("#   Consul requests/min by kind: "
		  . join(', ', map { sprintf('%s %.1f', $_, $r{consul_by}{$_}) } sort keys %{ $r{consul_by} }));
	return \%r;
}

# ---------------------------------------------------------------------
# pgbench with and without pg_ha.

sub pgbench_phase
{
	my $consul = PgHaTest::Consul->start(name => 'consul_pgbench');
	my @extra = ('log_statement = none', 'shared_buffers = 128MB', 'max_connections = 20');
	my @nodes;
	# without pg_ha: the same configuration minus pg_ha's lines
	my $plain = PostgreSQL::Test::Cluster->new('bplain');
	$plain->init(allows_streaming => 1);
	my $conf = PgHaTest::pg_ha_conf($plain, 'bplain', cluster => 'unused', consul => $consul,
		extra_conf => \@extra);
	$conf = join("\n", grep { !/^(shared_preload_libraries|pg_ha\.|include_if_exists)/ } split /\n/, $conf) . "\n";
	$plain->append_conf('postgresql.conf', $conf);
	push @nodes, { label => 'without pg_ha', pg => $plain };
	foreach my $prof (qw(default fast))
	{
		my $p = $profiles{pg_ha}{$prof};
		my $n = PgHaTest::new_node("b$prof", cluster => "pgbench_$prof", consul => $consul,
			ttl => $p->{ttl}, loop_wait => $p->{loop_wait}, retry_timeout => $p->{retry_timeout},
			extra_conf => \@extra);
		push @nodes, { label => "pg_ha loaded, $prof profile, leader", pg => $n };
	}
	$_->{pg}->start foreach @nodes;
	push @cleanup, sub { eval { $_->{pg}->stop('immediate') } foreach @nodes; eval { $consul->stop } };
	foreach my $n (@nodes)
	{
		wait_for("$n->{label} takes writes", 90,
			sub { ($n->{pg}->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 'f') })
		  or die "$n->{label} is not writable\n";
		$n->{pg}->command_ok([ 'pgbench', '-i', '-q', '-s', $pgbench_scale,
				'-h', $n->{pg}->host, '-p', $n->{pg}->port, 'postgres' ], "pgbench -i for $n->{label}");
		$n->{pg}->safe_psql('postgres', 'VACUUM ANALYZE; CHECKPOINT');
	}
	# interleaved: every round runs each server once, in a random order
	foreach my $round (1 .. $pgbench_runs)
	{
		foreach my $n (shuffle @nodes)
		{
			my ($stdout, $stderr) = run_command([ 'pgbench', '-n', '-c', $pgbench_clients, '-j', 2,
					'-T', $pgbench_time, '-h', $n->{pg}->host, '-p', $n->{pg}->port, 'postgres' ]);
			my ($tps) = $stdout =~ /tps = ([\d.]+) \(without initial connection time\)/;
			push @{ $n->{tps} }, $tps if defined $tps;
			say_out(sprintf('# pgbench round %d, %s: %s tps', $round, $n->{label}, $tps // "failed: $stderr"));
		}
	}
	return \@nodes;
}

# ---------------------------------------------------------------------
# Main.

say_out("# pg_ha vs Patroni, seed $seed, $runs run(s) per scenario, idle $idle_s s, "
	  . "pgbench $pgbench_runs x $pgbench_time s, started " . wall() . ' UTC');
say_out('# versions: ' . join('; ', map { chomp(my $v = `$_ 2>&1`); $v =~ s/\n.*//s; $v }
		"$bindir/postgres --version", "$patroni_bin --version", PgHaTest::consul_binary() . ' version',
		PgHaTest::haproxy_binary() . ' -v'));

my (@results, @idle, $pgbench);
foreach my $prof (@profiles)
{
	foreach my $tool (@tools)
	{
		next unless $phase{scenarios} || $phase{idle};
		say_out("# === $tool, profile $prof: setting up (" . wall() . ')');
		my $c = eval { $tool eq 'pg_ha' ? setup_pg_ha($prof) : setup_patroni($prof) };
		if (!$c)
		{
			say_out("# $tool $prof: setup failed: $@");
			next;
		}
		if ($phase{scenarios})
		{
			foreach my $s (@{ $scenarios_of{$tool} })
			{
				foreach my $i (1 .. $runs)
				{
					push @results, one_run($c, $s, $i);
					last if ($results[-1]{failed} // '') eq 'no stable cluster';
				}
			}
		}
		push @idle, idle($c) if $phase{idle};
		teardown($c);
		reap();
	}
}
$pgbench = pgbench_phase() if $phase{pgbench};

# ---------------------------------------------------------------------
# Report.

open my $csv, '>', "$results_dir/runs.csv" or die "runs.csv: $!";
my @cols = qw(tool profile scenario run failed old_leader new_leader fault_wall t_fault_ms fault_call_s
  fault_to_error_s fault_to_key_s fault_to_ack_s old_gone_s gap_ms gap_from_s rejoin_s old_writable
  old_writable_s acked lost direct_gap_ms direct_acked direct_lost tag);
print $csv join(',', @cols), "\n";
foreach my $r (@results)
{
	print $csv join(',', map { my $v = $r->{$_} // ''; $v =~ s/,/;/g; $v } @cols), "\n";
}
close $csv;

my @md;
push @md, '## Write unavailability through HAProxy, old leader back as a replica', '',
  '| scenario | tool | profile | runs | write unavailability through HAProxy, median (ms) | max (ms) '
  . '| acknowledged writes lost | direct multi-host writer: unavailability median (ms) | max (ms) | acknowledged writes lost '
  . '| old leader streams again, median (s) | max (s) | old leader still took writes |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|';
my %median_gap;
foreach my $s (qw(kill9 kill9ha stop switchover))
{
	foreach my $prof (@profiles)
	{
		foreach my $tool (@tools)
		{
			my @all = grep { $_->{scenario} eq $s && $_->{tool} eq $tool && $_->{profile} eq $prof } @results;
			next unless @all;
			my @ok = grep { !$_->{failed} } @all;
			my @gap = map { $_->{gap_ms} } @ok;
			my @rej = map { $_->{rejoin_s} } @ok;
			my $lost_of = sub {
				my ($lk, $ak) = @_;
				my $lost = 0;
				foreach my $l (map { $_->{$lk} } @ok)
				{
					if (!defined $l || $l !~ /^\d+$/) { $lost = 'unknown'; last; }
					$lost += $l;
				}
				return sprintf('%s of %d', $lost, sum(0, map { $_->{$ak} // 0 } @ok));
			};
			my @dgap = map { $_->{direct_gap_ms} } @ok;
			my $writable = grep { $_->{old_writable} eq 'YES' } @ok;
			my $same = grep { !defined $_->{rejoin_s} } @ok;
			$median_gap{$s}{$tool}{$prof} = median(@gap);
			$median_gap{"${s}_direct"}{$tool}{$prof} = median(@dgap);
			push @md, sprintf('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |',
				$label{$s}, $tool, $prof,
				scalar(@ok) . (@ok < @all ? ' (' . (@all - @ok) . ' failed)' : ''),
				fmt('%.0f', median(@gap)), fmt('%.0f', max_of(@gap)), $lost_of->('lost', 'acked'),
				fmt('%.0f', median(@dgap)), fmt('%.0f', max_of(@dgap)), $lost_of->('direct_lost', 'direct_acked'),
				fmt('%.1f', median(@rej)) . ($same ? " ($same: no failover)" : ''),
				fmt('%.1f', max_of(@rej)), "$writable of " . scalar(@ok));
		}
	}
}

if (@idle)
{
	push @md, '', '## Idle footprint of the HA machinery, per node', '',
	  '| tool | profile | processes per node | RSS (MiB) | PSS (MiB) | private (MiB) | CPU (s per minute) | Consul requests per minute (cluster) |',
	  '|---|---|---|---|---|---|---|---|';
	foreach my $r (@idle)
	{
		if ($r->{failed}) { push @md, "| $r->{tool} | $r->{profile} | failed: $r->{failed} | | | | | |"; next; }
		my @n = values %{ $r->{nodes} };
		my $range = sub {
			my ($f, $div, $fmt) = @_;
			my @v = map { $_->{$f} / $div } @n;
			return sprintf("$fmt to $fmt", min_of(@v), max_of(@v));
		};
		push @md, sprintf('| %s | %s | %s | %s | %s | %s | %s | %.0f |', $r->{tool}, $r->{profile},
			join('/', map { $_->{procs} } @n), $range->('rss', 1024, '%.1f'), $range->('pss', 1024, '%.1f'),
			$range->('private', 1024, '%.1f'), $range->('cpu_per_min', 1, '%.2f'), $r->{consul_per_min});
	}
	push @md, '', 'Consul requests per minute by kind:', '';
	foreach my $r (grep { !$_->{failed} } @idle)
	{
		push @md, "- $r->{tool} $r->{profile}: "
		  . join(', ', map { sprintf('`%s` %.1f', $_, $r->{consul_by}{$_}) }
			  sort { $r->{consul_by}{$b} <=> $r->{consul_by}{$a} } keys %{ $r->{consul_by} });
	}
}

if ($pgbench)
{
	push @md, '', "## pgbench (scale $pgbench_scale, $pgbench_clients clients, 2 threads, "
	  . "$pgbench_time s per run, $pgbench_runs runs each, interleaved)", '',
	  '| server | runs | TPS median | min | max | spread (max-min)/median | median vs without pg_ha |',
	  '|---|---|---|---|---|---|---|';
	my $base = median(@{ $pgbench->[0]{tps} || [] });
	foreach my $n (@$pgbench)
	{
		my @t = @{ $n->{tps} || [] };
		my $m = median(@t);
		push @md, sprintf('| %s | %d | %s | %s | %s | %s | %s |', $n->{label}, scalar @t,
			fmt('%.0f', $m), fmt('%.0f', min_of(@t)), fmt('%.0f', max_of(@t)),
			(defined $m && $m > 0 ? sprintf('%.1f %%', 100 * (max_of(@t) - min_of(@t)) / $m) : 'n/a'),
			(defined $m && $base ? sprintf('%+.1f %%', 100 * ($m / $base - 1)) : 'n/a'));
	}
}

# The targets of issue 8.
if (%median_gap)
{
	my $pf = sub { my ($s, $t) = @_; return min_of(map { $median_gap{$s}{$t}{$_} } @profiles) };
	push @md, '', '## Against the targets', '',
	  'Each tool at its faster profile (the lower median); through HAProxy unless said otherwise.', '',
	  '| target | pg_ha | Patroni | ratio | met? |', '|---|---|---|---|---|';
	foreach my $row (['kill9', 5, 'kill -9: median outage at least 5x shorter than Patroni\'s fastest'],
		['switchover', 2, 'switchover: median outage at most half of Patroni\'s'],
		['stop', 2, 'graceful stop: median outage at most half of Patroni\'s'],
		['kill9_direct', 5, 'the same for kill -9, direct multi-host writer'],
		['switchover_direct', 2, 'the same for switchover, direct multi-host writer'],
		['stop_direct', 2, 'the same for graceful stop, direct multi-host writer'])
	{
		my ($s, $factor, $text) = @$row;
		my ($a, $b) = ($pf->($s, 'pg_ha'), $pf->($s, 'patroni'));
		next unless defined $a && defined $b && $a > 0;
		push @md, sprintf('| %s | %.0f ms | %.0f ms | %.1fx | %s |', $text, $a, $b, $b / $a,
			$b / $a >= $factor ? 'yes' : '**no**');
	}
	if (@idle)
	{
		my ($pss_pg) = max_of(map { $_->{pss} } map { values %{ $_->{nodes} } } grep { $_->{tool} eq 'pg_ha' && !$_->{failed} } @idle);
		my ($pss_pt) = min_of(map { $_->{pss} } map { values %{ $_->{nodes} } } grep { $_->{tool} eq 'patroni' && !$_->{failed} } @idle);
		push @md, sprintf('| PSS of the HA machinery per node <= 2 MiB (Patroni ~28 MiB) | max %.1f MiB | min %.1f MiB | | %s |',
			$pss_pg / 1024, $pss_pt / 1024, $pss_pg <= 2048 ? 'yes' : '**no**')
		  if defined $pss_pg && defined $pss_pt;
	}
}

my @detail = ('', '## Runs', '',
	'| tool | profile | scenario | run | leader before -> after | unavailable (ms) | fault -> first error (s) | fault -> new leader key (s) | fault -> first ack (s) | old leader streams again (s) | old leader took writes | acked | lost | direct writer: unavailable (ms) | acked | lost |',
	'|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
foreach my $r (@results)
{
	if ($r->{failed}) { push @detail, "| $r->{tool} | $r->{profile} | $r->{scenario} | $r->{run} | failed: $r->{failed} | | | | | | | | | | | |"; next; }
	push @detail, sprintf('| %s | %s | %s | %d | %s -> %s | %s | %.2f | %s | %.2f | %s | %s | %s | %s | %s | %s | %s |',
		$r->{tool}, $r->{profile}, $r->{scenario}, $r->{run}, $r->{old_leader}, $r->{new_leader},
		$r->{gap_ms} // '?', $r->{fault_to_error_s}, fmt('%.2f', $r->{fault_to_key_s}), $r->{fault_to_ack_s},
		fmt('%.1f', $r->{rejoin_s}),
		$r->{old_writable} . (defined $r->{old_writable_s} ? sprintf(' (until %.1f s after the fault)', $r->{old_writable_s}) : ''),
		$r->{acked} // '?', $r->{lost} // '?', $r->{direct_gap_ms} // '?', $r->{direct_acked} // '?',
		$r->{direct_lost} // '?');
}

open my $md, '>', "$results_dir/summary.md" or die "summary.md: $!";
print $md join("\n", @md, @detail), "\n\n", 'Profiles: '
  . join('; ', map { my $t = $_; map { my $p = $profiles{$t}{$_};
		  "$t $_: ttl $p->{ttl}, loop_wait $p->{loop_wait}, retry_timeout $p->{retry_timeout}" } @profiles } @tools)
  . "; writer interval $interval_ms ms; seed $seed; HAProxy: docs/haproxy.cfg"
  . (defined $haproxy_retries ? " with retries $haproxy_retries" : '') . ".\n";
close $md;

# Acknowledged writes per 100 ms of one writer's CSV, from up to 2 s
# before the fault ($t0_ms) to 3 s after $until_ms (ms from the fault), in
# whole bins while the writer ran.
sub timeline_dat
{
	my ($csv, $file, $what, $t0_ms, $until_ms) = @_;
	open my $in, '<', $csv or return;
	my (%bin, $first, $last);
	while (<$in>)
	{
		next unless /^([0-9.]+),([01]),/;
		my $t = $1 - $t0_ms;
		$first //= $t;
		$last = $t;
		$bin{ POSIX::floor($t / 100) }++ if $2;
	}
	close $in;
	return unless defined $first;
	open my $dat, '>', $file or return;
	print $dat "# $what: seconds from the fault, acknowledged writes in the 100 ms from there\n";
	my $lo = POSIX::ceil($first / 100);
	my $hi = POSIX::floor($last / 100) - 1;
	my $end = POSIX::ceil(($until_ms + 3000) / 100);
	$hi = $end if $end < $hi;
	$lo = -20 if $lo < -20;
	print $dat sprintf("%.1f %d\n", $_ / 10, $bin{$_} // 0) for $lo .. $hi;
	close $dat;
	return;
}

# Timeline data: acknowledged writes per 100 ms around the fault, for the
# run with the median outage of each tool, profile and scenario.
foreach my $s (qw(kill9 kill9ha stop switchover))
{
	foreach my $prof (@profiles)
	{
		foreach my $tool (@tools)
		{
			my @ok = sort { $a->{gap_ms} <=> $b->{gap_ms} }
			  grep { !$_->{failed} && defined $_->{gap_ms} && $_->{scenario} eq $s && $_->{tool} eq $tool && $_->{profile} eq $prof } @results;
			next unless @ok;
			my $r = $ok[$#ok / 2];
			# the HAProxy writer and the direct one of the same run
			foreach my $kind ('', '_direct')
			{
				timeline_dat("$results_dir/$r->{tag}$kind.csv",
					"$results_dir/timeline_${tool}_${prof}_$s$kind.dat",
					"$tool $prof $s run $r->{run}" . ($kind ? ' (direct writer)' : ''),
					$r->{t_fault_ms}, ($r->{gap_from_s} // 0) * 1000 + $r->{gap_ms});
			}
		}
	}
}

say_out('');
say_out($_) for @md;
say_out('');
say_out("# results in $results_dir (summary.md, runs.csv, timeline_*.dat, writer CSVs)");
pass('benchmark finished');
done_testing();
