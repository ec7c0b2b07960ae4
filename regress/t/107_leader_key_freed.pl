# The leader key freed behind the leader's back (issue 14, paths 1 and 2).
#
# 1. The leader's own Consul agent hangs (SIGSTOP) and its session is
#    destroyed through another agent, as a node deregistration, a
#    force-leave or an operator would do.  Consul deletes the key at once,
#    and the leader cannot hear of it.  Before the leader key carried its
#    own lease, a replica took the key within a second while the old leader
#    went on acknowledging writes until its lease ran out (83 writes on two
#    primaries in the first report).
# 2. The leader key deleted by hand while a leader runs.
#
# In both, a key that vanished without its holder's release is taken only
# once the holder's lease has certainly ended: a checker writing to every
# node never sees two nodes acknowledging writes in the same interval.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;
use PgHaTest::Checker;
use PgHaTest::ConsulCluster;

my $dcs    = PgHaTest::ConsulCluster->start(clients => [qw(pg1 pg2 pg3)]);
my $prefix = 'service/otus';
my $ttl_s  = 8;
my %timing = (cluster => 'otus', ttl => "${ttl_s}s", loop_wait => '500ms',
	retry_timeout => '1s');

sub common { my ($name) = @_; return (%timing, consul => $dcs->client($name)) }

# asked through an agent that answers
sub leader_via
{
	my ($agent) = @_;
	my $l = eval { $dcs->client($agent)->kv_get("$prefix/leader") };
	return $l // '';
}

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \&common,
	setup => \&PgHaTest::Checker::create_table, leader_test => 'pg1 bootstraps the cluster');
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);

my $checker = PgHaTest::Checker->start(
	nodes => { map { $_ => 'host=127.0.0.1 port=' . $node{$_}->port . ' dbname=postgres' } keys %node });
ok($checker->poll_acked('pg1', 30), 'the checker writes to pg1');

# ---------------------------------------------------------------------
# 1. pg1's agent hangs, and its session is ended through pg2's agent.

my $session = $dcs->client('pg2')->kv_session("$prefix/leader");
ok(defined $session, 'the leader key is locked by pg1\'s session');
my $agent = $dcs->client('pg1');
kill 'STOP', $agent->pid;
my $t_destroy = PgHaTest::_now();
ok($dcs->client('pg2')->session_destroy($session), 'pg1\'s session destroyed through another agent');
is(leader_via('pg2'), '', 'Consul deleted the leader key with the session');

my $new = PgHaTest::poll_until('a replica leads', 3 * $ttl_s + 30,
	sub { my $l = leader_via('pg2'); ($l ne '' && $l ne 'pg1') ? $l : 0 });
ok($new, 'a replica takes over: ' . ($new || 'none'));
my $t_new = PgHaTest::_now();
note(sprintf('session destroyed; %s holds the key %.1f s later', $new || 'nobody', $t_new - $t_destroy));
cmp_ok($t_new - $t_destroy, '>=', $ttl_s * 0.9 - 1,
	'not before the old leader\'s lease can have ended (ttl after the key vanished)');
my $first = $new ? $checker->poll_acked($new, 60, $t_destroy) : undef;
ok($first, "$new acknowledges writes");
my @late_old = grep { $first && $_->{t1} > $first->{t0} } $checker->acked('pg1', $t_destroy);
is(scalar(@late_old), 0, 'pg1 acknowledged nothing once the new leader took writes')
  or diag(explain(\@late_old));

kill 'CONT', $agent->pid;
ok( PgHaTest::poll_until('pg1 follows', 120,
		sub { $pg1->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 't' }),
	'pg1 comes back as a replica once its agent answers');

# ---------------------------------------------------------------------
# 2. The leader key deleted by hand, with a switchover request waiting
#    (the leader then watches the failover key, not its own).

my $leader = $node{$new};
my $t_del = PgHaTest::_now();
ok($dcs->client('pg3')->kv_put("$prefix/failover", '{"leader":"nobody"}'),
	'a request in the failover key');
ok($dcs->client('pg3')->kv_delete("$prefix/leader"), 'the leader key deleted by hand');
my $again = PgHaTest::poll_until('a leader again', 3 * $ttl_s + 30,
	sub { my $l = leader_via('pg3'); $l ne '' ? $l : 0 });
ok($again, 'a node holds the key again: ' . ($again || 'none'));
ok($checker->poll_acked($again, 60, $t_del), "$again takes writes");
my @rest = sort grep { $_ ne $again } keys %node;
ok(PgHaTest::poll_until('the others follow', 120,
		sub { PgHaTest::streaming($node{$again}) eq join(',', @rest) }),
	"the other nodes stream from $again");

$checker->stop;
note('checker: ' . $checker->summary);
# a node may lead twice here: what must not happen is a run of writes on
# one node that started before the previous node's last acknowledgement
my ($ok, $runs) = $checker->no_overlap_in_time;
ok($ok, "never two nodes accepting writes in the same interval: $runs");
cmp_ok(scalar($checker->runs), '>=', 2, 'the checker saw the leader change');
my @missing = $checker->missing_on($node{$again}, $again);
is(scalar(@missing), 0, "every write $again acknowledged is on it") or diag("missing: @missing");

done_testing();
