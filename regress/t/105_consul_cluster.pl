# A three-server Consul cluster with a client agent per node, as Consul is
# deployed: losing one server (the Raft leader) changes nothing for pg_ha
# (no failover, writes go on); losing every server fences the leader
# within the ttl and loses nothing; when the servers come back, the
# cluster recovers by itself.  A checker writes to every node all along
# and remembers every acknowledged write.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;
use PgHaTest::Checker;
use PgHaTest::ConsulCluster;

my $dcs = PgHaTest::ConsulCluster->start(clients => [qw(pg1 pg2 pg3)]);
my $prefix = 'service/otus';
my $ttl_s  = 8;
my %timing = (cluster => 'otus', ttl => "${ttl_s}s", loop_wait => '500ms',
	retry_timeout => '1s');

# every node talks to the client agent of its own host
sub common { my ($name) = @_; return (%timing, consul => $dcs->client($name)) }

sub leader_key
{
	my $l = eval { $dcs->client('pg1')->kv_get("$prefix/leader") };
	return $l // '';
}

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \&common,
	setup => \&PgHaTest::Checker::create_table,
	leader_test => 'pg1 bootstraps the cluster through its client agent');
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);

my $checker = PgHaTest::Checker->start(
	nodes => { map { $_ => 'host=127.0.0.1 port=' . $node{$_}->port . ' dbname=postgres' } keys %node });
ok($checker->poll_acked('pg1', 30), 'the checker writes to pg1');

