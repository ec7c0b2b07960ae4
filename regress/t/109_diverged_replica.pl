# A replica whose WAL went past the fork point of the new timeline (issue
# 14, path 3).  pg3 (nofailover) received WAL from pg1 that pg2 never got;
# pg1 dies and pg2 takes over on a new timeline that forks before pg3's
# position.  Before, positions were compared across timelines: pg3 kept
# publishing a higher position than the new leader (and could win the next
# race), and it could not follow: PostgreSQL refuses a timeline that forked
# before its recovery point.  Now the history key tells where timeline 1
# ended; pg3 sees that its WAL went past it, is rewound, and streams from
# pg2 with pg2's data.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul, ttl => '6s',
	loop_wait => '500ms', retry_timeout => '1s');

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }
sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common,
	sql => 'CREATE EXTENSION pg_ha; CREATE TABLE t (id int PRIMARY KEY, src text)',
	node_options => {
		# pg2 reconnects only 10 minutes after its walreceiver ends
		pg2 => { extra_conf => "wal_retrieve_retry_interval = '10min'" },
		pg3 => { extra_conf => 'pg_ha.nofailover = on' } });
sql($pg1, "INSERT INTO t SELECT i, 'before' FROM generate_series(1, 100) i");
ok(PgHaTest::poll_until('both replay it', 30, sub {
			sql($pg2, 'SELECT count(*) FROM t') == 100 && sql($pg3, 'SELECT count(*) FROM t') == 100 }),
	'both replicas have the first rows');

# pg2's walreceiver ended: what pg1 writes now reaches pg3 only
my $wr = sql($pg2, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walreceiver'");
like($wr, qr/^\d+$/, "pg2's walreceiver (PID $wr)");
kill 'TERM', $wr;
ok(PgHaTest::poll_until('pg2 streams no more', 30, sub { PgHaTest::streaming($pg1) eq 'pg3' }),
	'pg2 no longer streams');
sql($pg1, "INSERT INTO t SELECT i, 'pg3 only' FROM generate_series(101, 200) i");
ok(PgHaTest::poll_until('pg3 has them', 30, sub { sql($pg3, 'SELECT count(*) FROM t') == 200 }),
	'pg3 received rows pg2 did not');

# pg1 dies; pg3 may not take over (nofailover): pg2 does, on timeline 2
$pg1->kill9;
ok(PgHaTest::poll_until('pg2 leads', 60, sub { leader_key() eq 'pg2' }), 'pg2 takes over');
ok(PgHaTest::poll_until('pg2 writable', 60,
		sub { $pg2->psql('postgres', "INSERT INTO t VALUES (1000, 'pg2')") == 0 }),
	'pg2 takes writes on its new timeline');
is(sql($pg2, 'SELECT count(*) FROM t WHERE id <= 200'), '100', 'pg2 never got the rows only pg3 has');

ok($pg3->wait_for_log(qr/went past the end of timeline 1 at [0-9A-F]+\/[0-9A-F]+: rewinding it to follow leader "pg2"/),
	'pg3 sees that its WAL went past the fork point, and rewinds');
ok(PgHaTest::poll_until('pg3 streams from pg2', 120, sub { PgHaTest::streaming($pg2) eq 'pg3' }),
	'pg3 streams from pg2 after the rewind');
ok(PgHaTest::poll_until('pg3 has pg2 data', 60,
		sub { sql($pg3, "SELECT count(*) FROM t WHERE id <= 200") eq '100'
			  && sql($pg3, "SELECT count(*) FROM t WHERE id = 1000") eq '1' }),
	"pg3 has pg2's data, not the abandoned rows");
cmp_ok(sql($pg3, 'SELECT received_tli FROM pg_stat_wal_receiver'), '>=', 2,
	'pg3 receives the new timeline');

done_testing();
