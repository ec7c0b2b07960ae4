# Write unavailability through HAProxy during a switchover (a benchmark,
# not a test).  Three nodes, HAProxy with docs/haproxy.cfg, bench/writer
# inserting a row every 20 ms through HAProxy's primary port; then
# SELECT pg_ha_switchover() on the leader, N times in a row.  Reports the
# writer's longest gap between acknowledged writes per run (median, max)
# and acknowledged writes lost.
#
#   bench/switchover_run.sh [--runs 5] [--profile default|fast]
use strict;
use warnings;

use Getopt::Long;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use Cwd qw(abs_path);
use File::Basename qw(dirname);

use PgHaTest;

my ($runs, $profile) = (5, 'default');
GetOptions('runs=i' => \$runs, 'profile=s' => \$profile) or die "bad options\n";
my %timing = $profile eq 'fast'
  ? (ttl => '3s', loop_wait => '500ms', retry_timeout => '1s')
  : (ttl => '30s', loop_wait => '10s', retry_timeout => '10s');
my $writer = dirname(abs_path($0)) . '/writer';
die "no $writer: make -C bench writer\n" unless -x $writer;
my $out = Test::More->builder->output;

my $consul = PgHaTest::Consul->start();
my %common = (cluster => 'otus', consul => $consul, %timing);
my $pg1 = PgHaTest::new_node('pg1', %common);
$pg1->start;
PgHaTest::poll_until('pg1 leads', 120, sub { $pg1->psql('postgres', 'SELECT 1') == 0 })
  or die "no leader\n";
$pg1->safe_psql('postgres', 'CREATE EXTENSION pg_ha');
my %node = (pg1 => $pg1);
$node{$_} = PgHaTest::new_replica($_, $pg1, %common) for qw(pg2 pg3);
PgHaTest::start_node($node{$_}) for qw(pg2 pg3);
my $haproxy = PgHaTest::HAProxy->start(%node);

sub leader { return $consul->kv_get('service/otus/leader') // '' }

sub stable
{
	my $l = leader();
	return 0 unless $node{$l};
	my @others = sort grep { $_ ne $l } keys %node;
	return PgHaTest::streaming($node{$l}) eq join(',', @others)
	  && $haproxy->up('primary') eq $l
	  && $node{$l}->safe_psql('postgres',
		"SELECT count(*) FROM pg_ha_status WHERE role = 'Replica' AND lag_mb = 0") eq '2';
}

my $dir = PostgreSQL::Test::Utils::tempdir();
my @gaps;
my $lost_total = 0;
for my $run (1 .. $runs)
{
	PgHaTest::poll_until('stable cluster', 180, \&stable) or die "not stable before run $run\n";
	my $old = leader();
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>', "$dir/run$run.out") && open(STDERR, '>&', \*STDOUT)
		  or POSIX::_exit(126);
		exec($writer, '--duration', 600, '--interval', 20, '--csv', "$dir/run$run.csv",
			'--table', "bench_$run", '--verify-timeout', 60,
			'host=127.0.0.1 port=' . $haproxy->port('primary')
			  . ' dbname=postgres connect_timeout=1 target_session_attrs=read-write');
		POSIX::_exit(127);
	}
	sleep(2);	# steady writes first
	$node{$old}->safe_psql('postgres', 'SELECT pg_ha_switchover()');
	PgHaTest::poll_until('a new leader', 180, sub { my $l = leader(); $l ne '' && $l ne $old })
	  or die "no new leader in run $run\n";
	PgHaTest::poll_until('stable again', 180, \&stable) or die "not stable after run $run\n";
	sleep(2);	# steady writes again
	kill 'TERM', $pid;
	waitpid($pid, 0);
	my $res = slurp_file("$dir/run$run.out");
	my ($gap) = $res =~ /^max_gap_ms=([\d.]+)/m;
	my ($lost) = $res =~ /^lost_acknowledged_writes=(\d+)/m;
	push @gaps, $gap // 'nan';
	$lost_total += $lost // 0;
	print $out sprintf("# run %d: %s -> %s, longest write gap %s ms, lost %s\n",
		$run, $old, leader(), $gap // '?', $lost // '?');
}
my @sorted = sort { $a <=> $b } @gaps;
my $median = @sorted % 2 ? $sorted[$#sorted / 2] : ($sorted[@sorted / 2 - 1] + $sorted[@sorted / 2]) / 2;
print $out sprintf("| scenario | profile | runs | median gap (ms) | max gap (ms) | acknowledged writes lost |\n");
print $out sprintf("|---|---|---|---|---|---|\n");
print $out sprintf("| switchover through HAProxy | %s | %d | %.0f | %.0f | %d |\n",
	$profile, $runs, $median, $sorted[-1], $lost_total);
done_testing();
