#!/usr/bin/perl
# Copyright (c) pg_ha contributors
#
# bench/failover.pl: pg_ha's failover benchmark.  It measures, it asserts
# nothing.  See bench/README.md; normally started by bench/run.sh.
#
# A private Consul agent and three PostgreSQL nodes (pg1 bootstrapped,
# pg2 and pg3 cloned from it) on 127.0.0.1, with one timing profile.
# While bench/writer inserts a row every 20 ms through a multi-host
# connection string (target_session_attrs=read-write), each run takes the
# current leader (the Consul key service/<cluster>/leader) down:
#
#   kill9     SIGKILL to the leader's postmaster
#   stop      pg_ctl stop -m fast of the leader
#   kill9all  SIGKILL to all the leader's processes at once (optional,
#             --scenarios kill9,stop,kill9all): nothing of pg_ha survives
#             to give the key up, so Consul's check TTL decides
#
# waits until the writer's INSERTs are acknowledged again, starts the old
# leader again and waits until it streams from the new leader.  Reported
# per scenario: the write-unavailability window (the writer's longest gap
# between two acknowledged writes), the time from restarting the old
# leader until it streams again, and the acknowledged writes missing on
# the final leader.
#
# Runs as an unprivileged user with the TAP tests' environment:
#   TESTDIR=... PATH=$(pg_config --bindir):$PATH \
#   perl -I /usr/lib/postgresql/15/lib/pgxs/src/test/perl -I regress/t \
#        bench/failover.pl --profile fast --runs 5
# It is not a TAP test: `make installcheck` (regress/t/*.pl) never sees it.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::MD5;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Getopt::Long;
use POSIX qw(WNOHANG strftime);
use Time::HiRes ();

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgHaTest;

my %profiles = (
	# pg_ha's defaults (Patroni's too)
	default => {
		ttl          => '30s',
		loop_wait    => '10s',
		retry_timeout => '10s',
		ttl_s        => 30,
		loop_wait_s  => 10
	},
	# loop_wait + 2 * retry_timeout = 2.5 s <= ttl
	fast => {
		ttl          => '3s',
		loop_wait    => '500ms',
		retry_timeout => '1s',
		ttl_s        => 3,
		loop_wait_s  => 0.5
	},);

my $profile_name = 'fast';
my $runs         = 5;
my $scenarios    = 'kill9,stop';
my $interval_ms  = 20;
my $writer       = dirname(abs_path($0)) . '/writer';
my $results_dir;
my $warmup_acks = 50;
my $seed        = time() ^ $$;

GetOptions(
	'profile=s'     => \$profile_name,
	'runs=i'        => \$runs,
	'scenarios=s'   => \$scenarios,
	'interval=i'    => \$interval_ms,
	'writer=s'      => \$writer,
	'results-dir=s' => \$results_dir,
	'warmup-acks=i' => \$warmup_acks,
	'seed=i'        => \$seed,)
  or die "usage: $0 [--profile default|fast] [--runs N] [--scenarios kill9,stop] "
  . "[--interval MS] [--writer PATH] [--results-dir DIR] [--seed N]\n";
$profile_name = shift @ARGV if @ARGV;
my $profile = $profiles{$profile_name}
  or die "unknown profile '$profile_name' (known: @{[ sort keys %profiles ]})\n";
my @scenarios = split /,/, $scenarios;
foreach my $s (@scenarios)
{
	die "unknown scenario '$s' (known: kill9, stop, kill9all)\n"
	  unless $s =~ /^(kill9|stop|kill9all)$/;
}
die "--runs must be at least 1\n" unless $runs >= 1;
die "writer '$writer' is not executable (make -C bench)\n" unless -x $writer;
$results_dir //= "$PostgreSQL::Test::Utils::tmp_check/bench_$profile_name";
make_path($results_dir);
srand($seed);

# The installed build, to notice when someone reinstalls pg_ha during the
# benchmark: running servers keep the library they loaded, but restarted
# ones and every pg_ha_ctl call would use the new one.
my @build_files = (
	(split /\n/, `pg_config --pkglibdir`)[0] . '/pg_ha.so',
	(split /\n/, `pg_config --bindir`)[0] . '/pg_ha_ctl');

