# A promotion takes a timeline ID that no other node took (issue 14).
#
# PostgreSQL promotes onto one past the newest history file it has.  A node
# that promoted and died before the others fetched its history file left
# that ID looking free: the next promotion took it too, two histories under
# one ID, and pg_rewind (which compares the numbers) could not rewind the
# old node (found twice by the asynchronous campaign).  Now each promotion
# records its ID in the promotion key before it starts, and the next one
# writes placeholder history files for the IDs the cluster used, so that
# PostgreSQL steps over them.
#
# Here a promotion key says that some node, since gone, started promotions
# up to timeline 4 while the cluster ran on timeline 1.  The leader dies:
# the replica that takes over must land on timeline 5, the other replica
# and the old leader must follow it across the gap, and a second failover
# must go on from 5.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul, ttl => '6s',
	loop_wait => '500ms', retry_timeout => '1s');

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }
sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

sub promotion_key
{
	my $v = $consul->kv_get("$prefix/promotion");
	return defined $v && $v ne '' ? eval { decode_json($v) } // {} : {};
}

sub timeline
{
	my ($node) = @_;
	return sql($node, 'SELECT timeline_id FROM pg_control_checkpoint()');
}

sub writable
{
	my ($node) = @_;
	return PgHaTest::poll_until($node->name . ' takes writes', 60,
		sub { $node->psql('postgres', "INSERT INTO t VALUES (DEFAULT, '" . $node->name . "')") == 0 });
}

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common,
	sql => 'CREATE EXTENSION pg_ha; CREATE TABLE t (id serial PRIMARY KEY, src text)');

# the leader keeps the key at its own timeline (a cluster from before the
# key gets one too)
ok(PgHaTest::poll_until('the promotion key', 30,
		sub { my $p = promotion_key(); ($p->{timeline} // 0) == 1 && ($p->{member} // '') eq 'pg1' }),
	'the leader records its timeline 1 in the promotion key');

# a node since gone started promotions up to timeline 4
ok($consul->kv_put("$prefix/promotion", '{"timeline":4,"member":"pg9"}'),
	'a promotion key says that timeline 4 was taken');
sql($pg1, "INSERT INTO t (src) SELECT 'pg1' FROM generate_series(1, 100)");
my $lsn = $pg1->lsn('insert');
$pg1->wait_for_catchup($_, 'replay', $lsn) for ($pg2, $pg3);

my $pg1_pid = $pg1->{_pid};
$pg1->kill9;
ok(PgHaTest::poll_until('a new leader', 60, sub { leader_key() =~ /^pg[23]$/ }),
	'a replica takes over after kill -9 of the leader');
my $name = leader_key();
my ($new, $other) = $name eq 'pg2' ? ($pg2, $pg3) : ($pg3, $pg2);
ok(writable($new), "$name takes writes");
ok(PgHaTest::poll_until("$name on timeline 5", 30, sub { timeline($new) eq '5' }),
	"$name promoted onto timeline 5, past the IDs taken (not 2)");
like(slurp_file($new->logfile),
	qr/timeline 2 was taken by another node: wrote a placeholder history file/,
	"$name wrote placeholders for the IDs to step over");
my $p = promotion_key();
is_deeply($p, { timeline => 5, member => $name },
	'the promotion key records timeline 5 and who took it, written before the promotion');

ok(PgHaTest::poll_until('history', 30,
		sub { my $h = $consul->kv_get("$prefix/history") // ''; $h =~ /^\[\[1,\d+,/ }),
	'the history key records that timeline 1 ended (its parent, not 4)');
my $history = decode_json($consul->kv_get("$prefix/history"));
is(scalar(@$history), 1, 'one row in the history key');
is($history->[0][4], $name, 'written by the new leader');

ok(PgHaTest::poll_until('the other replica follows', 90,
		sub { PgHaTest::streaming($new) eq $other->name }),
	'the other replica streams from the new leader across the gap of IDs');
$lsn = $new->lsn('insert');
$new->wait_for_catchup($other, 'replay', $lsn);
is(sql($other, "SELECT count(*) FROM t WHERE src = '$name'"), '1',
	"it has the new leader's write");
is(sql($other, 'SELECT received_tli FROM pg_stat_wal_receiver'), '5',
	'and receives timeline 5');

# the old leader comes back: rewound and streaming on timeline 5
ok(PgHaTest::poll_until('old postmaster reaped', 30, sub { !kill(0, $pg1_pid) }),
	'the killed postmaster is gone');
$pg1->start(fail_ok => 1);
ok(PgHaTest::poll_until('pg1 rejoins', 120,
		sub { PgHaTest::streaming($new) eq join(',', sort('pg1', $other->name)) }),
	'the old leader rejoins and streams from the new leader');
$lsn = $new->lsn('insert');
$new->wait_for_catchup($pg1, 'replay', $lsn);
is(sql($pg1, "SELECT count(*) FROM t WHERE src = '$name'"), '1', "pg1 has the new leader's write");

# a second failover goes on from 5
$new->kill9;
ok(PgHaTest::poll_until('another leader', 60,
		sub { my $l = leader_key(); $l ne '' && $l ne $name }),
	'a second failover');
my $name2 = leader_key();
my ($next) = grep { $_->name eq $name2 } ($pg1, $pg2, $pg3);
ok(writable($next), "$name2 takes writes");
ok(PgHaTest::poll_until("$name2 on timeline 6", 30, sub { timeline($next) eq '6' }),
	"$name2 promoted onto timeline 6");
ok(PgHaTest::poll_until('history of two rows', 30,
		sub { my $h = eval { decode_json($consul->kv_get("$prefix/history") // '') } // [];
			  @$h == 2 && $h->[1][0] == 5 }),
	'the history key: timeline 1 ended, then timeline 5');
my ($third) = grep { $_->name ne $name2 && $_->name ne $name } ($pg1, $pg2, $pg3);
ok(PgHaTest::poll_until('the third follows', 90,
		sub { PgHaTest::streaming($next) eq $third->name }),
	'the remaining replica streams from the newest leader');

done_testing();
