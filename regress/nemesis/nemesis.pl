# The nemesis: a randomized, seeded, replayable fault campaign against
# three pg_ha nodes, with a checker of the safety invariants
# (DESIGN.md; docs/testing.md, "The nemesis").
#
# Every node runs in a network namespace of its own with its own Consul
# client agent (so "host lost" is the node and its agent); three Consul
# servers and the writers live in the hub namespace (PgHaTest::Netns).
# One writer per node inserts unique rows straight into its node and logs
# every acknowledged commit with its times.  Faults drawn from the seed
# (Nemesis::Schedule) are injected one after the other, each healed after
# its duration and followed by a quiet gap.  At the end:
#
#   1. never two nodes acknowledging writes in the same interval;
#   2. synchronous mode: every acknowledged write is on the final leader
#      (asynchronous mode: the lost ones are counted and reported);
#   3. after every fault is healed (before the next one), and once the
#      faults stop: one leader and both other nodes streaming from it,
#      its writer acknowledged, within a bound;
#   4. no server process ended by a signal the nemesis did not send;
#
# and, so that doing nothing cannot pass: every scheduled fault was
# really injected, and at least two different nodes acknowledged writes.
#
# Environment: NEMESIS_SEED (replay), NEMESIS_SECONDS (default 180),
# NEMESIS_MODE (sync|async; default: from the seed, odd seeds sync),
# NEMESIS_TTL (pg_ha's ttl in seconds, default 5), NEMESIS_KINDS (a
# comma-separated subset of the fault kinds), NEMESIS_RECOVERY (the bound
# of invariant 3 in seconds, default 120), NEMESIS_HAPROXY (0: no HAProxy
# and no writer through it).
#
# Runs as root (make nemesis, scripts/test.sh); the servers and the test
# itself run as $PG_HA_TEST_USER (default postgres).
use strict;
use warnings;

our $lab;
BEGIN
{
	require PgHaTest::Netns;
	$lab = PgHaTest::Netns->setup(nodes => [qw(pg1 pg2 pg3)]);
}

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

use PgHaTest;
use Nemesis::Cluster;
use Nemesis::Faults;
use Nemesis::History;
use Nemesis::Schedule;

my $seed = $ENV{NEMESIS_SEED};
$seed = (int(Time::HiRes::time() * 1000) ^ ($$ << 8)) % 1_000_000_000
  unless defined $seed && $seed ne '';
my $seconds  = $ENV{NEMESIS_SECONDS}  || 180;
my $ttl      = $ENV{NEMESIS_TTL}      || 5;
my $recovery = $ENV{NEMESIS_RECOVERY} || 120;
my $mode     = $ENV{NEMESIS_MODE}     || ($seed =~ /[13579]$/ ? 'sync' : 'async');
die "NEMESIS_MODE must be sync or async\n" unless $mode =~ /^(sync|async)$/;
my @kinds = @Nemesis::Schedule::KINDS;
if ($ENV{NEMESIS_KINDS})
{
	@kinds = split /[\s,]+/, $ENV{NEMESIS_KINDS};
	my %known = map { $_ => 1 } @Nemesis::Schedule::KINDS;
	die "unknown fault kind(s): @{[ grep { !$known{$_} } @kinds ]}\n" if grep { !$known{$_} } @kinds;
}

my $schedule = Nemesis::Schedule->new(seed => $seed, seconds => $seconds, ttl => $ttl,
	kinds => \@kinds);
my $replay = "NEMESIS_SEED=$seed NEMESIS_SECONDS=$seconds NEMESIS_MODE=$mode"
  . ($ENV{NEMESIS_TTL} ? " NEMESIS_TTL=$ttl" : '')
  . ($ENV{NEMESIS_KINDS} ? " NEMESIS_KINDS=" . join(',', @kinds) : '');
diag("nemesis: seed $seed, $mode mode, $seconds s, ttl $ttl s, "
	  . scalar($schedule->faults) . " faults (replay: make nemesis $replay)");
note("schedule:");
note(sprintf('  %2d. %s', $_ + 1, Nemesis::Schedule::describe(($schedule->faults)[$_])))
  for 0 .. $schedule->faults - 1;