sub build_id
{
	my $ctx = Digest::MD5->new;
	foreach my $f (@build_files)
	{
		open my $fh, '<', $f or return "missing $f";
		binmode $fh;
		$ctx->addfile($fh);
		close $fh;
	}
	return substr($ctx->hexdigest, 0, 12);
}
my $build = build_id();

# STDOUT and STDERR go to the log file (PostgreSQL::Test::Utils); the
# builder's output handle goes to the terminal as well.
my $out = Test::More->builder->output;

sub say_out
{
	print $out @_, "\n";
	return;
}

sub now { return Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) }

sub wall
{
	my $t = Time::HiRes::time();
	return strftime('%Y-%m-%d %H:%M:%S', localtime $t) . sprintf('.%03d', ($t - int $t) * 1000);
}

# Poll $code every $period seconds until it returns true or $timeout
# seconds have passed.  Returns the true value, or undef (and says why).
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

# ---------------------------------------------------------------------
# The cluster.

my $cluster = 'bench';
my $prefix  = "service/$cluster";
my $consul  = PgHaTest::Consul->start();
my %common  = (
	cluster       => $cluster,
	consul        => $consul,
	ttl           => $profile->{ttl},
	loop_wait     => $profile->{loop_wait},
	retry_timeout => $profile->{retry_timeout},
	# the TAP default (log_statement = all) would log every INSERT
	extra_conf => ['log_statement = none'],);

say_out("# pg_ha failover benchmark, profile $profile_name: ttl $profile->{ttl}, "
	  . "loop_wait $profile->{loop_wait}, retry_timeout $profile->{retry_timeout}; "
	  . "$runs run(s) of @scenarios; writer interval $interval_ms ms; seed $seed; "
	  . "build $build (md5 of @build_files)");
say_out("# results in $results_dir, logs in $PostgreSQL::Test::Utils::log_path");

my $pg1 = PgHaTest::new_node('pg1', %common);
$pg1->start;
my @nodes = ($pg1);
my %node_by_name = (pg1 => $pg1);

sub leader_name
{
	my $v = eval { $consul->kv_get("$prefix/leader") };
	return defined $v ? $v : '';
}

# Runs a query through the node's Unix socket; undef when it fails (down,
# fenced, starting up).
sub query
{
	my ($node, $sql) = @_;
	my ($stdout, $stderr);
	my $ret = eval {
		$node->psql('postgres', $sql,
			stdout => \$stdout, stderr => \$stderr, timeout => 10);
	};
	return undef if !defined $ret || $ret != 0;
	return $stdout;
}

sub writable
{
	my ($node) = @_;
	return (query($node, 'SELECT pg_is_in_recovery()') // '') eq 'f';
}

# Names of the replicas streaming from $leader, sorted, comma-separated.
sub streaming
{
	my ($leader) = @_;
	return query($leader,
		"SELECT coalesce(string_agg(application_name, ',' ORDER BY application_name), '') "
		  . "FROM pg_stat_replication WHERE state = 'streaming'") // '';
}

# 'alive', 'zombie' (dead, not reaped yet) or 'gone'.  A killed postmaster
# is reparented to PID 1, which may take its time to reap it (in some
# containers, seconds), and until then PostgreSQL refuses to start on the
# data directory: its lock file names a PID that still exists.
sub pid_state
{
	my ($pid) = @_;
	return 'gone' unless kill(0, $pid) || $!{EPERM};
	open my $fh, '<', "/proc/$pid/stat" or return 'alive';
	my $stat = <$fh> // '';
	close $fh;
	return $stat =~ /\)\s+Z\s/ ? 'zombie' : 'alive';
}

sub postmaster_pid
{
	my ($node) = @_;
	open my $fh, '<', $node->data_dir . '/postmaster.pid' or return undef;
	my $pid = <$fh>;
	close $fh;
	return (defined $pid && $pid =~ /^\s*(\d+)\s*$/) ? $1 : undef;
}

# The postmaster may have been restarted behind the Cluster object's back
# (pg_ha_ctl rejoin restarts a node detached): read its pid again from
# postmaster.pid so that kill9/stop/teardown reach the right process.
# A zombie counts as stopped.
sub refresh_pid
{
	my ($node) = @_;
	my $pid = postmaster_pid($node);
	$node->{_pid} = (defined $pid && pid_state($pid) eq 'alive') ? $pid : undef;
	return;
}

