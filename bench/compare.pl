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
# 1.8.7 (one server agent, and one client agent per node, which is the
# node's "local agent": the node talks to it only) and HAProxy rendered
# from docs/haproxy.cfg (checks on each node's REST API: OPTIONS
# /primary), then:
#
#   scenarios  bench/writer inserts a row every 20 ms through HAProxy's
#              read-write port, a second one straight to the nodes (libpq
#              multi-host, target_session_attrs=read-write), a third one
#              pinned to the old leader alone, while the leader is taken
#              down:
#                killall   the node's whole process tree: SIGSTOP to every
#                          process, then SIGKILL to all (none outlives the
#                          others)
#                freeze    SIGSTOP to every process of the node; SIGCONT
#                          once the new leader took writes (--freeze-hold)
#                hostloss  killall, together with the node's own Consul
#                          client agent
#                kill9     SIGKILL to the leader's postmaster alone
#                kill9ha   SIGKILL to the leader's patroni daemon (Patroni
#                          only: its postgres keeps running)
#                stop      graceful stop of the leader (pg_ha: pg_ctl stop
#                          -m fast; Patroni: SIGTERM to the daemon, which
#                          stops postgres)
#                switchover  pg_ha_ctl switchover --force /
#                          patronictl switchover --force
#              (the leader cut off from Consul and its peers needs network
#              namespaces: bench/partition.pl)
#              reported: the time until another node holds the leader key,
#              the writers' longest gaps between acknowledged writes,
#              acknowledged writes missing on the final leader, split-brain
#              writes (acknowledged by the old leader after the new one
#              acknowledged its first), and the time until the old leader
#              streams again
#   idle       the HA machinery of each node (pg_ha: its HA worker, which
#              serves the REST API too; Patroni: its python process) over
#              --idle seconds:
#              RSS, PSS and private memory (smaps_rollup), CPU seconds per
#              minute; Consul HTTP requests per node and minute (each
#              node's client agent logs, at debug level, one "Request
#              finished" line per request)
# and once, apart from the tools' clusters:
#   pgbench    TPS of a server without pg_ha and of servers with pg_ha
#              loaded and leading a one-node cluster (both profiles),
#              same settings, same scale, runs interleaved
# and, when asked for (not in the default phases; issue 15):
#   soak       --soak seconds (1800) of pgbench on all three nodes of a
#              cluster at the soak profile (pg_ha: ttl 2 s, loop_wait
#              500 ms, retry_timeout 750 ms; Patroni has none, ttl 20 is
#              its floor on Consul; --profiles soaks at others):
#              read-write through HAProxy's read-write port (it follows a
#              new leader), read-only (-S) straight to each replica, each
#              rate-limited (-R) so that the machine is loaded, not
#              saturated.  No fault: counted from outside, every time the
#              leader key (read on the Consul server every 100 ms) leaves
#              its holder, the fencing lines in each node's log, pgbench's
#              transactions and errors, the longest time between two
#              renewals of the key, the HA machinery's CPU and run-queue
#              wait.  --soak-selfcheck S stops (SIGSTOP) the leader's HA
#              worker for S seconds mid-soak: the counters must count it
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

# --netns: the scenario that needs network namespaces (the leader cut off
# from Consul and from its peers).  Started as root; PgHaTest::Netns
# creates the namespaces, keeps a root helper, moves this process into
# the hub namespace and drops root, all before PostgreSQL's test modules
# initialize.  Every node (pg1, pg2, pg3: HAProxy's server names) runs in
# a namespace of its own; Consul, HAProxy and the writers in the hub.
our $lab;
BEGIN
{
	if (grep { $_ eq '--netns' } @ARGV)
	{
		require PgHaTest::Netns;
		$lab = PgHaTest::Netns->setup(nodes => [qw(pg1 pg2 pg3)]);
	}
}

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgHaTest;

my %profiles = (
	pg_ha => {
		# pg_ha's defaults since commit aa582da (Patroni's are 30 / 10 / 10)
		default => { ttl => '10s', loop_wait => '2s', retry_timeout => '3s', loop_wait_s => 2 },
		# bench/failover.pl's fast profile: loop_wait + 2 * retry_timeout <= ttl
		fast => { ttl => '3s', loop_wait => '500ms', retry_timeout => '1s', loop_wait_s => 0.5 },
		# the soak phase's (issue 15): ttl 2 s, pg_ha's floor (pg_ha.ttl and
		# the config key refuse less), loop_wait 500 ms, and the largest
		# retry_timeout pgha_timing_valid() accepts: loop_wait + 2 *
		# retry_timeout <= ttl, so (2000 - 500) / 2 = 750 ms
		soak => { ttl => '2s', loop_wait => '500ms', retry_timeout => '750ms', loop_wait_s => 0.5 },
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
		# no soak profile: ttl 20 is Patroni's floor on Consul (above);
		# --profiles fast --phases soak soaks it at its fast profile
	},);

# in the order of the report: the realistic crashes first
my @all_scenarios = qw(killall freeze hostloss partition kill9 kill9ha stop switchover);
my %scenarios_of = (
	pg_ha   => [qw(killall freeze hostloss kill9 stop switchover)],
	patroni => [qw(killall freeze hostloss kill9 kill9ha stop switchover)],);

my %label = (
	killall    => 'whole process tree of the leader killed (SIGSTOP all, then SIGKILL)',
	freeze     => 'leader node frozen (SIGSTOP all), resumed after the failover',
	hostloss   => 'host lost: the leader\'s processes and its Consul agent killed',
	partition  => 'leader cut off from Consul and from its peers (network namespaces)',
	kill9      => 'kill -9 of the leader\'s postmaster alone',
	kill9ha    => 'kill -9 of the leader\'s patroni daemon alone',
	stop       => 'graceful stop of the leader',
	switchover => 'switchover',);

my $tools        = 'pg_ha,patroni';
my $profile_list;       # default: default,fast (the soak phase: soak)
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
my $scenario_list;      # default: every scenario of each tool
my $freeze_hold = 1;    # seconds frozen after the new leader's first acknowledged write
# the soak phase (issue 15): --soak seconds of pgbench on all three nodes,
# leader changes and fencings counted from outside and from the logs
my $soak_s = 1800;
my $soak_clients = 4;            # read-write, through HAProxy's primary port
my $soak_threads = 2;
my $soak_replica_clients = 2;    # -S, straight to each replica
my $soak_rate = 2000;            # TPS, all read-write clients together (-R); 0: unthrottled
my $soak_replica_rate = 1000;    # TPS per replica (-R); 0: unthrottled
my $soak_poll_ms = 100;          # the leader key, read on the Consul server
my $soak_selfcheck = 0;          # > 0: the leader's HA machinery frozen that many seconds mid-soak

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
	'haproxy-retries=i' => \$haproxy_retries,
	'scenarios=s'     => \$scenario_list,
	'freeze-hold=f'   => \$freeze_hold,
	'soak=i'          => \$soak_s,
	'soak-clients=i'  => \$soak_clients,
	'soak-threads=i'  => \$soak_threads,
	'soak-replica-clients=i' => \$soak_replica_clients,
	'soak-rate=i'     => \$soak_rate,
	'soak-replica-rate=i' => \$soak_replica_rate,
	'soak-poll-ms=i'  => \$soak_poll_ms,
	'soak-selfcheck=f' => \$soak_selfcheck,
	'netns'           => sub { },
	'include-runs=s'  => \my $include_runs,)
  or die "usage: $0 [--tools pg_ha,patroni] [--profiles default,fast] [--runs N] "
  . "[--phases scenarios,idle,pgbench,soak] [--idle SECONDS] [--pgbench-runs N] "
  . "[--pgbench-time SECONDS] [--pgbench-scale N] [--soak SECONDS] [--soak-clients N] "
  . "[--soak-replica-clients N] [--soak-rate TPS] [--soak-replica-rate TPS] [--soak-selfcheck SECONDS] "
  . "[--results-dir DIR] [--seed N]\n";
my $profiles_given = defined $profile_list;
$profile_list //= 'default,fast';
if ($lab)
{
	# namespaces: the partition alone (the rest runs on loopback)
	$_ = [qw(partition)] foreach values %scenarios_of;
	$phases = 'scenarios';
}
elsif (defined $scenario_list)
{
	my %want = map { $_ => 1 } split /,/, $scenario_list;
	foreach my $s (keys %want)
	{
		die "unknown scenario '$s' (" . join(', ', @all_scenarios) . ")\n"
		  unless grep { $_ eq $s } @all_scenarios;
	}
	foreach my $t (keys %scenarios_of) { $scenarios_of{$t} = [ grep { $want{$_} } @{ $scenarios_of{$t} } ]; }
}
my @tools    = split /,/, $tools;
my @profiles = split /,/, $profile_list;
my %phase    = map { $_ => 1 } split /,/, $phases;
%phase = (scenarios => 1) if $lab;
foreach my $ph (keys %phase)
{
	die "unknown phase '$ph' (scenarios, idle, pgbench, soak)\n"
	  unless grep { $_ eq $ph } qw(scenarios idle pgbench soak);
}
foreach my $t (@tools)
{
	die "unknown tool '$t' (pg_ha, patroni)\n" unless $profiles{$t};
}
# a profile some tool lacks (soak: pg_ha only) is skipped for that tool
foreach my $p (@profiles)
{
	my %known = map { %{ $profiles{$_} } } @tools;
	die "unknown profile '$p' for @tools (" . join(', ', sort keys %known) . ')'
	  . ($p eq 'soak' ? '; Patroni has no soak profile: its ttl cannot go below 20 on Consul' : '') . "\n"
	  unless grep { $profiles{$_}{$p} } @tools;
}
# the soak phase: at the soak profile unless --profiles says otherwise
my @soak_profiles = $profiles_given ? @profiles : ('soak');
die "--soak must be at least 10 seconds\n" if $phase{soak} && $soak_s < 10;
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