# ---------------------------------------------------------------------
# The cluster

my $c = Nemesis::Cluster->new(lab => $lab, ttl => $ttl, mode => $mode);
my $built = eval { $c->build } // do { diag("build: $@"); 0 };
ok($built, 'three nodes in their namespaces, each with its own Consul agent, '
	  . 'pg2 and pg3 streaming from pg1' . ($mode eq 'sync' ? ', a synchronous standby named' : ''))
  or BAIL_OUT("the cluster could not be built (seed $seed)");
$c->start_writers;
ok($c->writer('pg1')->poll_acked('pg1', 30), 'the writers write, pg1 acknowledges');
my $haproxy = ($ENV{NEMESIS_HAPROXY} // 1) && eval { $c->start_haproxy } // do { diag("HAProxy: $@"); 0 };
ok($c->haproxy_writer->poll_acked('haproxy', 30), 'a writer writes through HAProxy\'s primary port')
  if $haproxy;
note('no HAProxy: no writer through it') unless $haproxy;

# ---------------------------------------------------------------------
# The campaign

# One leader that answers as a primary and takes writes acknowledged
# after $since, the two others streaming from it: the leader's name, or
# undef with $$why_not set.
sub converged
{
	my ($since, $why_not) = @_;
	my $l = $c->leader or do { $$why_not = 'no leader key held'; return undef };
	$$why_not = "$l holds the leader key but is not a primary that answers";
	return undef unless ($c->sql($l, 'SELECT pg_is_in_recovery()', 3) // '') eq 'f';
	my @others = grep { $_ ne $l } $c->nodes;
	my $streaming = $c->sql($l,
		"SELECT string_agg(application_name, ',' ORDER BY application_name) "
		  . "FROM pg_stat_replication WHERE state = 'streaming'", 3) // '';
	$$why_not = "$l leads; streaming from it: '$streaming'";
	return undef unless $streaming eq join(',', @others);
	$$why_not = "$l leads, but not every other node answers as a replica";
	return undef if grep { ($c->sql($_, 'SELECT pg_is_in_recovery()', 3) // '') ne 't' } @others;
	$$why_not = "$l leads, but its writer has no acknowledged write yet";
	return undef unless $c->writer($l)->acked($l, $since);
	return $l;
}

sub diag_state
{
	my ($why_not) = @_;
	diag("not recovered: $why_not");
	diag('leader key: ' . ($c->kv_get('leader') // 'none'));
	for my $n ($c->nodes)
	{
		diag("$n: " . ($c->postmaster_pid($n) ? 'server runs; ' : 'SERVER STOPPED; ')
			  . ($c->sql($n, 'SELECT role, fenced, last_action, last_reason, last_error '
				  . 'FROM pg_ha_node', 3) // 'no answer'));
		diag("  $_") for Nemesis::History::log_tail($c, $n, 8);
	}
}

# ---------------------------------------------------------------------
# The campaign.  After each fault is healed, the cluster must converge
# (invariant 3) before the quiet gap and the next fault: a fault whose
# damage outlives it is caught there, not hidden by the next one.

my $t_start = PgHaTest::_now();
my @records;
my @not_converged;
my $i = 0;
for my $f ($schedule->faults)
{
	$i++;
	my $r = Nemesis::Faults::inject($c, $f);
	push @records, $r;
	note(sprintf('%7.1fs  fault %d: %s: %s%s', $r->{t_inject} - $t_start, $i, $f->{kind},
			$r->{detail}, $r->{injected} ? '' : '  [NOT INJECTED]'));
	Time::HiRes::sleep($f->{duration});
	Nemesis::Faults::heal($c, $r);
	my ($leader, $why_not);
	my $ok = PgHaTest::poll_until("convergence after fault $i", $recovery,
		sub { $leader = converged($r->{t_heal}, \$why_not) });
	$r->{converged_s} = PgHaTest::_now() - $r->{t_heal};
	note(sprintf('%7.1fs  healed %d (%s), %s', $r->{t_heal} - $t_start, $i, $f->{kind},
			$ok ? sprintf('converged in %.1f s: %s leads', $r->{converged_s}, $leader)
			: "NOT CONVERGED within $recovery s"));
	if (!$ok)
	{
		push @not_converged, "fault $i ($f->{kind}: $r->{detail})";
		diag_state($why_not);
	}
	Time::HiRes::sleep($f->{gap});
}
my $t_faults_end = PgHaTest::_now();
Nemesis::Faults::heal_all($c);
note(sprintf('%7.1fs  every fault healed, quiet from now on', PgHaTest::_now() - $t_start));

my @conv = sort { $a <=> $b } map { $_->{converged_s} } grep { defined $_->{converged_s} } @records;
is(scalar(@not_converged), 0,
	sprintf('invariant 3: after every fault, one leader and both other nodes streaming from it '
		  . 'within %d s (median %.1f s, max %.1f s)', $recovery,
		@conv ? $conv[ $#conv / 2 ] : 0, @conv ? $conv[-1] : 0))
  or do { diag("not converged: $_") for @not_converged };

# ---------------------------------------------------------------------
# And once the faults stop, the same (the final leader is the checked one)

my $t_quiet = PgHaTest::_now();
my ($final, $why_not);
my $recovered = PgHaTest::poll_until("one leader, two replicas streaming from it", $recovery,
	sub { $final = converged($t_quiet, \$why_not) });
my $t_recovered = PgHaTest::_now() - $t_quiet;
ok($recovered, sprintf('invariant 3: once the faults stop, one leader (%s) and both other '
		  . 'nodes streaming from it within %d s (took %.1f s)', $final // 'none', $recovery,
		$t_recovered));
diag_state($why_not) if !$recovered;
# a last moment of writes on the recovered cluster
$c->writer($final)->poll_acked($final, 10) if $final;
$c->stop_writers;

# ---------------------------------------------------------------------
# Every fault injected; writes by at least two leaders

my %per_kind;
for my $r (@records)
{
	$per_kind{ $r->{kind} }{scheduled}++;
	$per_kind{ $r->{kind} }{injected}++ if $r->{injected};
}
my @not = grep { !$_->{injected} } @records;
is(scalar(@not), 0, 'every scheduled fault was injected (' . scalar(@records) . ')')
  or do { diag("not injected: $_->{kind}: $_->{detail}") for @not };

# The node whose table is checked: the final leader; without one, the
# node the leader key names; without that, of the nodes that answer, the
# one that misses the fewest acknowledged writes (a write missing there
# is on no node at all).
my $checked_on = $final // $c->leader;
my $checked_how = $final ? 'the final leader' : $checked_on ? 'the leader key\'s node (not recovered)' : '';
if (!$checked_on)
{
	my @all = map { $_->acked } $c->writers;
	my ($best, $fewest);
	for my $n ($c->nodes)
	{
		my $m = Nemesis::History::missing_on($c, $n, @all) or next;
		($best, $fewest) = ($n, scalar @$m) if !defined $fewest || @$m < $fewest;
	}
	($checked_on, $checked_how) = ($best, 'no leader: the node that misses the fewest') if $best;
}
# the node of each write through HAProxy, from that node's table
my $took = $haproxy && $checked_on ? Nemesis::History::took($c, $checked_on) : {};
my @acked = Nemesis::History::acked($c, $took);
my @unattributed = grep { $_->{node} eq 'haproxy' } @acked;
my @runs  = Nemesis::History::runs(grep { $_->{node} ne 'haproxy' } @acked);
my %leaders = map { $_->{node} => 1 } @runs;
cmp_ok(scalar(keys %leaders), '>=', 2,
	'writes acknowledged by at least two different leaders: ' . join(',', sort keys %leaders));
note('runs of acknowledged writes: ' . Nemesis::History::describe_runs($t_start, @runs));

# ---------------------------------------------------------------------
# Invariant 1: never two nodes acknowledging writes in the same interval

my @overlaps = Nemesis::History::overlaps(@runs);
is(scalar(@overlaps), 0,
	'invariant 1: no interval in which two nodes acknowledged writes ('
	  . scalar(@runs) . ' runs, ' . (scalar(@acked) - scalar(@unattributed)) . ' acknowledged writes)')
  or do { diag("overlap: $_") for @overlaps };

# ---------------------------------------------------------------------
# Invariant 2: acknowledged writes on the final leader

my $missing = $checked_on ? Nemesis::History::missing_on($c, $checked_on, @acked) : undef;
my $lost = $missing ? scalar(@$missing) : -1;
my %lost_by;
$lost_by{ $_->[1] }++ for @{ $missing || [] };
my $lost_text = join(', ', map { "$lost_by{$_} of $_" } sort keys %lost_by) || 'none';
if ($mode eq 'sync')
{
	is($lost, 0, "invariant 2 (synchronous mode): every acknowledged write is on the final leader"
		  . ($checked_on ? " $checked_on ($checked_how)" : ' (no node answers)'))
	  or diag('lost: ' . join(' ', map { "#$_->[0]($_->[1])" } @{ $missing || [] }[ 0 .. ($lost > 20 ? 19 : $lost - 1) ]));
}
else
{
	ok(defined $missing, "invariant 2 (asynchronous mode): the table of "
		  . ($checked_on ? "$checked_on ($checked_how)" : 'no node') . ' read; '
		  . "$lost of " . scalar(@acked) . " acknowledged writes missing ($lost_text)");
}

# ---------------------------------------------------------------------
# Invariant 4: no server process ended by a signal the nemesis did not send

my @deaths = Nemesis::History::signal_deaths($c);
is(scalar(@deaths), 0, 'invariant 4: no server process ended by a signal other than the nemesis\'s')
  or do { diag($_) for @deaths };

# ---------------------------------------------------------------------
# The report

my @report = (
	"nemesis report: seed $seed, $mode mode, ttl $ttl s, "
	  . sprintf('%.0f s of faults, %d faults', $t_faults_end - $t_start, scalar(@records)),
	'faults per kind (injected/scheduled): '
	  . join(', ', map { "$_ " . ($per_kind{$_}{injected} // 0) . "/$per_kind{$_}{scheduled}" }
		  sort keys %per_kind),
	'invariant 1 (no two writable nodes): ' . (@overlaps ? scalar(@overlaps) . ' overlaps' : 'holds')
	  . ', ' . scalar(@runs) . ' runs over ' . scalar(keys %leaders) . ' nodes, '
	  . scalar(@acked) . ' acknowledged writes'
	  . ($haproxy ? ', ' . scalar($c->haproxy_writer->acked) . ' of them through HAProxy ('
		  . scalar(@unattributed) . ' not on the final leader, left out of the runs)' : ''),
	'invariant 2 (acknowledged writes on the final leader): ' . ($lost < 0 ? 'not checked'
		: "$lost missing ($lost_text) on $checked_on, $checked_how") . ($mode eq 'sync' ? '' : ' [asynchronous: reported]'),
	'invariant 3 (recovery): ' . (@not_converged ? scalar(@not_converged) . ' faults not followed by convergence'
		: sprintf('converged after every fault (median %.1f s, max %.1f s)',
			@conv ? $conv[ $#conv / 2 ] : 0, @conv ? $conv[-1] : 0))
	  . '; at the end: ' . ($recovered
		? sprintf('%s leads, both others stream, %.1f s after the last heal', $final, $t_recovered)
		: "not within $recovery s"),
	'invariant 4 (no signal deaths): ' . (@deaths ? scalar(@deaths) . ' lines' : 'holds'),
	'servers left stopped by pg_ha at the end: '
	  . (join(',', grep { !$c->postmaster_pid($_) } $c->nodes) || 'none'),
	"replay: make nemesis $replay");
diag($_) for @report;

# PostgreSQL::Test::Cluster stops its nodes at exit, and bails out on a
# node it believes running: tell it which ones pg_ha left stopped
$c->node($_)->_update_pid($c->postmaster_pid($_) ? 1 : -1) for $c->nodes;

done_testing();