sub timeline { return $_[0]->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()') }
sub history  { return $_[0]->safe_psql('postgres', 'SELECT count(*) || \':\' || coalesce(string_agg(h::text, \';\'), \'\') FROM pg_ha_history h') }

# Attempts on $name started in [$from, $to): (acked, not acked, longest
# gap in seconds between consecutive acknowledged writes).
sub window
{
	my ($name, $from, $to) = @_;
	my @a = grep { $_->{node} eq $name && $_->{t0} >= $from && $_->{t0} < $to } $checker->attempts;
	my @ok = grep { $_->{outcome} eq 'ok' } @a;
	my $gap = 0;
	for my $i (1 .. $#ok)
	{
		my $g = $ok[$i]{t1} - $ok[ $i - 1 ]{t1};
		$gap = $g if $g > $gap;
	}
	return (scalar(@ok), scalar(@a) - scalar(@ok), $gap, [ grep { $_->{outcome} ne 'ok' } @a ]);
}

# ---------------------------------------------------------------------
# 1. Kill -9 of the Raft leader among the Consul servers: the other two
#    elect a new one; pg_ha renews its lease through it and never stops
#    taking writes.

my ($tl_before, $hist_before) = (timeline($pg1), history($pg1));
my $raft = $dcs->raft_leader;
ok($raft, 'a Consul server leads Raft: ' . ($raft ? $raft->name : 'none'));
my $t_kill = PgHaTest::_now();
$raft->kill9;
my $new_raft = $dcs->wait_leader(30);
ok($new_raft, 'the two remaining servers elect a new Raft leader');
note(sprintf('Raft leader %s killed, %s leads after %.1f s', $raft->name,
	$new_raft ? $new_raft->name : 'none', PgHaTest::_now() - $t_kill));
# a lease not renewed through the new Raft leader would have run out by now
ok($checker->poll_acked('pg1', 2 * $ttl_s + 10, $t_kill + $ttl_s + 1),
	'pg1 still takes writes more than ttl after the kill: its lease was renewed');
my $t_end = PgHaTest::_now();
my ($acked, $refused, $gap, $bad) = window('pg1', $t_kill, $t_end);
note(sprintf('pg1 during the Raft election: %d acknowledged, %d refused, longest gap %.3f s',
	$acked, $refused, $gap));
is($refused, 0, 'pg1 refused no write while a Consul server was down')
  or diag(explain($bad));
cmp_ok($gap, '<', 2, 'and no write waited: the longest gap between acknowledged writes is under 2 s');
is(leader_key(), 'pg1', 'no failover: pg1 still holds the leader key');
is(timeline($pg1), $tl_before, 'same timeline');
is(history($pg1), $hist_before, 'pg_ha_history unchanged');
is(scalar($checker->acked('pg2')) + scalar($checker->acked('pg3')), 0,
	'no replica took a write');

$dcs->start_servers;
ok($dcs->wait_leader(30), 'the killed server is back in the cluster');

# ---------------------------------------------------------------------
# 2. Every Consul server killed: the client agents answer, but nothing
#    can be renewed.  The leader fences within ttl, no replica takes over
#    (nothing can be elected without Consul), no write is accepted
#    anywhere while Consul is gone.

my $t_down = PgHaTest::_now();
$_->kill9 for $dcs->servers;
my $fenced = $checker->poll_outcome('pg1', 'fenced', $ttl_s + 5, $t_down);
ok($fenced, 'the leader refuses writes once every Consul server is gone');
note(sprintf('all Consul servers killed: pg1 fenced after %.1f s', $fenced->{t0} - $t_down))
  if $fenced;
cmp_ok($fenced ? $fenced->{t0} - $t_down : 1e9, '<', $ttl_s + 1,
	'within the ttl (and one checker round)');
my @late = grep { $_->{t0} >= $t_down + $ttl_s } $checker->acked;
is(scalar(@late), 0, "no node acknowledged a write started more than ttl (${ttl_s} s) after Consul was lost")
  or diag(explain(\@late));
like($fenced ? $fenced->{error} : '', qr/pg_ha: (node "pg1" is fenced|cannot commit, node "pg1" does not hold the leader lease)/,
	"the refusal is pg_ha's");
# stay down a while: nothing changes, nobody writes
my $t_quiet = PgHaTest::_now();
ok($checker->poll_outcome('pg1', 'fenced', 10, $t_quiet + 2), 'pg1 is still fenced 2 s later');
is(scalar(grep { $_->{t0} >= $t_down + $ttl_s } $checker->acked), 0,
	'and still no write is accepted anywhere');
is($pg2->safe_psql('postgres', 'SELECT pg_is_in_recovery()') . $pg3->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	'tt', 'both replicas are still replicas');

# ---------------------------------------------------------------------
# 3. The servers come back: the cluster recovers by itself.

my $t_up = PgHaTest::_now();
$dcs->start_servers;
note(sprintf('Consul servers ready again after %.1f s', PgHaTest::_now() - $t_up));
my $back = PgHaTest::poll_until('some node takes writes again', 60,
	sub { my @a = $checker->acked(undef, $t_up); @a ? $a[0] : 0 });
ok($back, 'writes are accepted again once Consul is back');
note(sprintf('first write acknowledged %.1f s after the servers were started', $back->{t1} - $t_up))
  if $back;
my $leader_name = leader_key();
ok($leader_name =~ /^pg[123]$/, "one leader: $leader_name");
my $leader = $node{$leader_name} // $pg1;
my @others = sort grep { $_ ne $leader_name } keys %node;
ok( PgHaTest::poll_until('the others stream from the leader', 90,
		sub { PgHaTest::streaming($leader) eq join(',', @others) }),
	'the other two stream from it');
is( join('', map { $node{$_}->safe_psql('postgres', 'SELECT pg_is_in_recovery()') } @others),
	'tt', 'exactly one node is writable');
ok($checker->poll_acked($leader_name, 30), "the checker writes to $leader_name");

$checker->stop;
note('checker: ' . $checker->summary);
my ($ok, $runs) = $checker->no_overlap;
ok($ok, "never two nodes accepting writes in the same interval: $runs");
my @missing = $checker->missing_on($leader);
is(scalar(@missing), 0,
	'every acknowledged write is on the leader (' . scalar($checker->acked) . ' writes)')
  or diag("missing: @missing");

done_testing();