# Pids of the processes whose working directory is $dir (a server's
# processes chdir to its data directory).
sub processes_in
{
	my ($dir) = @_;
	my $want = abs_path($dir) // $dir;
	my @pids;
	opendir(my $dh, '/proc') or return ();
	foreach my $pid (grep { /^\d+$/ } readdir $dh)
	{
		my $cwd = readlink("/proc/$pid/cwd");
		push @pids, $pid if defined $cwd && $cwd eq $want;
	}
	closedir $dh;
	return @pids;
}

sub all_pids
{
	opendir(my $dh, '/proc') or return ();
	my @pids = grep { /^\d+$/ } readdir $dh;
	closedir $dh;
	return @pids;
}

sub children_of
{
	my ($ppid) = @_;
	return () unless defined $ppid;
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
	open my $fh, '<', "/proc/$pid/cmdline" or return '?';
	local $/;
	my $c = <$fh> // '';
	close $fh;
	$c =~ s/\0+$//;
	$c =~ s/\0/ /g;
	return $c;
}

# One leader (the leader key's holder, out of recovery, accepting
# connections) and the two others streaming from it.
sub wait_stable
{
	my ($timeout) = @_;
	return wait_for(
		'a stable cluster: one leader, two streaming replicas',
		$timeout,
		sub {
			my $name   = leader_name();
			my $leader = $node_by_name{$name} or return undef;
			return undef unless writable($leader);
			my $want = join(',', sort grep { $_ ne $name } keys %node_by_name);
			return undef unless streaming($leader) eq $want;
			foreach my $n (grep { $_->name ne $name } @nodes)
			{
				return undef
				  unless (query($n, 'SELECT pg_is_in_recovery()') // '') eq 't';
			}
			return $leader;
		},
		0.1);
}

wait_for('pg1 takes writes', 60, sub { leader_name() eq 'pg1' && writable($pg1) })
  or die "pg1 did not become the leader\n";
foreach my $name (qw(pg2 pg3))
{
	my $n = PgHaTest::new_replica($name, $pg1, %common);
	$n->start;
	push @nodes, $n;
	$node_by_name{$name} = $n;
}
wait_stable(120) or die "the cluster did not become stable\n";
say_out('# cluster ready: pg1 leader, pg2 and pg3 streaming');

my $conninfo =
	'host=' . join(',', ('127.0.0.1') x @nodes)
  . ' port=' . join(',', map { $_->port } @nodes)
  . ' dbname=postgres target_session_attrs=read-write connect_timeout=1'
  . ' application_name=bench_writer';

# ---------------------------------------------------------------------
# The writer.

my %writer_pids;

sub start_writer
{
	my ($tag) = @_;
	my %w = (
		tag  => $tag,
		csv  => "$results_dir/$tag.csv",
		out  => "$results_dir/$tag.out",
		pos  => 0,
		buf  => '',
		acks => 0,
		rows => [],);
	my @cmd = (
		$writer, '--duration', 3600, '--interval', $interval_ms,
		'--csv', $w{csv}, '--table', "bench_$tag", '--verify-timeout', 60, $conninfo);
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN,  '<',  '/dev/null')
		  && open(STDOUT, '>',  $w{out})
		  && open(STDERR, '>&', \*STDOUT)
		  or POSIX::_exit(126);
		{ no warnings 'exec'; exec { $cmd[0] } @cmd; }
		POSIX::_exit(127);
	}
	$w{pid} = $pid;
	$writer_pids{$pid} = 1;
	return \%w;
}

# Read the CSV lines the writer appended since last time; returns them
# as [t_ms, ok] pairs and counts acknowledged writes.
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
	$w->{buf} = pop(@lines) // '';    # incomplete last line, if any
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
	my $deadline = now() + 120;    # it verifies the writes on the final leader
	while (waitpid($w->{pid}, WNOHANG) == 0)
	{
		if (now() >= $deadline)
		{
			kill 'KILL', $w->{pid};
			waitpid($w->{pid}, 0);
			last;
		}
		Time::HiRes::sleep(0.05);
	}
	delete $writer_pids{ $w->{pid} };
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

END
{
	# writers first, then the nodes at their current pids (before
	# PostgreSQL::Test::Cluster's END stops them and PgHaTest's stops
	# Consul)
	local $?;
	foreach my $pid (keys %writer_pids)
	{
		kill 'KILL', $pid;
		waitpid($pid, 0);
	}
	foreach my $n (@nodes)
	{
		eval { refresh_pid($n); $n->teardown_node(fail_ok => 1); };
	}
}