# $pid and all its descendants (one scan of /proc)
sub tree_of
{
	my (@roots) = @_;
	my %kids;
	foreach my $pid (all_pids())
	{
		open my $fh, '<', "/proc/$pid/stat" or next;
		my $stat = <$fh> // '';
		close $fh;
		push @{ $kids{$1} }, $pid if $stat =~ /\)\s+\S\s+(\d+)\s/;
	}
	my (%seen, @out);
	my @todo = grep { defined } @roots;
	while (defined(my $p = shift @todo))
	{
		next if $seen{$p}++;
		push @out, $p;
		push @todo, @{ $kids{$p} || [] };
	}
	return @out;
}

# Every process of a node: pg_ha: the postmaster, its descendants
# (pg_ha_ctl release/rejoin included) and whatever else runs in its data
# directory; Patroni: the daemon, its descendants (postgres) and the same.
sub node_pids
{
	my ($c, $n) = @_;
	my $data = $n->{pg}->data_dir;
	my @roots = (postmaster_pid($data), processes_in($data));
	push @roots, $n->{pid} if $c->{tool} eq 'patroni' && pid_state($n->{pid}) eq 'alive';
	return grep { pid_state($_) ne 'gone' } tree_of(@roots);
}

# SIGSTOP to every process of the node (and @extra), again until no new
# one shows up (one forked while the list was made); returns them all.
sub freeze_node
{
	my ($c, $n, $first, @extra) = @_;
	my %stopped;
	for my $round (1 .. 10)
	{
		# the first round with the list made before the fault's clock
		# started: a scan of /proc takes a while on a loaded machine
		my @new = grep { !$stopped{$_} } ($round == 1 && $first ? @$first : node_pids($c, $n), @extra);
		last unless @new;
		kill 'STOP', @new;
		$stopped{$_} = 1 for @new;
	}
	return sort { $a <=> $b } keys %stopped;
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

# The address clients and peers reach a node at: 127.0.0.1, or with
# --netns its address on the data network.
sub node_host
{
	my ($n) = @_;
	return $lab ? $lab->addr($n->{srv}, 'data') : '127.0.0.1';
}

# Until a process is gone: our child (reaped), or with --netns a process
# the namespaces' helper started (and reaps).
sub wait_gone
{
	my ($pid, $timeout) = @_;
	return wait_child($pid, $timeout) unless $lab;
	my $deadline = now() + $timeout;
	while (pid_state($pid) eq 'alive')
	{
		return 0 if now() >= $deadline;
		Time::HiRes::sleep(0.05);
	}
	return 1;
}

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
		my $h = node_host($n);
		$cfg =~ s/(server $srv) 127\.0\.0\.1:$default_pg{$srv} (.*) port $default_api{$srv}$/$1 $h:$p $2 port $a/mg;
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

# One Consul server agent for the cluster, and one client agent per node
# (the node's local agent, as in a deployment: PgHaTest::ConsulCluster's
# layout with one server).  The harness asks the server; each node talks
# to its own client agent only, so that each client agent's log counts
# one node's requests, and a host loss can take a node's agent with it.
sub start_consul
{
	my ($c, @names) = @_;
	my $base = "consul_$c->{tool}_$c->{profile}";
	if ($lab)
	{
		# one agent in the hub, reached by the nodes over the dcs network
		# (as regress/faults/010_consul_partition.pl)
		$c->{consul} = PgHaTest::Consul->start(name => $base,
			extra_config => { client_addr => '127.0.0.1 ' . $lab->hub_addr('dcs') });
		$c->{consul_url} = 'http://' . $lab->hub_addr('dcs') . ':' . $c->{consul}->http_port;
		return;
	}
	$c->{consul} = PgHaTest::Consul->start(name => $base, persistent => 1);
	my $join = '127.0.0.1:' . $c->{consul}->ports->{serf_lan};
	foreach my $name (@names)
	{
		$c->{agent}{$name} = PgHaTest::Consul->start(name => "${base}_c$name", client => 1,
			extra_config => { retry_join => [$join], retry_interval => '1s' });
	}
	return;
}

sub stop_consul
{
	my ($c) = @_;
	eval { $_->stop } foreach values %{ $c->{agent} || {} };
	eval { $c->{consul}->stop } if $c->{consul};
	return;
}

# %pg: PostgreSQL settings over the TAP nodes' (the soak phase's
# shared_buffers and max_connections)
sub setup_pg_ha
{
	my ($profile_name, %pg) = @_;
	my $p = $profiles{pg_ha}{$profile_name};
	my $cluster = 'bench';
	my $c = { tool => 'pg_ha', profile => $profile_name,
		prefix => "service/$cluster", cluster => $cluster, nodes => [] };
	start_consul($c, map { "h${profile_name}$_" } 1 .. 3);
	# the local settings give the config key its first timings (pg_ha
	# writes them there at initialization); they are set again through
	# the key below, which is where every node reads them from
	my %common = (cluster => $cluster,
		ttl => $p->{ttl}, loop_wait => $p->{loop_wait}, retry_timeout => $p->{retry_timeout},
		extra_conf => ['log_statement = none', map { "$_ = '$pg{$_}'" } sort keys %pg]);
	my $first;
	foreach my $i (1 .. 3)
	{
		my $name = "h${profile_name}$i";
		my %o = $lab ? $lab->node_opts("pg$i", consul => $c->{consul}, %common)
		  : (%common, consul => $c->{agent}{$name});
		my $pg = $i == 1 ? PgHaTest::new_node($name, %o)
		  : PgHaTest::new_replica($name, $first->{pg}, %o);
		# the last one counts: a replica's file starts as a copy of pg1's
		my @api = slurp_file($pg->data_dir . '/postgresql.conf') =~ /^pg_ha\.api_listen = '[^':]*:(\d+)'/mg;
		my $n = { name => $name, srv => "pg$i", pg => $pg, api_port => $api[-1] };
		push @{ $c->{nodes} }, $n;
		$lab ? $lab->start_node($pg, $n->{srv}) : $pg->start;
		if ($i == 1)
		{
			$first = $n;
			wait_for("$name takes writes", 60,
				sub { leader_name($c) eq $name && in_recovery($n) eq 'f' })
			  or die "$name did not become the leader\n";
			# the timings in the config key (seconds), where every node
			# reads them: loop_wait first, so that the rule holds at
			# each step
			$pg->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pg_ha');
			foreach my $k (qw(loop_wait retry_timeout ttl))
			{
				my $v = $p->{$k};
				$v = $1 / 1000 if $v =~ /^(\d+)ms$/;
				$v =~ s/s$//;
				$pg->safe_psql('postgres', "SELECT pg_ha_set_config('$k', '$v')");
			}
		}
	}
	$c->{haproxy} = start_haproxy(@{ $c->{nodes} });
	push @cleanup, sub { teardown($c) };
	record_config($c);
	return $c;
}

