# Three nodes: replicas follow the leader through slots, a kill -9 of the
# leader promotes exactly one healthy replica, the other follows without a
# restart, the old leader rejoins (rewound) with the new data, and a
# graceful stop hands over without waiting for any TTL.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);
my $ttl_s = 10;

sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

sub streaming { return PgHaTest::streaming(@_) }

# ---------------------------------------------------------------------
# Bootstrap pg1, clone pg2 and pg3 from it.

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common, writable => 1,
	stream_test => 'pg_stat_replication on the leader shows both replicas streaming');
is( $pg1->safe_psql('postgres',
		"SELECT string_agg(slot_name || ':' || active, ',' ORDER BY slot_name) "
		  . "FROM pg_replication_slots WHERE slot_type = 'physical'"),
	'pg2:true,pg3:true',
	'the leader keeps an active physical slot per replica');
like(slurp_file($pg2->data_dir . '/pg_ha.conf'),
	qr/^primary_conninfo = '.*port=''?@{[ $pg1->port ]}.*application_name=''?pg2/m,
	"pg2's managed file points at pg1");

$pg1->safe_psql('postgres', 'CREATE DATABASE pg2test');
$pg1->safe_psql('pg2test', 'CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
my $lsn = $pg1->lsn('insert');
$pg1->wait_for_catchup($_, 'replay', $lsn) for ($pg2, $pg3);
for my $r ($pg2, $pg3)
{
	is($r->safe_psql('pg2test', 'SELECT count(*) FROM t'), '1',
		$r->name . ' has the database created on the leader');
}
ok( PgHaTest::poll_until('pg_ha_status shows three members', 30,
		sub { $pg1->safe_psql('postgres',
				"SELECT string_agg(member || ':' || role, ',' ORDER BY member) FROM pg_ha_status")
			  eq 'pg1:Leader,pg2:Replica,pg3:Replica' }),
	'pg_ha_status lists the leader and two replicas');

# ---------------------------------------------------------------------
# kill -9 of the leader: exactly one replica takes over, the other follows.

my %start_time = map { $_->name => $_->safe_psql('postgres', 'SELECT pg_postmaster_start_time()') } ($pg2, $pg3);
my $killed_at = time;
my $pg1_pid = $pg1->{_pid};
$pg1->kill9;
ok( PgHaTest::poll_until('a new leader', 3 * $ttl_s,
		sub { leader_key() =~ /^pg[23]$/ }),
	'a replica takes the leader key after kill -9 of the leader');
my $new_name = leader_key();
my ($new, $other) = $new_name eq 'pg2' ? ($pg2, $pg3) : ($pg3, $pg2);
ok(PgHaTest::wait_writable($new), "$new_name is promoted");
note(sprintf('kill -9 to writable new leader: %.1f s', time - $killed_at));
is($other->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't',
	'the other replica stays a replica: exactly one leader');
ok( PgHaTest::poll_until('the other follows the new leader', 60,
		sub { streaming($new) eq $other->name }),
	'the other replica streams from the new leader');
is($other->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	$start_time{ $other->name }, 'it followed with a reload, not a restart');
is($new->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '2',
	'the new leader is on timeline 2');

$new->safe_psql('pg2test', 'INSERT INTO t VALUES (2)');
$new->safe_psql('postgres', 'CREATE DATABASE pg1switchover');

# ---------------------------------------------------------------------
# The old leader comes back: fenced, demoted, rewound, streaming.

# the old postmaster must be gone (reaped) before a new one may start
ok(PgHaTest::poll_until('old postmaster reaped', 30, sub { !kill(0, $pg1_pid) }),
	'the killed postmaster is gone');
ok($pg1->start(fail_ok => 1),
	'pg_ctl start -w of the returning old leader succeeds: pg_ha demotes it only after');
ok( PgHaTest::poll_until('pg1 rejoins as a replica', 90,
		sub { streaming($new) eq join(',', sort('pg1', $other->name)) }),
	'the old leader rejoins and streams from the new leader');
is($pg1->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'pg1 is a replica now');
$lsn = $new->lsn('insert');
$new->wait_for_catchup($pg1, 'replay', $lsn);
is($pg1->safe_psql('pg2test', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'), '1,2',
	'the old leader has the writes of the new one');
is($pg1->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'pg1switchover'"),
	'1', 'and the database created on the new leader');
like(slurp_file($pg1->logfile), qr/pg_ha_ctl rejoin/, 'the rejoin went through pg_ha_ctl');

# ---------------------------------------------------------------------
# Graceful stop of the leader: a replica takes over without any TTL.

my $stopped_at = time;
$new->stop('fast');
ok( PgHaTest::poll_until('another leader after a clean stop', $ttl_s,
		sub { my $l = leader_key(); $l ne '' && $l ne $new_name }),
	'a replica takes over after a graceful stop of the leader');
my $handover = time - $stopped_at;
cmp_ok($handover, '<', $ttl_s / 2,
	sprintf('handover took %.1f s, well below the ttl', $handover));

# The replicas had the shutdown checkpoint: the old leader comes back
# without a rewind and with every write it acknowledged on the new leader.
my $next_name = leader_key();
my ($next) = grep { $_->name eq $next_name } ($pg1, $pg2, $pg3);
ok(PgHaTest::wait_writable($next), "$next_name is promoted");
is($next->safe_psql('pg2test', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'),
	'1,2', 'the new leader has every write acknowledged before the stop');
PgHaTest::start_node($new);
ok( PgHaTest::poll_until('the stopped leader rejoins', 90,
		sub { $new->psql('postgres', 'SELECT pg_is_in_recovery()', stdout => \my $r); ($r // '') eq 't' }),
	'the gracefully stopped leader rejoins as a replica');
$next->wait_for_catchup($new, 'replay', $next->lsn('insert'));
is($new->safe_psql('pg2test', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'),
	'1,2', 'and it has the same data as the new leader');

done_testing();
