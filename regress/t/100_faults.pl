# Safety under faults (DESIGN.md invariants 1 and 3): a frozen HA worker
# and a frozen leader never let two nodes take writes in the same
# interval, and a leader that wakes up after its lease ran out commits
# nothing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
# a short lease keeps the test short: 4 s
my %common = (cluster => 'otus', consul => $consul,
	ttl => '4s', loop_wait => '500ms', retry_timeout => '1s');
my $ttl_s = 4;

sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

my ($pg1, $pg2) = PgHaTest::start_cluster(names => [qw(pg1 pg2)], options => \%common,
	sql => 'CREATE EXTENSION pg_ha; CREATE TABLE w (node text, at timestamptz)');
my %node = (pg1 => $pg1, pg2 => $pg2);

# One write on $node through a fresh connection: the commit time if it was
# acknowledged, undef if refused.
sub write_on
{
	my ($node) = @_;
	my ($r, $out, $err) = $node->psql('postgres',
		"INSERT INTO w VALUES ('" . $node->name . "', clock_timestamp()) RETURNING extract(epoch FROM at)");
	return $r == 0 ? $out : undef;
}

# ---------------------------------------------------------------------
# 1. The leader's HA worker frozen (SIGSTOP) beyond ttl: Consul frees the
#    key, pg2 takes over; the old leader, whose worker cannot fence it,
#    refuses every commit once its lease has run out (the commit-time
#    check), so the two never take writes in the same interval.

my $worker = $pg1->safe_psql('postgres', 'SELECT worker_pid FROM pg_ha_node');
kill 'STOP', $worker;
my $stopped = time;
my ($last_old, $first_new);
ok( PgHaTest::poll_until('pg2 takes writes', 10 * $ttl_s,
		sub {
			my $t = write_on($pg1);
			$last_old = $t if defined $t;
			my $rec;
			my $n = ($pg2->psql('postgres', 'SELECT pg_is_in_recovery()', stdout => \$rec) == 0
				  && $rec eq 'f') ? write_on($pg2) : undef;
			$first_new = $n if defined $n;
			return defined $first_new;
		}),
	'with the leader\'s HA worker frozen, pg2 takes over');
note(sprintf('worker frozen to pg2 writable: %.1f s', time - $stopped));
ok(defined $last_old, 'pg1 took writes while its lease ran');
cmp_ok($last_old, '<', $first_new,
	'the last write pg1 acknowledged precedes the first on pg2: never two writable nodes');
is(write_on($pg1), undef, 'the frozen-worker leader refuses writes');
my ($r, $o, $e) = $pg1->psql('postgres', "INSERT INTO w VALUES ('late', now())");
like($e, qr/does not hold the leader lease|is fenced/, 'and says why');

kill 'CONT', $worker;
ok( PgHaTest::poll_until('pg1 rejoins as a replica of pg2', 90,
		sub { PgHaTest::streaming($pg2) eq 'pg1' }),
	'the old leader, woken up, rejoins as a replica');
is(leader_key(), 'pg2', 'pg2 leads');

# ---------------------------------------------------------------------
# 2. The whole leader frozen (every process of pg2 stopped) beyond ttl:
#    pg1 takes over; a transaction that had written before the freeze
#    cannot commit after the wake-up.

my $bg = $pg2->background_psql('postgres', on_error_stop => 0);
$bg->query_safe("BEGIN; INSERT INTO w VALUES ('in-flight', now())");
my $pm = $pg2->{_pid};
my @pids = ($pm, split /\s+/, `pgrep -P $pm`);
kill 'STOP', @pids;
ok(PgHaTest::poll_until('pg1 takes over', 10 * $ttl_s, sub { leader_key() eq 'pg1' }),
	'with the whole leader frozen, pg1 takes the key');
ok(PgHaTest::poll_until('pg1 writable', 30, sub { defined write_on($pg1) }),
	'pg1 takes writes');
kill 'CONT', @pids;
# either the commit-time check refuses the COMMIT, or the waking worker
# has already terminated the session: both leave nothing committed
my $refusal = eval { $bg->query('COMMIT'); $bg->{stderr} } // "session ended: $@";
my $in_flight = $pg1->safe_psql('postgres', "SELECT count(*) FROM w WHERE node = 'in-flight'");
is($in_flight, '0', 'the in-flight transaction of the frozen leader is not on the new leader');
like($refusal, qr/does not hold the leader lease|terminating connection|session ended|fenced/,
	'its COMMIT after the wake-up was refused');
eval { $bg->quit };
ok( PgHaTest::poll_until('pg2 rejoins', 90, sub { PgHaTest::streaming($pg1) eq 'pg2' }),
	'the frozen leader rejoins as a replica once awake');
my $lsn = $pg1->lsn('insert');
$pg1->wait_for_catchup($pg2, 'replay', $lsn);
is($pg2->safe_psql('postgres', "SELECT count(*) FROM w WHERE node = 'in-flight'"), '0',
	'and the in-flight write is nowhere');

done_testing();