# The timings as the DCS holds them (pg_ha's config key, Patroni's
# /config), and as pg_ha's nodes have them in force, for the report.
sub record_config
{
	my ($c) = @_;
	my $key = eval { $c->{consul}->kv_get("$c->{prefix}/config") } // '(none)';
	my %t;
	$t{$1} = $2 while $key =~ /"(ttl|loop_wait|retry_timeout)"\s*:\s*"?([\d.]+)/g;
	$c->{dcs_timings} = join(' / ', map { $t{$_} // '?' } qw(ttl loop_wait retry_timeout));
	my $in_force = '';
	if ($c->{tool} eq 'pg_ha')
	{
		wait_for('every node has the config key\'s timings in force', 30, sub {
				my @v = map { query($_, "SELECT ttl || '/' || loop_wait || '/' || retry_timeout FROM pg_ha_node") // '' }
				  @{ $c->{nodes} };
				$in_force = join(', ', map { $c->{nodes}[$_]{name} . ' ' . $v[$_] } 0 .. $#v);
				my %u = map { $_ => 1 } @v;
				return keys(%u) == 1 && $v[0] ne '';
			}, 0.5);
	}
	say_out("# $c->{tool} $c->{profile}: DCS config key $c->{prefix}/config: ttl / loop_wait / retry_timeout = "
		  . "$c->{dcs_timings}" . ($in_force ? "; in force (pg_ha_node): $in_force" : ''));
	return;
}

sub patroni_yaml
{
	my ($c, $n, $p, %pg) = @_;
	# the node's own client agent (--netns: the hub's agent)
	my ($consul_hostport) = ($c->{consul_url} // $c->{agent}{ $n->{name} }->http_url) =~ m{^http://(.*)$};
	my $pg = $n->{pg};
	my $host = node_host($n);
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
	foreach my $k (sort keys %pg)
	{
		$params =~ s/^(\s+\Q$k\E:).*\n//m;
		$params .= "        $k: '$pg{$k}'\n";
	}
	return <<"EOT";
scope: $c->{cluster}
namespace: /$c->{namespace}/
name: $n->{name}
log:
  level: INFO
restapi:
  listen: $host:$n->{api_port}
  connect_address: $host:$n->{api_port}
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
  listen: $host:$port
  connect_address: $host:$port
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
    listen_addresses: $host
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
    - host all all 10.250.2.0/24 trust
    - host replication all 10.250.2.0/24 trust
watchdog:
  mode: 'off'
EOT
}

sub start_patroni
{
	my ($n) = @_;
	$n->{pid} = $lab ? $lab->spawn($n->{srv}, [ $patroni_bin, $n->{yml} ], log => $n->{log})
	  : spawn($n->{log}, $patroni_bin, $n->{yml});
	return;
}

sub setup_patroni
{
	my ($profile_name, %pg) = @_;
	my $p = $profiles{patroni}{$profile_name};
	# its own namespace and scope: never pg_ha's service/bench
	my $c = { tool => 'patroni', profile => $profile_name,
		namespace => 'patroni', cluster => 'pbench', prefix => 'patroni/pbench', nodes => [] };
	start_consul($c, map { "p${profile_name}$_" } 1 .. 3);
	foreach my $i (1 .. 3)
	{
		my $name = "p${profile_name}$i";
		my $pg = PostgreSQL::Test::Cluster->new($name);
		my $dir = PostgreSQL::Test::Utils::tempdir("patroni_$name");
		my $n = { name => $name, srv => "pg$i", pg => $pg, dir => $dir,
			api_port => PostgreSQL::Test::Cluster::get_free_port(),
			yml => "$dir/patroni.yml",
			log => "$PostgreSQL::Test::Utils::log_path/compare_patroni_$name.log" };
		PostgreSQL::Test::Utils::append_to_file($n->{yml}, patroni_yaml($c, $n, $p, %pg));
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
	record_config($c);
	# patronictl's configuration: the same Consul, Patroni's namespace
	my ($consul_hostport) = $c->{consul}->http_url =~ m{^http://(.*)$};
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
		# a run that failed while the node was frozen
		my @p = node_pids($c, $n);
		kill 'CONT', @p if @p;
	}
	foreach my $n (@{ $c->{nodes} })
	{
		if ($n->{pid} && pid_state($n->{pid}) eq 'alive')
		{
			kill 'TERM', $n->{pid};
			wait_gone($n->{pid}, 60) or do { kill 'KILL', $n->{pid}; wait_gone($n->{pid}, 10) };
		}
		my $pm = postmaster_pid($n->{pg}->data_dir);
		if (defined $pm && pid_state($pm) eq 'alive')
		{
			system('pg_ctl', '-D', $n->{pg}->data_dir, '-m', 'immediate', '-w', 'stop');
		}
		$n->{pg}->{_pid} = undef;
	}
	stop_consul($c);
	return;
}

# ---------------------------------------------------------------------
# The writer (as in bench/failover.pl), through HAProxy's read-write port.

sub multi_host_conninfo
{
	my ($c) = @_;
	return 'host=' . join(',', map { node_host($_) } @{ $c->{nodes} })
	  . ' port=' . join(',', map { $_->{pg}->port } @{ $c->{nodes} })
	  . ' dbname=postgres target_session_attrs=read-write connect_timeout=1';
}

# How bench/writer names a node in its CSV's server column.
sub server_id { return node_host($_[0]) . ':' . $_[0]->{pg}->port; }

sub start_writer
{
	my ($c, $tag, $how, $node) = @_;
	my %w = (tag => $tag, csv => "$results_dir/$tag.csv", out => "$results_dir/$tag.out",
		pos => 0, buf => '', acks => 0);
	# through HAProxy's read-write port; (direct) straight to the nodes
	# with a libpq multi-host connection string, as bench/failover.pl
	# does; (pinned) to one node only, whatever its role: the probe of
	# split-brain writes, checked at the end against the final leader
	my $conninfo = $how eq 'direct' ? multi_host_conninfo($c)
	  : $how eq 'pinned' ? 'host=' . node_host($node) . ' port=' . $node->{pg}->port . ' dbname=postgres connect_timeout=1'
	  : 'host=127.0.0.1 port=' . $c->{haproxy}->port('primary')
	  . ' dbname=postgres target_session_attrs=read-write connect_timeout=1';
	$conninfo .= ' application_name=bench_writer';
	$w{pid} = spawn($w{out}, $writer, '--duration', 3600, '--interval', $interval_ms,
		'--csv', $w{csv}, '--table', "bench_$tag", '--verify-timeout', 60,
		'--verify-conninfo', multi_host_conninfo($c), $conninfo);
	return \%w;
}

# [t_s, ok, server] of every attempt in a writer's CSV
sub writer_rows
{
	my ($w) = @_;
	open my $fh, '<', $w->{csv} or return ();
	my @rows;
	while (my $line = <$fh>)
	{
		push @rows, [ $1 / 1000, $2, $3 ] if $line =~ /^([0-9.]+),([01]),[^,]*,[^,]*,([^,]*),/;
	}
	close $fh;
	return @rows;
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
	my $w = start_writer($c, $tag, 'haproxy');
	my $wd = start_writer($c, "${tag}_direct", 'direct');
	my $wp = start_writer($c, "${tag}_pinned", 'pinned', $old);
	my $stop_all = sub { stop_writer($_) foreach ($w, $wd, $wp); };
	wait_for("the writer's first $acks_wanted acknowledged writes", 60 + 2 * $p->{loop_wait_s},
		sub { follow_writer($w); $w->{acks} >= $acks_wanted })
	  or do { $stop_all->(); return $fail->('writer did not write') };

	my $data = $old->{pg}->data_dir;
	my $old_pm = postmaster_pid($data);
	my $ctl_pid;
	my $agent = $c->{agent}{ $old->{name} };
	my @frozen;
	my @peers = grep { $_ != $old } @{ $c->{nodes} };
	# the partition: no path to Consul (the dcs link is down), none to or
	# from the other nodes (their packets dropped both ways on the data
	# network); the clients in the hub still reach the old leader
	my $cut = sub {
		my ($on) = @_;
		$lab->link($old->{srv}, 'dcs', $on ? 'down' : 'up');
		foreach my $o (@peers)
		{
			$lab->block($old->{srv}, node_host($o), $on ? 'on' : 'off');
			$lab->block($o->{srv}, node_host($old), $on ? 'on' : 'off');
		}
	};
	my $partitioned = 0;
	my @pre = $scenario =~ /^(killall|freeze|hostloss)$/ ? node_pids($c, $old) : ();
	$r{fault_wall} = wall();
	my $t_fault = now();
	$r{t_fault_ms} = $t_fault * 1000;
	if ($scenario eq 'kill9')
	{
		kill 'KILL', $old_pm;
	}
	elsif ($scenario eq 'partition')
	{
		$cut->(1);
		$partitioned = 1;
	}
	elsif ($scenario =~ /^(killall|freeze|hostloss)$/)
	{
		# every process first stopped, so that none sees another die
		@frozen = freeze_node($c, $old, \@pre, $scenario eq 'hostloss' ? ($agent->pid) : ());
		$r{processes} = scalar @frozen;
		if ($scenario ne 'freeze')
		{
			kill 'KILL', @frozen;
			$agent->kill9 if $scenario eq 'hostloss';    # reaps it
			wait_child($old->{pid}, 10) if $c->{tool} eq 'patroni';
		}
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
	  or do {
		kill 'CONT', @frozen if @frozen;
		$cut->(0) if $partitioned;
		$stop_all->();
		return $fail->('writes were not acknowledged again');
	  };
	$r{new_leader}       = $new_name;
	$r{fault_to_key_s}   = defined $t_key ? $t_key - $t_fault : undef;
	$r{fault_to_ack_s}   = $t_ack - $t_fault;
	$r{fault_to_error_s} = $t_err - $t_fault;
	my $new = node_named($c, $new_name);

	# two writable nodes?  The old leader, asked directly (not through
	# HAProxy), while the new leader takes writes (a frozen one once it
	# resumed, a cut off one before the partition heals)
	my $probe = sub {
		$r{old_writable} = 'no';
		return if $new == $old;
		my $ok = query($old, 'CREATE TABLE IF NOT EXISTS split_probe (t timestamptz); '
			  . 'INSERT INTO split_probe VALUES (now()); SELECT 1');
		$r{old_writable} = 'YES' if defined $ok && $ok eq '1';
	};
	$probe->() if $scenario eq 'partition';

	# the frozen node resumes, a while after the new leader took writes
	# (the partition heals as long after)
	my $t_resume;
	if ($scenario eq 'freeze' || $scenario eq 'partition')
	{
		Time::HiRes::sleep($freeze_hold);
		$scenario eq 'freeze' ? kill('CONT', @frozen) : $cut->(0);
		$t_resume = now();
		$r{fault_to_resume_s} = $t_resume - $t_fault;
	}
	$probe->() unless $scenario eq 'partition';

	# the old leader back as a replica: timed from its restart by hand
	# (after a host loss, the restart of its Consul agent comes first),
	# from the resume of a frozen node, or, when the HA tool restarts it
	# itself, from the fault
	my $t_restart = $t_resume // $t_fault;
	if ($c->{tool} eq 'pg_ha' && $scenario =~ /^(kill9|stop|killall|hostloss)$/)
	{
		wait_for("the processes of the old $old->{name} are gone", 60,
			sub { !processes_in($data) && pid_state($old_pm) eq 'gone' })
		  or do { $stop_all->(); return $fail->("old processes of $old->{name} remain") };
		$r{old_gone_s} = now() - $t_ack;
		$t_restart = now();
		$agent->start_again if $scenario eq 'hostloss';
		# the Cluster object still holds the killed or stopped pid
		$old->{pg}->{_pid} = undef;
		$old->{pg}->start(fail_ok => 1) unless defined postmaster_pid($data)
		  && pid_state(postmaster_pid($data)) eq 'alive';
	}
	elsif ($c->{tool} eq 'patroni' && $scenario =~ /^(kill9ha|stop|killall|hostloss)$/)
	{
		# the daemon must have finished (stop) before it starts again
		wait_child($old->{pid}, 120) or do { $stop_all->(); return $fail->('patroni did not exit') };
		if ($scenario ne 'kill9ha' && $scenario ne 'stop')
		{
			wait_for("the processes of the old $old->{name} are gone", 60,
				sub { !processes_in($data) && pid_state($old_pm) eq 'gone' })
			  or do { $stop_all->(); return $fail->("old processes of $old->{name} remain") };
		}
		$r{old_gone_s} = now() - $t_ack;
		$t_restart = now();
		$agent->start_again if $scenario eq 'hostloss';
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
		  or do { $stop_all->(); return $fail->("$old->{name} did not rejoin") };
		$r{rejoin_s} = now() - $t_restart;
		$r{old_writable_s} = $t_old_w - $t_fault if defined $t_old_w;
	}

	my $acks = $w->{acks};
	wait_for('writes after the rejoin', 60, sub { follow_writer($w); $w->{acks} >= $acks + $warmup_acks });
	my $res = stop_writer($w);
	my $resd = stop_writer($wd);
	my $resp = stop_writer($wp);
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

	# Split-brain writes: acknowledged by the old leader (any of the three
	# writers, the one pinned to it above all) after the new leader
	# acknowledged its first write, all on the writers' one clock
	my @rows = map { writer_rows($_) } ($w, $wd, $wp);
	my ($old_id, $new_id) = (server_id($old), server_id($new));
	my ($t_first_new) = sort { $a <=> $b } map { $_->[0] }
	  grep { $_->[1] && $_->[2] eq $new_id && $_->[0] > $t_fault } @rows;
	if ($new == $old)
	{
		$r{split_brain} = 0;
	}
	elsif (defined $t_first_new)
	{
		my @late = sort { $a <=> $b } map { $_->[0] }
		  grep { $_->[1] && $_->[2] eq $old_id && $_->[0] > $t_first_new } @rows;
		$r{split_brain} = scalar @late;
		$r{split_brain_until_s} = $late[-1] - $t_fault if @late;
		$r{fault_to_new_ack_s} = $t_first_new - $t_fault;
	}
	my ($t_last_old) = sort { $b <=> $a } map { $_->[0] }
	  grep { $_->[1] && $_->[2] eq $old_id } @rows;
	$r{last_old_ack_s} = defined $t_last_old ? $t_last_old - $t_fault : undef;
	$r{pinned_acked} = $resp->{acknowledged_writes};
	$r{pinned_lost}  = $resp->{lost_acknowledged_writes};
	say_out(sprintf('# %s %s %-10s run %d: %s -> %s, new leader key %s s, unavailable %s ms, fault->ack %.2f s, '
			  . 'rejoin %s s, old leader writable: %s, split-brain writes %s, acked %s, lost %s; direct writer %s ms, lost %s; '
			  . 'pinned to the old leader: acked %s, lost %s',
			$c->{tool}, $c->{profile}, $scenario, $i, $old->{name}, $new_name,
			fmt('%.2f', $r{fault_to_key_s}),
			$r{gap_ms} // '?', $r{fault_to_ack_s}, fmt('%.1f', $r{rejoin_s}),
			$r{old_writable}, $r{split_brain} // '?', $r{acked} // '?', $r{lost} // '?', $r{direct_gap_ms} // '?',
			$r{direct_lost} // '?', $r{pinned_acked} // '?', $r{pinned_lost} // '?'));
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

# The HTTP requests each node made to its own client agent so far: its
# count, and counts by kind (method, path with the node's names and ids
# replaced, whether it was a blocking query).  The agent, at debug level,
# logs one "Request finished" line per request.
sub consul_requests
{
	my ($c) = @_;
	my (%count, %by);
	foreach my $n (@{ $c->{nodes} })
	{
		my $agent = $c->{agent}{ $n->{name} } or next;
		$count{ $n->{name} } = 0;
		$by{ $n->{name} } = {};
		open my $fh, '<', $agent->log_file or next;
		# from where the last call stopped: the logs of a busy run are
		# large, and only the lines since then count
		seek($fh, $c->{log_pos}{ $n->{name} } // 0, 0);
		while (my $line = <$fh>)
		{
			next unless $line =~ /Request finished: method=(\w+) url=(\S+)/;
			my ($m, $u) = ($1, $2);
			$count{ $n->{name} }++;
			my $q = $u =~ s/\?(.*)// ? $1 : '';
			$u =~ s/\Q$n->{name}\E/NODE/g;
			$u =~ s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/ID/g;
			my @flags = grep { $q =~ /(^|&)$_(=|&|$)/ } qw(recurse keys cas);
			push @flags, 'blocking' if $q =~ /(^|&)index=/;
			$by{ $n->{name} }{ "$m $u" . (@flags ? ' (' . join(', ', @flags) . ')' : '') }++;
		}
		$c->{log_pos}{ $n->{name} } = tell($fh);
		close $fh;
	}
	return (\%count, \%by);
}

sub idle
{
	my ($c) = @_;
	wait_stable($c, 240) or return { failed => 'no stable cluster' };
	my %pids = map { $_->{name} => [ ha_pids($c, $_) ] } @{ $c->{nodes} };
	my %cpu0 = map { my $n = $_; $n => sum(0, map { cpu_seconds($_) // 0 } @{ $pids{$n} }) } keys %pids;
	# where the agents' logs end now: the window's requests come after
	foreach my $n (@{ $c->{nodes} })
	{
		my $agent = $c->{agent}{ $n->{name} } or next;
		$c->{log_pos}{ $n->{name} } = -s $agent->log_file // 0;
	}
	my ($req0, $by0) = ({}, {});
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
	my $p = $profiles{ $c->{tool} }{ $c->{profile} };
	my $rounds_per_min = 60 / $p->{loop_wait_s};
	my %r = (tool => $c->{tool}, profile => $c->{profile}, secs => $secs,
		consul_per_min => sum(0, map { $req1->{$_} - ($req0->{$_} // 0) } keys %$req1) / $secs * 60,
		loop_wait_s => $p->{loop_wait_s}, nodes => {});
	my $leader = leader_name($c);
	foreach my $n (sort keys %pids)
	{
		my $role = $n eq $leader ? 'leader' : 'replica';
		my $per_min = (($req1->{$n} // 0) - ($req0->{$n} // 0)) / $secs * 60;
		$r{nodes}{$n} = { %{ $mem{$n} }, cpu_per_min => ($cpu1{$n} - $cpu0{$n}) / $secs * 60,
			procs => scalar @{ $pids{$n} }, role => $role, consul_per_min => $per_min };
		my $b1 = $by1->{$n} || {};
		my $b0 = $by0->{$n} || {};
		my %by = map { $_ => ($b1->{$_} - ($b0->{$_} // 0)) / $secs * 60 } keys %$b1;
		$r{consul_by}{$role}{$_} += $by{$_} / ($role eq 'leader' ? 1 : 2) foreach grep { $by{$_} > 0 } keys %by;
		say_out(sprintf('# idle %s %s %s (%s): %.1f Consul requests/min = %.2f per loop_wait: %s',
				$c->{tool}, $c->{profile}, $n, $role, $per_min, $per_min / $rounds_per_min,
				join(', ', map { sprintf('%s %.1f', $_, $by{$_}) } sort grep { $by{$_} > 0 } keys %by)));
	}
	say_out(sprintf('# idle %s %s: %.0f s, Consul %.0f requests/min (cluster); per node: %s', $c->{tool},
			$c->{profile}, $secs, $r{consul_per_min},
			join('; ', map { sprintf('%s (%s, %d procs) RSS %d kB PSS %d kB private %d kB CPU %.3f s/min',
						$_, $r{nodes}{$_}{role}, $r{nodes}{$_}{procs}, $r{nodes}{$_}{rss},
						$r{nodes}{$_}{pss}, $r{nodes}{$_}{private}, $r{nodes}{$_}{cpu_per_min}) }
				  sort keys %{ $r{nodes} })));
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
# Soak (issue 15): --soak seconds of pgbench on all three nodes at short
# timings, and what went wrong counted from outside (the leader key on the
# Consul server, pgbench's own output) and from each node's log.  It never
# asks the nodes whether they are fine.

# The log lines counted, per tool: [key, what they mean, pattern].  The
# verdict's "fencings of the leader" are the fenced ones: pg_ha logs
# `node "N" fenced: REASON` once each time a node enters the fenced state
# (pgha_set_fenced() in src/backend/worker/lease.c, on a node running as a primary: a lease
# that ran out, a key that is no longer its own, Consul out of reach once
# the lease ended, a demotion, a switchover, a key given up); the others
# say why, or what clients saw.
my %soak_patterns = (
	pg_ha => [
		[ fenced   => 'fenced (`pg_ha: node "N" fenced:`)', qr/pg_ha: node "[^"]*" fenced: / ],
		[ lost     => 'leader key no longer ours (a renewal rolled back)',
			qr/pg_ha: the leader key of cluster "[^"]*" is no longer ours/ ],
		[ gave_up  => 'gave up the leader key', qr/pg_ha: gave up the leader key of cluster/ ],
		[ decided  => 'decisions to fence or demote (`pg_ha: fence:`, `pg_ha: demote:`)',
			qr/pg_ha: (?:fence|demote): / ],
		[ refused  => 'commits refused without the lease (`pg_ha: cannot commit`)',
			qr/pg_ha: cannot (?:commit|roll back prepared transaction)/ ],
		[ no_conn  => 'connections refused while fenced', qr/pg_ha: node "[^"]*" is fenced and accepts no connections/ ],
		[ session  => 'Consul session invalidated (its check ran out)', qr/pg_ha: Consul session \S+ was invalidated/ ],
		[ consul   => 'Consul errors (`pg_ha: Consul at ... answers again`, one per episode)',
			qr/pg_ha: Consul at \S+ answers again/ ],
		[ acquired => 'took or acquired the leader key', qr/pg_ha: node "[^"]*" (?:took over|acquired) the leader key/ ],
	],
	patroni => [
		[ fenced   => 'demoted itself (`Demoting self (`)', qr/Demoting self \(/ ],
		[ lost     => 'could not update the leader lock', qr/failed to update leader lock/ ],
		[ loop     => 'loop time exceeded', qr/Loop time exceeded/ ],
		[ acquired => 'took the leader lock', qr/acquired session lock as a leader|promoted self to leader/ ],
	],);
# these are listed one by one in the report (the others only counted)
my %soak_listed = map { $_ => 1 } qw(fenced lost gave_up decided session loop);

sub read_from
{
	my ($file, $pos) = @_;
	open my $fh, '<', $file or return '';
	seek($fh, $pos // 0, 0);
	local $/;
	my $text = <$fh> // '';
	close $fh;
	return $text;
}

# [seconds on a CPU, seconds waiting on a run queue, times scheduled]
sub schedstat
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/schedstat" or return undef;
	my @f = split ' ', (<$fh> // '');
	close $fh;
	return @f >= 3 ? [ $f[0] / 1e9, $f[1] / 1e9, $f[2] ] : undef;
}

# the machine's CPU: (busy, total) jiffies since boot
sub machine_cpu
{
	open my $fh, '<', '/proc/stat' or return (0, 0);
	my $line = <$fh> // '';
	close $fh;
	my (undef, @f) = split ' ', $line;
	my $total = sum(0, @f[ 0 .. 7 ]);
	return ($total - $f[3] - $f[4], $total);
}

sub loadavg1
{
	open my $fh, '<', '/proc/loadavg' or return undef;
	my ($l) = split ' ', (<$fh> // '');
	close $fh;
	return $l;
}

sub soak_log_file { my ($c, $n) = @_; return $c->{tool} eq 'pg_ha' ? $n->{pg}->logfile : $n->{log}; }

# What one pgbench run printed: its transactions, failures and aborts.
sub parse_pgbench
{
	my ($text) = @_;
	my %s = (processed => 0, failed => 0, aborted => 0, errors => {});
	$s{processed} = $1 if $text =~ /number of transactions actually processed: (\d+)/;
	$s{failed} = $1 if $text =~ /number of failed transactions: (\d+)/;
	$s{report} = $text =~ /number of transactions actually processed/ ? 1 : 0;
	$s{tps} = $1 if $text =~ /tps = ([\d.]+) \(without initial connection time\)/;
	$s{lag_max} = $1 if $text =~ /rate limit schedule lag: avg [\d.]+ \(max ([\d.]+)\) ms/;
	$s{progress} = [ $text =~ /^progress: [\d.]+ s, ([\d.]+) tps/mg ];
	foreach my $line (split /\n/, $text)
	{
		my $e;
		if ($line =~ /client \d+ (?:script \d+ )?aborted\b[:;]?\s*(.*)$/)
		{
			$s{aborted}++;
			$e = $1;
			$e =~ s/^in command \d+ (?:query \d+: |\([^)]*\) of script \d+; )//;
		}
		elsif ($line =~ /pgbench: error: (.*)$/ && $line !~ /Run was aborted/)
		{
			$e = $1;
		}
		next unless defined $e;
		$e =~ s/\s+/ /g;
		$e = substr($e, 0, 160);
		$s{errors}{$e}++;
	}
	return \%s;
}

sub soak
{
	my ($c) = @_;
	my $p = $profiles{ $c->{tool} }{ $c->{profile} };
	my $tag = "soak_$c->{tool}_$c->{profile}";
	my %r = (tool => $c->{tool}, profile => $c->{profile}, timings => $c->{dcs_timings}, nodes => {});
	my ($ttl_ms) = $p->{ttl} =~ /^(\d+)/;
	$ttl_ms *= 1000 if $p->{ttl} =~ /^\d+s?$/;

	my $leader = wait_stable($c, 240) or return { %r, failed => 'no stable cluster' };
	$r{leader_start} = $leader->{name};
	my @replicas = grep { $_ != $leader } @{ $c->{nodes} };

	# the tables, once, on the leader; the replicas replay them
	say_out("# soak $c->{tool} $c->{profile}: pgbench -i -s $pgbench_scale on $leader->{name} (" . wall() . ')');
	my $ipid = spawn("$results_dir/$tag.init.log", "$bindir/pgbench", '-i', '-q', '-s', $pgbench_scale,
		'-h', node_host($leader), '-p', $leader->{pg}->port, 'postgres');
	wait_child($ipid, 900) && $? == 0 or return { %r, failed => "pgbench -i failed (see $tag.init.log)" };
	query($leader, 'CHECKPOINT');
	my $lsn = query($leader, 'SELECT pg_current_wal_lsn()') // return { %r, failed => 'no LSN on the leader' };
	foreach my $n (@replicas)
	{
		wait_for("$n->{name} replays the pgbench tables", 300,
			sub { (query($n, "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn") // '') eq 't' }, 0.5)
		  or return { %r, failed => "$n->{name} did not replay the pgbench tables" };
	}
	wait_stable($c, 120) or return { %r, failed => 'no stable cluster after pgbench -i' };

	# the load: read-write through HAProxy's read-write port (it follows
	# a new leader), read-only straight to each replica; runs of at most a
	# minute, started again as soon as one ends early, so that clients
	# pgbench gave up on (an error aborts a client) are back within a minute
	my @streams = ({ name => 'rw', label => 'read-write, through HAProxy (the leader)',
			clients => $soak_clients, threads => min_of($soak_threads, $soak_clients), rate => $soak_rate,
			host => '127.0.0.1', port => $c->{haproxy}->port('primary'), opts => [] });
	foreach my $n (@replicas)
	{
		push @streams, { name => "ro_$n->{name}", label => "read-only (-S), straight to $n->{name}",
			clients => $soak_replica_clients, threads => 1, rate => $soak_replica_rate,
			host => node_host($n), port => $n->{pg}->port, opts => ['-S'] };
	}
	foreach my $st (@streams)
	{
		$st->{log} = "$results_dir/${tag}_$st->{name}.log";
		$st->{segs} = [];
	}

	# where each node's log ends: the soak's lines come after
	my %log_pos = map { $_->{name} => (-s soak_log_file($c, $_) // 0) } @{ $c->{nodes} };
	my ($busy0, $total0) = machine_cpu();
	my (%ha_last, %ha_sum, @load);
	my $first_sample = 1;
	my $sample_ha = sub {
		foreach my $n (@{ $c->{nodes} })
		{
			foreach my $pid (ha_pids($c, $n))
			{
				my $cpu = cpu_seconds($pid) // next;
				my $ss = schedstat($pid) // [ 0, 0, 0 ];
				my $cur = [ $cpu, $ss->[1], $ss->[2] ];
				# a worker started during the soak counts from its start
				my $was = $ha_last{$pid} // ($first_sample ? $cur : [ 0, 0, 0 ]);
				$ha_sum{ $n->{name} }[$_] += $cur->[$_] - $was->[$_] for 0 .. 2;
				$ha_last{$pid} = $cur;
			}
			$ha_sum{ $n->{name} } //= [ 0, 0, 0 ];
		}
		push @load, loadavg1();
		$first_sample = 0;
	};
	$sample_ha->();

	my $t0 = now();
	$r{start_wall} = wall();
	my $t_end = $t0 + $soak_s;
	my $start_segment = sub {
		my ($st) = @_;
		my $secs = POSIX::floor(min_of(60, $t_end - now()));
		return if $secs < 1;
		PostgreSQL::Test::Utils::append_to_file($st->{log},
			sprintf("=== %s, %.1f s into the soak: pgbench for %d s\n", wall(), now() - $t0, $secs));
		my $seg = { t0 => now(), planned => $secs, pos => -s $st->{log} };
		$seg->{pid} = spawn($st->{log}, "$bindir/pgbench", '-n', '-c', $st->{clients}, '-j', $st->{threads},
			'-T', $secs, '-P', 10, ($st->{rate} ? ('-R', $st->{rate}) : ()), @{ $st->{opts} },
			'-h', $st->{host}, '-p', $st->{port}, 'postgres');
		push @{ $st->{segs} }, $seg;
		$st->{running} = $seg;
	};
	my $check_segment = sub {
		my ($st) = @_;
		my $seg = $st->{running} or return;
		return unless waitpid($seg->{pid}, WNOHANG) == $seg->{pid};
		delete $spawned{ $seg->{pid} };
		$seg->{exit} = $? >> 8;
		$seg->{secs} = now() - $seg->{t0};
		$seg->{end} = -s $st->{log};
		$seg->{early} = $seg->{secs} < $seg->{planned} - 2 ? 1 : 0;
		$st->{running} = undef;
		# after an early end, a second before the next try
		$st->{next_start} = now() + ($seg->{early} ? 1 : 0);
	};
	$start_segment->($_) foreach @streams;
	say_out(sprintf('# soak %s %s: %d s from %s UTC, leader %s; load: %s', $c->{tool}, $c->{profile}, $soak_s,
			$r{start_wall}, $leader->{name},
			join('; ', map { sprintf('%s: -c %d -j %d%s', $_->{label}, $_->{clients}, $_->{threads},
						$_->{rate} ? " -R $_->{rate}" : ' (unthrottled)') } @streams)));

	# the leader key on the Consul server, every --soak-poll-ms: who holds
	# it (its value, while a session locks it), and each new version
	my (@events, $state, $holder, $last_named, $t_version, $index, $stamp);
	my %k = (left => 0, to_other => 0, none => 0, none_longest => 0, renewals => 0, polls => 0, poll_errors => 0,
		poll_gap => 0, version_gap => 0, stamp_gap => undef, over_half_ttl => 0);
	my ($t_none, $t_poll, $selfcheck, $next_sample);
	$next_sample = $t0 + 5;
	# mid-soak, off the pgbench runs' 60 s boundaries
	my $t_freeze = $soak_selfcheck > 0 ? $t0 + max_of(5, $soak_s / 2 - 15) : undef;
	while (now() < $t_end)
	{
		my $t = now();
		$k{poll_gap} = max_of($k{poll_gap}, $t - $t_poll) if defined $t_poll;
		$t_poll = $t;
		my $e = eval { $c->{consul}->kv_get_full("$c->{prefix}/leader") };
		if ($@)
		{
			$k{poll_errors}++;
		}
		else
		{
			$k{polls}++;
			my $h = $e && ($e->{Session} // '') ne '' ? $e->{Value} // '' : '';
			my $s = $h ne '' ? "$h/$e->{Session}" : '';
			my $i = $e ? $e->{ModifyIndex} // 0 : 0;
			my $f = $e && $c->{tool} eq 'pg_ha' ? ($e->{Flags} // 0) : undef;
			my $st = defined $f ? ($f >> 32) & 0x7fffffff : undef;
			if (!defined $state)
			{
				($state, $holder, $t_version, $index, $stamp) = ($s, $h, $t, $i, $st);
				$last_named = $h if $h ne '';
			}
			elsif ($s ne $state)
			{
				# the key left its holder: another holder, none, or the
				# same one under a new session
				$k{left}++ if $holder ne '';
				$k{to_other}++ if $h ne '' && defined $last_named && $h ne $last_named;
				if ($h eq '')
				{
					$k{none}++;
					$t_none = $t;
				}
				elsif (defined $t_none)
				{
					$k{none_longest} = max_of($k{none_longest}, $t - $t_none);
					$t_none = undef;
				}
				push @events, { t => $t - $t0, wall => wall(), from => $holder || '(none)', to => $h || '(none)',
					what => ($h eq '' ? 'no holder' : $h eq $holder ? 'the same holder, a new session'
						: $holder eq '' ? 'taken' : 'another holder')
					  . ($holder ne '' ? sprintf('; its last version seen %.0f ms before', 1000 * ($t - $t_version)) : '') };
				say_out(sprintf('# soak %s %s: +%.1f s (%s UTC) leader key %s -> %s', $c->{tool}, $c->{profile},
						$t - $t0, $events[-1]{wall}, $events[-1]{from}, $events[-1]{to}));
				($state, $holder, $t_version, $index, $stamp) = ($s, $h, $t, $i, $st);
				$last_named = $h if $h ne '';
			}
			elsif ($h ne '' && $i != $index)
			{
				# a new version by the same holder: a renewal
				$k{renewals}++;
				my $gap = $t - $t_version;
				$k{version_gap} = max_of($k{version_gap}, $gap);
				if (defined $st && defined $stamp)
				{
					my $sg = ($st - $stamp) & 0x7fffffff;
					$k{stamp_gap} = max_of($k{stamp_gap}, $sg);
					$k{over_half_ttl}++ if $sg > $ttl_ms / 2;
				}
				($t_version, $index, $stamp) = ($t, $i, $st);
			}
		}

		if (defined $t_freeze && !$selfcheck && $t >= $t_freeze)
		{
			# the self-check: the leader's HA machinery frozen (pg_ha: its
			# HA worker alone; Patroni: its daemon), the rest runs on
			my $n = node_named($c, $holder // '');
			my @pids = $n ? ha_pids($c, $n) : ();
			kill 'STOP', @pids if @pids;
			$selfcheck = { node => $n ? $n->{name} : '(no leader)', pids => "@pids", t => $t - $t0,
				wall => wall(), resume => $t + $soak_selfcheck };
			my $sc = $selfcheck;
			push @cleanup, sub { kill 'CONT', @pids if @pids && !$sc->{resumed} };
			say_out(sprintf('# soak %s %s: SELF-CHECK: +%.1f s (%s UTC) the HA machinery of the leader %s '
					  . '(pid %s) stopped (SIGSTOP) for %s s', $c->{tool}, $c->{profile}, $selfcheck->{t},
					$selfcheck->{wall}, $selfcheck->{node}, $selfcheck->{pids} || 'none', $soak_selfcheck));
		}
		if ($selfcheck && !$selfcheck->{resumed} && now() >= $selfcheck->{resume})
		{
			my @pids = split ' ', $selfcheck->{pids};
			kill 'CONT', @pids if @pids;
			$selfcheck->{resumed} = wall();
			say_out("# soak $c->{tool} $c->{profile}: SELF-CHECK: resumed (SIGCONT) at $selfcheck->{resumed} UTC");
		}

		foreach my $st (@streams)
		{
			$check_segment->($st);
			$start_segment->($st) if !$st->{running} && now() >= ($st->{next_start} // 0);
		}
		if (now() >= $next_sample)
		{
			$sample_ha->();
			$next_sample += 5;
		}
		my $sleep = $t + $soak_poll_ms / 1000 - now();
		Time::HiRes::sleep($sleep) if $sleep > 0;
	}
	my $t1 = now();
	$r{secs} = $t1 - $t0;
	if ($selfcheck && !$selfcheck->{resumed})
	{
		kill 'CONT', split ' ', $selfcheck->{pids};
		$selfcheck->{resumed} = wall();
	}
	# still without a holder, or not renewed, at the end
	$k{none_longest} = max_of($k{none_longest}, $t1 - $t_none) if defined $t_none;
	$k{version_gap} = max_of($k{version_gap}, $t1 - $t_version) if defined $holder && $holder ne '';
	my ($busy1, $total1) = machine_cpu();
	$sample_ha->();
	$r{cpu_busy} = $total1 > $total0 ? 100 * ($busy1 - $busy0) / ($total1 - $total0) : undef;
	$r{load_mean} = @load ? sum(@load) / @load : undef;
	$r{load_max} = max_of(@load);

	# the last runs end on their own (their -T ends with the soak)
	foreach my $st (@streams)
	{
		wait_for("the last pgbench run of $st->{name}", 90, sub { $check_segment->($st); !$st->{running} }, 0.2)
		  or do {
			my $seg = $st->{running};
			kill 'KILL', $seg->{pid};
			waitpid($seg->{pid}, 0);
			delete $spawned{ $seg->{pid} };
			@$seg{qw(exit secs end early)} = ('killed', now() - $seg->{t0}, -s $st->{log}, 0);
			$st->{running} = undef;
		  };
	}
	$r{leader_end} = leader_name($c) || '(none)';

	# pgbench's numbers, run by run
	foreach my $st (@streams)
	{
		my %t = (segs => scalar @{ $st->{segs} }, early => 0, processed => 0, failed => 0, aborted => 0,
			no_report => 0, errors => {}, progress => []);
		foreach my $seg (@{ $st->{segs} })
		{
			my $text = read_from($st->{log}, $seg->{pos});
			$text = substr($text, 0, $seg->{end} - $seg->{pos}) if defined $seg->{end} && $seg->{end} >= $seg->{pos};
			my $s = parse_pgbench($text);
			$t{early}++ if $seg->{early};
			$t{no_report}++ unless $s->{report};
			$t{$_} += $s->{$_} for qw(processed failed aborted);
			$t{errors}{$_} += $s->{errors}{$_} for keys %{ $s->{errors} };
			$t{lag_max} = max_of($t{lag_max}, $s->{lag_max});
			# pgbench prints a progress line for each whole 10 s only
			push @{ $t{progress} }, @{ $s->{progress} };
		}
		$t{tps} = $t{processed} / $r{secs};
		$t{min10} = min_of(@{ $t{progress} });
		$st->{stats} = \%t;
		say_out(sprintf('# soak %s %s load %s: %d transactions (%.0f TPS), %d failed, %d clients aborted, '
				  . '%d runs (%d ended early, %d without a report)%s%s', $c->{tool}, $c->{profile}, $st->{label},
				$t{processed}, $t{tps}, $t{failed}, $t{aborted}, $t{segs}, $t{early}, $t{no_report},
				defined $t{lag_max} ? sprintf(', schedule lag up to %.0f ms', $t{lag_max}) : '',
				%{ $t{errors} } ? '; errors: ' . join('; ', map { "$t{errors}{$_} x $_" } sort keys %{ $t{errors} }) : ''));
	}
	$r{streams} = [ map { +{ name => $_->{name}, label => $_->{label}, clients => $_->{clients},
				threads => $_->{threads}, rate => $_->{rate}, %{ $_->{stats} } } } @streams ];

	# each node's log over the soak
	my @listed;
	foreach my $n (@{ $c->{nodes} })
	{
		my $text = read_from(soak_log_file($c, $n), $log_pos{ $n->{name} });
		my %count = map { $_->[0] => 0 } @{ $soak_patterns{ $c->{tool} } };
		foreach my $line (split /\n/, $text)
		{
			foreach my $pat (@{ $soak_patterns{ $c->{tool} } })
			{
				next unless $line =~ $pat->[2];
				$count{ $pat->[0] }++;
				push @listed, "$n->{name}: $line" if $soak_listed{ $pat->[0] } && @listed < 60;
			}
		}
		my $ha = $ha_sum{ $n->{name} } || [ 0, 0, 0 ];
		$r{nodes}{ $n->{name} } = { count => \%count,
			role => ($n->{name} eq $leader->{name} ? 'leader' : 'replica') . ' -> '
			  . ($n->{name} eq $r{leader_end} ? 'leader' : 'replica'),
			ha_cpu_per_min => $ha->[0] / $r{secs} * 60, ha_wait_per_min_ms => 1000 * $ha->[1] / $r{secs} * 60,
			ha_wait_per_slice_ms => $ha->[2] ? 1000 * $ha->[1] / $ha->[2] : undef };
		say_out(sprintf('# soak %s %s %s (%s): log lines: %s; HA machinery: CPU %.2f s/min, waited for a CPU %.0f ms/min (%s ms per time it ran)',
				$c->{tool}, $c->{profile}, $n->{name}, $r{nodes}{ $n->{name} }{role},
				join(', ', map { "$_->[0] $count{$_->[0]}" } @{ $soak_patterns{ $c->{tool} } }),
				$r{nodes}{ $n->{name} }{ha_cpu_per_min}, $r{nodes}{ $n->{name} }{ha_wait_per_min_ms},
				fmt('%.2f', $r{nodes}{ $n->{name} }{ha_wait_per_slice_ms})));
	}
	$r{listed} = \@listed;
	say_out("# soak $c->{tool} $c->{profile} log: $_") foreach @listed;
	$r{key} = \%k;
	$r{events} = \@events;
	$r{selfcheck} = $selfcheck;
	$r{spurious} = $k{left};
	$r{fencings} = sum(0, map { $_->{count}{fenced} } values %{ $r{nodes} });
	say_out(sprintf('# soak %s %s: %d polls of the leader key (%d failed, longest between two %.0f ms), '
			  . '%d renewals seen, longest between two versions %.0f ms as polled, %s ms by the leader\'s stamps '
			  . '(%d over ttl/2); machine CPU busy %s %%, load average %s (max %s)',
			$c->{tool}, $c->{profile}, $k{polls}, $k{poll_errors}, 1000 * $k{poll_gap}, $k{renewals},
			1000 * $k{version_gap}, fmt('%.0f', $k{stamp_gap}), $k{over_half_ttl}, fmt('%.0f', $r{cpu_busy}),
			fmt('%.1f', $r{load_mean}), fmt('%.1f', $r{load_max})));
	say_out(sprintf('# soak %s %s: spurious failovers: %d, fencings of the leader: %d%s', $c->{tool}, $c->{profile},
			$r{spurious}, $r{fencings},
			$selfcheck ? " (SELF-CHECK run: the leader's HA machinery was stopped for $soak_selfcheck s on purpose, "
			  . 'so these are not spurious)' : ''));
	return \%r;
}

# ---------------------------------------------------------------------
# Main.

say_out("# pg_ha vs Patroni, seed $seed, $runs run(s) per scenario, idle $idle_s s, "
	  . "pgbench $pgbench_runs x $pgbench_time s, phases " . join(',', sort keys %phase)
	  . ($phase{soak} ? ", soak $soak_s s" . ($soak_selfcheck > 0 ? " (SELF-CHECK: the leader's HA machinery stopped for $soak_selfcheck s mid-soak)" : '') : '')
	  . ', started ' . wall() . ' UTC');
say_out('# versions: ' . join('; ', map { chomp(my $v = `$_ 2>&1`); $v =~ s/\n.*//s; $v }
		"$bindir/postgres --version", "$patroni_bin --version", PgHaTest::consul_binary() . ' version',
		PgHaTest::haproxy_binary() . ' -v'));

my (@results, @idle, $pgbench);
foreach my $prof (@profiles)
{
	foreach my $tool (@tools)
	{
		next unless ($phase{scenarios} && @{ $scenarios_of{$tool} }) || $phase{idle};
		if (!$profiles{$tool}{$prof})
		{
			say_out("# $tool has no profile '$prof': skipped");
			next;
		}
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

my @soak;
if ($phase{soak})
{
	say_out($profiles_given
		? "# soak: at the profile(s) given, @soak_profiles, for each tool that has it"
		: '# soak: at the soak profile (pg_ha: ttl ' . $profiles{pg_ha}{soak}{ttl} . ', loop_wait '
		  . "$profiles{pg_ha}{soak}{loop_wait}, retry_timeout $profiles{pg_ha}{soak}{retry_timeout}): pg_ha only, "
		  . 'Patroni cannot run below ttl 20 on Consul (--profiles fast soaks both tools at their fast profiles)');
	foreach my $prof (@soak_profiles)
	{
		foreach my $tool (@tools)
		{
			if (!$profiles{$tool}{$prof})
			{
				say_out("# soak: $tool skipped: it has no '$prof' profile"
					  . ($tool eq 'patroni' ? ' (on Consul it asks for a session TTL of ttl/2, which Consul refuses '
						  . 'under 10 s: ttl 20 is its floor, its fast profile)' : ''));
				next;
			}
			say_out("# === soak: $tool, profile $prof: setting up (" . wall() . ')');
			# the pgbench phase's server settings: pgbench's tables in
			# shared buffers, room for its clients
			my %pg = (shared_buffers => '128MB', max_connections => 20);
			my $c = eval { $tool eq 'pg_ha' ? setup_pg_ha($prof, %pg) : setup_patroni($prof, %pg) };
			if (!$c)
			{
				say_out("# soak $tool $prof: setup failed: $@");
				push @soak, { tool => $tool, profile => $prof, failed => "setup failed: $@" };
				next;
			}
			my $r = eval { soak($c) } // { tool => $tool, profile => $prof, failed => "soak died: $@" };
			say_out("# soak $tool $prof FAILED: $r->{failed}") if $r->{failed};
			push @soak, $r;
			teardown($c);
			reap();
		}
	}
}

# the runs of another invocation (bench/run.sh: the --netns one, as root),
# for one table: its runs.csv and writer CSVs
if ($include_runs && open my $in, '<', $include_runs)
{
	chomp(my $head = <$in> // '');
	my @h = split /,/, $head;
	my $dir = dirname($include_runs);
	while (my $line = <$in>)
	{
		chomp $line;
		my @v = split /,/, $line, -1;
		my %r = map { $h[$_] => ($v[$_] eq '' ? undef : $v[$_]) } 0 .. $#h;
		$r{csv_dir} = $dir;
		push @results, \%r;
	}
	close $in;
	say_out("# included the runs of $include_runs");
}

# ---------------------------------------------------------------------
# Report.

open my $csv, '>', "$results_dir/runs.csv" or die "runs.csv: $!";
my @cols = qw(tool profile scenario run failed old_leader new_leader fault_wall t_fault_ms fault_call_s
  processes fault_to_error_s fault_to_key_s fault_to_ack_s fault_to_new_ack_s fault_to_resume_s old_gone_s
  gap_ms gap_from_s rejoin_s old_writable old_writable_s split_brain split_brain_until_s last_old_ack_s
  acked lost direct_gap_ms direct_acked direct_lost pinned_acked pinned_lost tag);
print $csv join(',', @cols), "\n";
foreach my $r (@results)
{
	print $csv join(',', map { my $v = $r->{$_} // ''; $v =~ s/,/;/g; $v } @cols), "\n";
}
close $csv;

my @md;
my $mmm = sub {
	my ($f, @v) = @_;
	@v = grep { defined } @v;
	return 'n/a' unless @v;
	return sprintf($f, median(@v)) . ' (' . sprintf($f, min_of(@v)) . '–' . sprintf($f, max_of(@v)) . ')';
};
# the crash tables when there were crash runs (not for --phases soak)
my $show_runs = @results || $phase{scenarios};
push @md, '## Failover: every kind of crash, then the old leader back as a replica', '',
  'Median (min–max) over the runs.', '',
  '| scenario | tool | profile | runs | new leader in the DCS (s) | write outage through HAProxy (ms) '
  . '| write outage, direct multi-host (ms) | acknowledged writes lost (HAProxy + direct) '
  . '| split-brain writes (runs with any) | old leader streams again (s) |',
  '|---|---|---|---|---|---|---|---|---|---|'
  if $show_runs;
my (%median_gap, %median_key);
foreach my $s (@all_scenarios)
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
			my @key = map { $_->{fault_to_key_s} } @ok;
			my $lost = 0;
			foreach my $l (map { ($_->{lost}, $_->{direct_lost}) } @ok)
			{
				if (!defined $l || $l !~ /^\d+$/) { $lost = 'unknown'; last; }
				$lost += $l;
			}
			my $acked = sum(0, map { ($_->{acked} // 0) + ($_->{direct_acked} // 0) } @ok);
			my @dgap = map { $_->{direct_gap_ms} } @ok;
			my @sb = grep { defined } map { $_->{split_brain} } @ok;
			my $sb_runs = grep { $_ > 0 } @sb;
			my $same = grep { !defined $_->{rejoin_s} } @ok;
			$median_gap{$s}{$tool}{$prof} = median(@gap);
			$median_gap{"${s}_direct"}{$tool}{$prof} = median(@dgap);
			$median_key{$s}{$tool}{$prof} = median(@key);
			push @md, sprintf('| %s | %s | %s | %s | %s | %s | %s | %s of %d | %s | %s |',
				$label{$s}, $tool, $prof,
				scalar(@ok) . (@ok < @all ? ' (' . (@all - @ok) . ' failed)' : ''),
				$mmm->('%.2f', @key) . (grep({ !defined } @key) ? ' (' . scalar(grep { !defined } @key) . ': no change)' : ''),
				$mmm->('%.0f', @gap), $mmm->('%.0f', @dgap), $lost, $acked,
				(@sb ? sum(0, @sb) . " ($sb_runs of " . scalar(@sb) . ')' : 'n/a'),
				$mmm->('%.1f', @rej) . ($same ? " ($same: no failover)" : ''));
		}
	}
}
push @md, '',
  '- **New leader in the DCS**: from the fault until the leader key names another node, polled every 20 ms on the Consul server.',
  '- **Write outage**: a writer\'s longest gap between acknowledged INSERTs (one every '
  . "$interval_ms ms) over the whole run.",
  '- **Split-brain writes**: INSERTs the old leader acknowledged after the new leader acknowledged its first, '
  . 'counted over three writers (one pinned to the old leader by its address) on one clock.',
  '- **Old leader streams again**: from its restart by hand (after a crash: once its processes are gone; after a host loss: '
  . 'the restart of its Consul agent included), from the resume (freeze), or from the fault (switchover).'
  if $show_runs;

if (@idle)
{
	push @md, '', '## Idle footprint of the HA machinery, per node', '',
	  '| tool | profile | processes per node | RSS (MiB) | PSS (MiB) | private (MiB) | CPU (s per minute) '
	  . '| Consul requests per minute, leader | per replica | per loop_wait, leader / replica |',
	  '|---|---|---|---|---|---|---|---|---|---|';
	foreach my $r (@idle)
	{
		if ($r->{failed}) { push @md, "| $r->{tool} | $r->{profile} | failed: $r->{failed} | | | | | | | |"; next; }
		my @n = values %{ $r->{nodes} };
		my $range = sub {
			my ($f, $div, $fmt) = @_;
			my @v = map { $_->{$f} / $div } @n;
			return sprintf("$fmt to $fmt", min_of(@v), max_of(@v));
		};
		my @lead = map { $_->{consul_per_min} } grep { $_->{role} eq 'leader' } @n;
		my @repl = map { $_->{consul_per_min} } grep { $_->{role} ne 'leader' } @n;
		my $rounds = 60 / $r->{loop_wait_s};
		push @md, sprintf('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |', $r->{tool}, $r->{profile},
			join('/', map { $_->{procs} } @n), $range->('rss', 1024, '%.1f'), $range->('pss', 1024, '%.1f'),
			$range->('private', 1024, '%.1f'), $range->('cpu_per_min', 1, '%.2f'),
			fmt('%.0f', median(@lead)), join(', ', map { sprintf('%.0f', $_) } @repl),
			fmt('%.1f', defined median(@lead) ? median(@lead) / $rounds : undef),
			fmt('%.1f', @repl ? sum(@repl) / @repl / $rounds : undef));
	}
	push @md, '', 'Consul requests per minute by kind (counted in each node\'s client agent\'s debug log; '
	  . 'replicas: the mean of the two):', '';
	foreach my $r (grep { !$_->{failed} } @idle)
	{
		foreach my $role (sort keys %{ $r->{consul_by} || {} })
		{
			my $by = $r->{consul_by}{$role};
			push @md, "- $r->{tool} $r->{profile}, $role (loop_wait $r->{loop_wait_s} s): "
			  . join(', ', map { sprintf('`%s` %.1f', $_, $by->{$_}) }
				  sort { $by->{$b} <=> $by->{$a} } keys %$by);
		}
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

if (@soak)
{
	my @ok = grep { !$_->{failed} } @soak;
	my ($first) = @ok;
	push @md, '', '## Soak: leader changes and fencings under pgbench load' . ($first ? sprintf(' (%.0f s)', $first->{secs}) : ''), '',
	  'Counted from outside: the leader key read on the Consul server every '
	  . "$soak_poll_ms ms, pgbench's own output, and each node's log (the lines below the tables). "
	  . 'No fault is injected' . (grep({ $_->{selfcheck} } @ok) ? ', except in a SELF-CHECK run (marked)' : '')
	  . ': every leader change and every fencing is spurious.', '',
	  '| tool | profile | ttl / loop_wait / retry_timeout (config key) | soak (s) | spurious failovers (the key left its holder) '
	  . '| of which to another node | moments without a holder (longest, ms) | fencings of the leader (log) '
	  . '| renewals seen | longest between two renewals (ms): leader\'s stamps / as polled | machine CPU busy | load average mean (max) |',
	  '|---|---|---|---|---|---|---|---|---|---|---|---|';
	foreach my $r (@soak)
	{
		if ($r->{failed}) { push @md, "| $r->{tool} | $r->{profile} | failed: $r->{failed} | | | | | | | | | |"; next; }
		my $k = $r->{key};
		push @md, sprintf('| %s | %s%s | %s | %.0f | %d | %d | %d (%s) | %d | %d | %s / %.0f | %s %% | %s (%s) |',
			$r->{tool}, $r->{profile}, $r->{selfcheck} ? ' (SELF-CHECK)' : '', $r->{timings} // '?', $r->{secs},
			$r->{spurious}, $k->{to_other}, $k->{none}, $k->{none} ? sprintf('%.0f', 1000 * $k->{none_longest}) : '-',
			$r->{fencings}, $k->{renewals}, fmt('%.0f', $k->{stamp_gap}), 1000 * $k->{version_gap},
			fmt('%.0f', $r->{cpu_busy}), fmt('%.1f', $r->{load_mean}), fmt('%.1f', $r->{load_max}));
	}
	push @md, '', '| tool | profile | load | clients / threads | rate (TPS) | pgbench runs (ended early) '
	  . '| transactions | TPS | lowest 10 s TPS | failed transactions | clients aborted | runs without a report '
	  . '| schedule lag, max (ms) |',
	  '|---|---|---|---|---|---|---|---|---|---|---|---|---|';
	foreach my $r (@ok)
	{
		foreach my $s (@{ $r->{streams} })
		{
			push @md, sprintf('| %s | %s | %s | %d / %d | %s | %d (%d) | %d | %.0f | %s | %d | %d | %d | %s |',
				$r->{tool}, $r->{profile}, $s->{label}, $s->{clients}, $s->{threads},
				$s->{rate} || 'unthrottled', $s->{segs}, $s->{early}, $s->{processed}, $s->{tps},
				fmt('%.0f', $s->{min10}), $s->{failed}, $s->{aborted}, $s->{no_report}, fmt('%.0f', $s->{lag_max}));
		}
	}
	my %pats = map { $_->{tool} => 1 } @ok;
	foreach my $tool (sort keys %pats)
	{
		my @pat = @{ $soak_patterns{$tool} };
		push @md, '', "| tool | profile | node | role at the start -> end | "
		  . join(' | ', map { $_->[1] } @pat) . ' | HA machinery CPU (s per min) '
		  . '| HA machinery waiting for a CPU (ms per min; per time it ran) |',
		  '|---|---|---|---|' . ('---|' x @pat) . '---|---|';
		foreach my $r (grep { $_->{tool} eq $tool } @ok)
		{
			foreach my $name (sort keys %{ $r->{nodes} })
			{
				my $n = $r->{nodes}{$name};
				push @md, sprintf('| %s | %s | %s | %s | %s | %.2f | %.0f; %s |', $r->{tool}, $r->{profile}, $name,
					$n->{role}, join(' | ', map { $n->{count}{ $_->[0] } } @pat), $n->{ha_cpu_per_min},
					$n->{ha_wait_per_min_ms}, fmt('%.2f', $n->{ha_wait_per_slice_ms}));
			}
		}
	}
	foreach my $r (@ok)
	{
		push @md, '', "$r->{tool} $r->{profile}, from $r->{start_wall} UTC, leader $r->{leader_start} at the start, "
		  . "$r->{leader_end} at the end:", '';
		push @md, sprintf('- SELF-CHECK: +%.1f s (%s UTC): the HA machinery of the leader %s (pid %s) stopped '
				  . '(SIGSTOP) for %s s, resumed at %s UTC', $r->{selfcheck}{t}, $r->{selfcheck}{wall},
				$r->{selfcheck}{node}, $r->{selfcheck}{pids} || 'none', $soak_selfcheck, $r->{selfcheck}{resumed})
		  if $r->{selfcheck};
		push @md, map { sprintf('- +%.1f s (%s UTC): leader key %s -> %s (%s)', @$_{qw(t wall from to what)}) }
		  @{ $r->{events} };
		push @md, map { "- log: `$_`" } @{ $r->{listed} };
		foreach my $s (@{ $r->{streams} })
		{
			push @md, map { "- pgbench, $s->{label}: $s->{errors}{$_} x `$_`" } sort keys %{ $s->{errors} };
		}
		push @md, '- (no leader key change, no fencing line, no pgbench error)'
		  unless @{ $r->{events} } || @{ $r->{listed} } || grep { %{ $_->{errors} } } @{ $r->{streams} };
		push @md, '', sprintf('**%s %s: spurious failovers: %d, fencings of the leader: %d**%s', $r->{tool},
			$r->{profile}, $r->{spurious}, $r->{fencings},
			$r->{selfcheck} ? ' (SELF-CHECK run: the fault was injected, these are not spurious)' : '');
	}
	push @md, '',
	  '- **Spurious failovers**: each time the leader key, held, was seen held by another node, by none, or by the same '
	  . 'node under a new session. **Fencings of the leader**: the nodes\' log lines '
	  . join(', ', map { $_ eq 'pg_ha' ? 'pg_ha\'s `pg_ha: node "N" fenced:` (one each time a primary enters the fenced state)'
			  : 'Patroni\'s `Demoting self (`' } sort keys %pats) . '.',
	  '- **Renewals**: each new version of the leader key by its holder; the longest time between two, by the stamps '
	  . 'the leader writes in the key\'s flags (its own clock, when it sent each; pg_ha only) and as the harness saw them '
	  . 'change (plus up to one poll interval).',
	  '- **Load**: pgbench runs of at most 60 s (`-n -P 10`), started again at once when one ends early (pgbench '
	  . 'gives a client up at its first error); TPS over the whole soak.';
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
	# issue 15: a dead, frozen or lost leader replaced within ttl + 0.5 s
	my @rows;
	foreach my $s (qw(killall freeze hostloss))
	{
		foreach my $prof (@profiles)
		{
			my $m = $median_key{$s}{pg_ha}{$prof} // next;
			my ($ttl) = $profiles{pg_ha}{$prof}{ttl} =~ /^(\d+)s$/;
			my $pt = $median_key{$s}{patroni}{$prof};
			push @rows, sprintf('| %s, %s profile: median new-leader time <= ttl + 0.5 s = %.1f s | %.2f s | %s | | %s |',
				$s, $prof, $ttl + 0.5, $m, defined $pt ? sprintf('%.2f s', $pt) : 'n/a',
				$m <= $ttl + 0.5 ? 'yes' : '**no**');
		}
	}
	push @md, @rows;
}

my @detail = !$show_runs ? () : ('', '## Runs', '',
	'| tool | profile | scenario | run | leader before -> after | unavailable (ms) | fault -> first error (s) | fault -> new leader key (s) | fault -> first ack (s) | old leader streams again (s) | old leader took writes | acked | lost | direct writer: unavailable (ms) | acked | lost | split-brain writes | pinned writer: acked, lost |',
	'|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
foreach my $r (@results)
{
	if ($r->{failed}) { push @detail, "| $r->{tool} | $r->{profile} | $r->{scenario} | $r->{run} | failed: $r->{failed} | | | | | | | | | | | | | |"; next; }
	push @detail, sprintf('| %s | %s | %s | %d | %s -> %s | %s | %.2f | %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s, %s |',
		$r->{tool}, $r->{profile}, $r->{scenario}, $r->{run}, $r->{old_leader}, $r->{new_leader},
		$r->{gap_ms} // '?', $r->{fault_to_error_s}, fmt('%.2f', $r->{fault_to_key_s}), $r->{fault_to_ack_s},
		fmt('%.1f', $r->{rejoin_s}),
		$r->{old_writable} . (defined $r->{old_writable_s} ? sprintf(' (until %.1f s after the fault)', $r->{old_writable_s}) : ''),
		$r->{acked} // '?', $r->{lost} // '?', $r->{direct_gap_ms} // '?', $r->{direct_acked} // '?',
		$r->{direct_lost} // '?', $r->{split_brain} // '?', $r->{pinned_acked} // '?', $r->{pinned_lost} // '?');
}

open my $md, '>', "$results_dir/summary.md" or die "summary.md: $!";
# the profiles the run used
my @used_profiles = ((($phase{scenarios} || $phase{idle}) ? @profiles : ()),
	($phase{soak} ? grep { my $p = $_; !grep { $_ eq $p } @profiles } @soak_profiles : ()));
@used_profiles = @profiles unless @used_profiles;
print $md join("\n", @md, @detail), "\n\n", 'Profiles: '
  . join('; ', map { my $t = $_; map { my $p = $profiles{$t}{$_};
		  "$t $_: ttl $p->{ttl}, loop_wait $p->{loop_wait}, retry_timeout $p->{retry_timeout}" }
		grep { $profiles{$t}{$_} } @used_profiles } @tools)
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
foreach my $s (@all_scenarios)
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
				timeline_dat(($r->{csv_dir} // $results_dir) . "/$r->{tag}$kind.csv",
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
say_out("# results in $results_dir (summary.md, runs.csv, timeline_*.dat, writer CSVs"
	  . (@soak ? ', soak_*.log: pgbench\'s output' : '') . ')');
pass('benchmark finished');
done_testing();