# ---------------------------------------------------------------------
# One run of a scenario.

my $takeover_timeout = 3 * $profile->{ttl_s} + 60;

sub one_run
{
	my ($scenario, $i) = @_;
	my %r = (scenario => $scenario, run => $i);
	my $fail = sub { $r{failed} = $_[0]; say_out("# $scenario run $i FAILED: $_[0]"); return \%r };

	$r{build} = build_id();
	my $old = wait_stable(180) or return $fail->('no stable cluster');
	my $old_name = $old->name;
	$r{old_leader} = $old_name;

	# The fault comes at a random phase of the leader's loop: the leader
	# passes its Consul check once per loop_wait, and the time from the
	# last pass to the fault shortens the time until the check goes
	# critical.  Without this, a run would start at about the same phase
	# each time (right after the cluster became stable).
	my $acks_wanted =
	  $warmup_acks + int(rand($profile->{loop_wait_s} * 1000 / $interval_ms));
	my $w = start_writer("${profile_name}_${scenario}_$i");
	wait_for("the writer's first $acks_wanted acknowledged writes",
		60 + 2 * $profile->{loop_wait_s},
		sub { follow_writer($w); $w->{acks} >= $acks_wanted })
	  or do { stop_writer($w); return $fail->('writer did not write') };

	# Take the leader down.
	refresh_pid($old);
	my $old_pid = $old->{_pid};
	my (@victims, %victim_cmd);
	if ($scenario eq 'kill9all')
	{
		# the postmaster and every process in its data directory or whose
		# parent it is
		my %seen;
		@victims = grep { !$seen{$_}++ } ($old_pid, processes_in($old->data_dir),
			children_of($old_pid));
		%victim_cmd = map { $_ => cmdline($_) } @victims;
	}
	$r{fault_wall} = wall();
	my $t_fault = now();
	if ($scenario eq 'kill9')
	{
		$old->kill9;
	}
	elsif ($scenario eq 'kill9all')
	{
		# the postmaster and all its children at once, as when the host
		# dies: no pg_ha process survives to say goodbye
		# Freeze them all first, then kill them all: killed one by one,
		# a child that is still alive when the postmaster dies may see the
		# death and act on it (pg_ha's HA worker fails its Consul check at
		# once), which a host crash would not allow.
		kill 'STOP', @victims;
		kill 'KILL', @victims;
		$old->{_pid} = undef;
		# what was killed, and whether anything of the node survived
		print "# kill9all: SIGKILL to " . join(', ', map { "$_ ($victim_cmd{$_})" } @victims) . "\n";
		my $deadline = now() + 0.3;
		my @alive;
		while (1)
		{
			@alive = grep { pid_state($_) eq 'alive' } @victims;
			last if !@alive || now() >= $deadline;
			Time::HiRes::sleep(0.01);
		}
		say_out("# kill9all run $i: killed processes still alive after 0.3 s: "
			  . join(', ', map { "$_ ($victim_cmd{$_})" } @alive))
		  if @alive;
	}
	else
	{
		$old->stop('fast');
	}
	$r{fault_call_s} = now() - $t_fault;

	# Until the writer's INSERTs are acknowledged again.
	my ($t_key, $t_ack, $t_err);
	my $new_name;
	wait_for(
		'a new leader that takes writes',
		$takeover_timeout,
		sub {
			if (!defined $t_key)
			{
				my $l = leader_name();
				if ($l ne '' && $l ne $old_name)
				{
					$t_key    = now();
					$new_name = $l;
				}
			}
			# the first write acknowledged after the writer's first error
			# (the old leader's backend may still acknowledge a write or
			# two just after its postmaster was killed)
			foreach my $row (follow_writer($w))
			{
				my $t = $row->[0] / 1000;
				next if $t <= $t_fault;
				$t_err //= $t unless $row->[1];
				$t_ack //= $t if $row->[1] && defined $t_err;
			}
			return defined $t_ack && defined $t_key;
		},
		0.02)
	  or do { stop_writer($w); return $fail->('no new leader took writes') };
	$r{new_leader}     = $new_name;
	$r{fault_to_key_s} = $t_key - $t_fault;
	$r{fault_to_ack_s} = $t_ack - $t_fault;
	$r{fault_to_error_s} = $t_err - $t_fault;
	my $new = $node_by_name{$new_name};

	# Start the old leader again: pg_ha fences it, demotes it and has
	# pg_ha_ctl rejoin it (rewound if needed) as a replica of the new one.
	my $t_restart = now();
	# After kill -9 of the postmaster alone, its orphaned children exit
	# when they notice; until then they hold the old shared memory and
	# pg_ctl start fails.  Every server process runs in the data directory.
	# The old postmaster itself must be reaped too (see pid_state).
	wait_for("the processes of the old $old_name are gone", 60,
		sub {
			!processes_in($old->data_dir)
			  && (!defined $old_pid || pid_state($old_pid) eq 'gone');
		})
	  or do { stop_writer($w); return $fail->("old processes of $old_name remain") };
	$r{old_gone_s} = now() - $t_restart;
	$t_restart = now();
	# pg_ctl -w may report a failure although the server started: pg_ha
	# demotes a returning old leader within milliseconds and pg_ha_ctl
	# rejoin restarts it, so the postmaster pg_ctl waits for can be gone
	# before pg_ctl sees it ready.  Streaming again is what counts.
	refresh_pid($old);
	$old->start(fail_ok => 1) unless defined $old->{_pid};
	wait_for(
		"$old_name streams from $new_name",
		180,
		sub {
			return (grep { $_ eq $old_name } split /,/, streaming($new)) ? 1 : 0;
		},
		0.05)
	  or do { stop_writer($w); return $fail->("$old_name did not rejoin") };
	$r{rejoin_s} = now() - $t_restart;

	# Some more writes with the whole cluster back, then the verdict.
	my $acks = $w->{acks};
	wait_for('writes after the rejoin', 60,
		sub { follow_writer($w); $w->{acks} >= $acks + $warmup_acks });
	my $res = stop_writer($w);
	$r{acked} = $res->{acknowledged_writes};
	$r{lost}  = $res->{lost_acknowledged_writes};
	$r{gap_ms} = $res->{max_gap_ms};
	$r{gap_from_s} = defined $res->{max_gap_from_monotonic_ms}
	  ? $res->{max_gap_from_monotonic_ms} / 1000 - $t_fault : undef;
	$r{final_leader} = $res->{final_leader};
	$r{gap_errors}   = $res->{gap_errors} || [];
	$r{build_changed} = (build_id() ne $build || $r{build} ne $build) ? 1 : 0;
	say_out("# WARNING: the installed pg_ha changed during $scenario run $i")
	  if $r{build_changed};

	say_out(
		sprintf(
			'# %-5s run %d: leader %s -> %s, unavailable %.0f ms (gap starts %+.3f s from the fault), '
			  . 'fault->key %.2f s, fault->ack %.2f s, rejoin %.1f s, acked %s, lost %s',
			$scenario, $i, $old_name, $new_name, $r{gap_ms} // -1, $r{gap_from_s} // 0,
			$r{fault_to_key_s}, $r{fault_to_ack_s}, $r{rejoin_s}, $r{acked} // '?',
			$r{lost} // '?'));
	return \%r;
}

# ---------------------------------------------------------------------
# Runs and the report.

my @results;
SCENARIO: foreach my $scenario (@scenarios)
{
	foreach my $i (1 .. $runs)
	{
		push @results, one_run($scenario, $i);
		# two runs in a row without a stable cluster: give up
		if (   @results >= 2
			&& ($results[-1]{failed} // '') eq 'no stable cluster'
			&& ($results[-2]{failed} // '') eq 'no stable cluster')
		{
			say_out('# giving up: the cluster does not become stable again');
			last SCENARIO;
		}
	}
}

sub median
{
	my @v = sort { $a <=> $b } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub max_of
{
	my @v = sort { $a <=> $b } @_;
	return @v ? $v[-1] : undef;
}

sub fmt
{
	my ($fmt, $v) = @_;
	return defined $v ? sprintf($fmt, $v) : 'n/a';
}

# Per-run details as CSV.
open my $csv, '>', "$results_dir/runs.csv" or die "runs.csv: $!";
my @cols = qw(scenario run failed old_leader new_leader fault_wall fault_call_s
  fault_to_error_s fault_to_key_s fault_to_ack_s old_gone_s gap_ms gap_from_s rejoin_s acked lost
  final_leader build_changed);
print $csv join(',', 'profile', @cols), "\n";
foreach my $r (@results)
{
	print $csv join(',', $profile_name,
		map { my $v = $r->{$_} // ''; $v =~ s/,/;/g; $v } @cols), "\n";
}
close $csv;

my @table = (
	'| scenario | profile | runs | write unavailability median (ms) | max (ms) '
	  . '| old leader streams again, median (s) | max (s) | acknowledged writes lost |',
	'|---|---|---|---|---|---|---|---|');
my @rows;
foreach my $scenario (@scenarios)
{
	my @all = grep { $_->{scenario} eq $scenario } @results;
	my @ok  = grep { !$_->{failed} } @all;
	my @gap = map { $_->{gap_ms} } grep { defined $_->{gap_ms} } @ok;
	my @rej = map { $_->{rejoin_s} } @ok;
	my @lost = map { $_->{lost} } @ok;
	my $lost = 0;
	foreach my $l (@lost)
	{
		if (!defined $l || $l !~ /^\d+$/) { $lost = 'unknown'; last; }
		$lost += $l;
	}
	my $acked = 0;
	$acked += ($_->{acked} // 0) for @ok;
	my $runs_col = scalar(@ok) . (@ok < @all ? ' (' . (@all - @ok) . ' failed)' : '');
	my $changed = grep { $_->{build_changed} } @all;
	$runs_col .= " ($changed on a changed build!)" if $changed;
	my $label =
	    $scenario eq 'kill9'    ? 'kill -9 of the leader\'s postmaster'
	  : $scenario eq 'kill9all' ? 'kill -9 of all the leader\'s processes'
	  :                           'graceful stop (fast) of the leader';
	push @rows,
	  sprintf('| %s | %s | %s | %s | %s | %s | %s | %s of %d |',
		$label, $profile_name, $runs_col,
		fmt('%.0f', median(@gap)), fmt('%.0f', max_of(@gap)),
		fmt('%.1f', median(@rej)), fmt('%.1f', max_of(@rej)), $lost, $acked);
}
push @table, @rows;

my @details = (
	'| scenario | run | leader before -> after | unavailable (ms) | fault -> new leader key (s) '
	  . '| fault -> first acknowledged write (s) | old leader streams again (s) | acknowledged | lost |',
	'|---|---|---|---|---|---|---|---|---|');
foreach my $r (@results)
{
	if ($r->{failed})
	{
		push @details, "| $r->{scenario} | $r->{run} | failed: $r->{failed} | | | | | | |";
		next;
	}
	push @details,
	  sprintf('| %s | %d | %s -> %s | %.0f | %.2f | %.2f | %.1f | %s | %s |',
		$r->{scenario} . ($r->{build_changed} ? ' (build changed!)' : ''),
		$r->{run}, $r->{old_leader}, $r->{new_leader}, $r->{gap_ms},
		$r->{fault_to_key_s}, $r->{fault_to_ack_s}, $r->{rejoin_s},
		$r->{acked} // '?', $r->{lost} // '?');
}

open my $md, '>', "$results_dir/summary.md" or die "summary.md: $!";
print $md join("\n", @table), "\n\n", join("\n", @details), "\n\n",
  "Profile $profile_name: pg_ha.ttl = '$profile->{ttl}', pg_ha.loop_wait = '$profile->{loop_wait}', "
  . "pg_ha.retry_timeout = '$profile->{retry_timeout}'; writer interval $interval_ms ms; seed $seed; "
  . "build $build (first 12 hex digits of the MD5 of @build_files)"
  . (build_id() ne $build ? "; THE BUILD CHANGED DURING THE BENCHMARK (now " . build_id() . ')' : '')
  . ".\n";
close $md;
open my $rowsfh, '>', "$results_dir/summary_rows.md" or die "summary_rows.md: $!";
print $rowsfh join("\n", @rows), "\n";
close $rowsfh;

say_out('');
say_out($_) for @table;
say_out('');
say_out($_) for @details;
say_out('');
foreach my $r (grep { !$_->{failed} } @results)
{
	say_out("# errors the writer saw in its longest gap ($r->{scenario} run $r->{run}):");
	say_out("#   $_") for @{ $r->{gap_errors} };
}

# Test::More wants a plan; this is the only "test" of the benchmark.
pass('benchmark finished');
done_testing();
