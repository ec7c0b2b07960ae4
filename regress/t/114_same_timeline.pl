# Two promotions that took the same timeline ID from the same point (issue
# 14, found by the randomized fault campaign): a and b, standbys of p,
# are promoted independently after p stopped, both to timeline 2 from the
# end of timeline 1.  Their history files are byte-identical, so the
# history check of the rejoin sees nothing and pg_rewind answers "no
# rewind required"; a then never streams from b (its WAL past the fork is
# not b's).  The rejoin now compares the WAL at its latest checkpoint with
# the source's: a (behind b, other bytes there) and d (ahead of b) are
# cloned again from b, their directories kept.  A standby of b that is
# merely behind is rejoined without a clone.  No Consul: pg_ha_ctl rejoin
# needs only the data directory and the source.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;


sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }

sub conninfo
{
	my ($node) = @_;
	return 'host=' . $node->host . ' port=' . $node->port;
}

# pg_ha_ctl rejoin of $node from $source, as the HA worker runs it: its
# output and the server's in one log.  Returns the exit code and the log.
sub rejoin
{
	my ($node, $source) = @_;
	my $log = $node->basedir . '/rejoin.log';
	my $src = conninfo($source) . ' user=replicator dbname=postgres';
	PgHaTest::stop_at_end($node->data_dir);
	print "# running: pg_ha_ctl rejoin -D " . $node->data_dir . " --source-conninfo '$src'\n";
	IPC::Run::run([ 'pg_ha_ctl', 'rejoin', '-D', $node->data_dir, '--source-conninfo', $src ],
		'<', \undef, '>>', $log, '2>>', $log, IPC::Run::timeout(240));
	my $rc = $? >> 8;
	my $out = slurp_file($log);
	print "# exit code $rc\n# log:\n" . join('', map { "#   $_\n" } split /\n/, $out);
	return ($rc, $out);
}

sub streams_from
{
	my ($node, $upstream) = @_;
	return sql($node, 'SELECT status, sender_port FROM pg_stat_wal_receiver') eq
	  'streaming|' . $upstream->port;
}

my $p = PostgreSQL::Test::Cluster->new('p');
$p->init(allows_streaming => 1);
# what pg_rewind needs; b keeps the segments the rejoins compare
$p->append_conf('postgresql.conf', "wal_log_hints = on\nwal_keep_size = '512MB'");
$p->start;
# the replication role of pg_ha_ctl init, with what pg_rewind needs
sql($p, q{
	CREATE ROLE replicator REPLICATION LOGIN;
	GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean),
		pg_catalog.pg_stat_file(text, boolean),
		pg_catalog.pg_read_binary_file(text),
		pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO replicator;
	GRANT pg_checkpoint TO replicator;
	CREATE TABLE t (id int PRIMARY KEY, src text);
	INSERT INTO t SELECT i, 'p' FROM generate_series(1, 100) i;
});
$p->backup('p_backup');
my %node;
foreach my $name (qw(a b d))
{
	$node{$name} = PostgreSQL::Test::Cluster->new($name);
	$node{$name}->init_from_backup($p, 'p_backup', has_streaming => 1);
	$node{$name}->start;
}
my ($na, $nb, $nd) = @node{qw(a b d)};
sql($p, "INSERT INTO t SELECT i, 'p' FROM generate_series(101, 200) i");
$p->wait_for_catchup($_) foreach ($na, $nb, $nd);
# a fast shutdown sends its last WAL to the standbys before it ends
$p->stop;

# Each promoted on its own from the end of timeline 1: none streams from
# another, so none sees the others' history file.
$na->promote;
sql($na, "INSERT INTO t SELECT i, 'a' FROM generate_series(1001, 1010) i");
$nb->promote;
sql($nb, "INSERT INTO t SELECT i, 'b' FROM generate_series(1001, 2000) i");
$nd->promote;
sql($nd, "INSERT INTO t SELECT i, 'd' FROM generate_series(1001, 30000) i");

my $history = slurp_file($nb->data_dir . '/pg_wal/00000002.history');
like($history, qr/^1\t[0-9A-F]+\/[0-9A-F]+\t/, 'b forked timeline 2 off timeline 1');
is(slurp_file($na->data_dir . '/pg_wal/00000002.history'), $history,
	'a wrote the same history file for timeline 2');
is(slurp_file($nd->data_dir . '/pg_wal/00000002.history'), $history,
	'd wrote the same history file for timeline 2');
is(sql($_, 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)'), '00000002',
	$_->name . ' writes timeline 2')
  foreach ($na, $nb, $nd);
my %lsn = map { $_ => sql($node{$_}, 'SELECT pg_current_wal_lsn()') } qw(a b d);
is(sql($nb, "SELECT '$lsn{a}'::pg_lsn < '$lsn{b}' AND '$lsn{b}'::pg_lsn < '$lsn{d}'"), 't',
	"a's WAL ends before b's ($lsn{a} < $lsn{b}), d's after it ($lsn{d})");

# to follow b once rejoined
foreach my $node ($na, $nd)
{
	$node->append_conf('postgresql.conf',
		"primary_conninfo = '" . conninfo($nb) . " user=replicator'");
	$node->stop;
}

# d first: b's WAL ends before d's latest checkpoint.  (Cloning d makes b
# switch to a new segment, which would put b ahead of d.)
my ($rc, $log) = rejoin($nd, $nb);
is($rc, 0, 'rejoin of d from b succeeds');
like($log, qr/this node and the source are both on timeline 2, but this node's WAL goes to [0-9A-F]+\/[0-9A-F]+ and the source's ends at [0-9A-F]+\/[0-9A-F]+: two promotions took the same timeline ID from the same point/,
	'd: its WAL goes past the end of the source\'s on the same timeline');

# a: b's WAL goes past a's latest checkpoint, with other bytes there
($rc, $log) = rejoin($na, $nb);
is($rc, 0, 'rejoin of a from b succeeds');
like($log, qr/this node and the source are both on timeline 2, but this node's WAL at [0-9A-F]+\/[0-9A-F]+ is not the source's: two promotions took the same timeline ID from the same point/,
	'a: its WAL at its latest checkpoint is not the source\'s');

foreach my $node ($nd, $na)
{
	my $name = $node->name;
	my $dir  = $node->data_dir;
	$log = slurp_file($node->basedir . '/rejoin.log');
	unlike($log, qr/no rewind required/, "$name: pg_rewind not asked");
	like($log, qr/pg_rewind cannot rewind across two histories of one timeline: the node is cloned again/,
		"$name is cloned again");
	my @old = glob("$dir.pg_ha_old.*");
	is(scalar(@old), 1, "$name: its former directory is kept beside it");
	ok(-e "$old[0]/PG_VERSION", "$name: ... whole");
	is(sql($node, 'SELECT pg_is_in_recovery()'), 't', "$name runs as a standby");
	is(sql($node, "SELECT count(*) FROM t WHERE src = 'b'"), '1000', "$name has b's rows");
	is(sql($node, "SELECT count(*) FROM t WHERE src <> 'b' AND id > 1000"), '0',
		"$name has none of its own rows of timeline 2");
}
# $node streams from b, and $query on it gives $want, within a minute
sub streams_with
{
	my ($node, $query, $want) = @_;
	return PgHaTest::poll_until($node->name . ' streams from b', 60,
		sub { streams_from($node, $nb) && sql($node, $query) eq $want });
}

sql($nb, "INSERT INTO t VALUES (100000, 'after the clones')");
foreach my $node ($na, $nd)
{
	my $name = $node->name;
	ok(streams_with($node, 'SELECT count(*) FROM t WHERE id = 100000', '1'),
		"$name streams from b and replays its new writes");
}

# A standby of b, on timeline 2, merely behind: rejoined as it is.
$nb->backup('b_backup');
my $ns = PostgreSQL::Test::Cluster->new('s');
$ns->init_from_backup($nb, 'b_backup', has_streaming => 1);
$ns->start;
$nb->wait_for_catchup($ns);
$ns->stop;
sql($nb, "INSERT INTO t SELECT i, 'b' FROM generate_series(6001, 7000) i");
($rc, $log) = rejoin($ns, $nb);
is($rc, 0, 'rejoin of s, a standby of b that is behind, succeeds');
like($log, qr/this node's WAL at [0-9A-F]+\/[0-9A-F]+ is in the source's too \(timeline 2\)/,
	's: its WAL is found in the source\'s');
like($log, qr/no rewind required/, 's: pg_rewind finds nothing to rewind');
unlike($log, qr/cloned again|two promotions/, 's is not cloned again');
my $sdir = $ns->data_dir;
ok(!glob("$sdir.pg_ha_*"), 's: no clone or former directory beside it');
ok(streams_with($ns, 'SELECT count(*) FROM t WHERE id BETWEEN 6001 AND 7000', '1000'),
	's streams from b and catches up');

done_testing();
