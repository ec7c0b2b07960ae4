# A standby whose pg_wal holds a segment of a newer timeline that its
# walreceiver began and never finished (found by the asynchronous fault
# campaign: it followed a leader promoted a moment before, which died
# while the standby streamed the new timeline's copy of the switch-point
# segment).  PostgreSQL prefers the newest timeline's file for a segment:
# promoted, the standby re-reads its last record from the zeros of that
# file and aborts (PANIC: invalid magic number), and it cannot start any
# more.  Here the file is made as the walreceiver leaves it: the first
# page of the segment, zeros after.
#
# 1. pg2, a pg_ha replica that adopted such a timeline while its leader was
#    dead and the cluster paused, is to promote once the cluster resumes:
#    it restarts as a standby with the file moved out of pg_wal first, then
#    promotes, with every row.
# 2. A standby (no pg_ha) stopped with such a file cannot start;
#    pg_ha_ctl rejoin moves the file and starts it.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }

# The name of timeline 1's segment file that holds $lsn (16 MB segments;
# pg_walfile_name() is refused during recovery).
sub segment_name
{
	my ($lsn) = @_;
	my ($hi, $lo) = map { hex } split m{/}, $lsn;
	return sprintf('%08X%08X%08X', 1, $hi, $lo >> 24);
}

# Put into $node's pg_wal what the walreceiver leaves: timeline 2 branching
# off timeline 1 at $lsn, and timeline 2's file of $lsn's segment holding
# only its first page.  Returns that file's name.
sub plant_partial_segment
{
	my ($node, $lsn) = @_;
	return plant_files($node->data_dir . '/pg_wal', $lsn, segment_name($lsn));
}

sub plant_files
{
	my ($wal, $lsn, $segname) = @_;
	my $tl2 = '00000002' . substr($segname, 8);
	open my $h, '>', "$wal/00000002.history" or die $!;
	print $h "1\t$lsn\tno recovery target specified\n";
	close $h;
	open my $in, '<:raw', "$wal/$segname" or die "$wal/$segname: $!";
	read($in, my $page, 8192) == 8192 or die 'short read';
	close $in;
	open my $out, '>:raw', "$wal/$tl2" or die $!;
	print $out $page . ("\0" x (16 * 1024 * 1024 - 8192));
	close $out;
	return $tl2;
}

# ---------------------------------------------------------------------
# 1. The HA worker before a promotion

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul, ttl => '6s',
	loop_wait => '500ms', retry_timeout => '1s');

my ($pg1, $pg2) = PgHaTest::start_cluster(names => [qw(pg1 pg2)], options => \%common,
	sql => 'CREATE EXTENSION pg_ha; CREATE TABLE t (id int PRIMARY KEY, pad text)');
# the end of WAL well inside a segment, past its first page
sql($pg1, "SELECT pg_switch_wal(); INSERT INTO t SELECT i, repeat('x', 200) FROM generate_series(1, 2000) i");
my $end = $pg1->lsn('insert');
$pg1->wait_for_catchup($pg2, 'replay', $end);

like(sql($pg2, 'SELECT pg_ha_pause()'), qr/paused/, 'the cluster is paused: no automatic failover');
my $pg1_pid = $pg1->{_pid};
$pg1->kill9;
ok(PgHaTest::poll_until('pg2 streams no more', 30,
		sub { sql($pg2, 'SELECT count(*) FROM pg_stat_wal_receiver') eq '0' }),
	'pg2 lost its upstream');
my $replayed = sql($pg2, 'SELECT pg_last_wal_replay_lsn()');
my $partial = plant_partial_segment($pg2, $replayed);
note("planted $partial, timeline 2 from $replayed");
ok($pg2->wait_for_log(qr/new target timeline is 2/),
	'pg2 adopted timeline 2 (its history file), as after following a new leader');

like(sql($pg2, 'SELECT pg_ha_resume()'), qr/resumed/, 'the cluster resumes: pg2 is to take over');
ok($pg2->wait_for_log(qr/does not promote yet: pg_wal holds $partial, a segment of a newer timeline that its walreceiver began and never finished/),
	'pg2 sees the unfinished segment before it promotes');
ok($pg2->wait_for_log(qr/moved $partial out of pg_wal/), 'its rejoin moves the file out of pg_wal');
ok(-f $pg2->data_dir . "/pg_ha_partial_wal/$partial", '... into pg_ha_partial_wal/');
ok(PgHaTest::poll_until('pg2 takes writes', 90,
		sub { $pg2->psql('postgres', "INSERT INTO t VALUES (100000, 'pg2')") == 0 }),
	'pg2 promoted after the restart and takes writes');
is(sql($pg2, 'SELECT count(*) FROM t'), '2001', 'with every row pg1 had');
unlike(slurp_file($pg2->logfile), qr/PANIC|terminated by signal/, 'no PANIC, no process killed by a signal');
like(sql($pg2, 'SELECT timeline_id FROM pg_control_checkpoint()'), qr/^[3-9]$/,
	'on a timeline past the planted one');

# ---------------------------------------------------------------------
# 2. A stopped standby with such a file: pg_ha_ctl rejoin

my $p = PostgreSQL::Test::Cluster->new('p');
$p->init(allows_streaming => 1);
$p->start;
$p->safe_psql('postgres',
	"CREATE TABLE u (id int); SELECT pg_switch_wal(); INSERT INTO u SELECT generate_series(1, 5000)");
$p->backup('b');
my $s = PostgreSQL::Test::Cluster->new('s');
$s->init_from_backup($p, 'b', has_streaming => 1);
$s->start;
$p->safe_psql('postgres', 'INSERT INTO u SELECT generate_series(5001, 6000)');
$p->wait_for_catchup($s, 'replay', $p->lsn('insert'));
$p->stop('fast');
my $s_end = sql($s, 'SELECT pg_last_wal_replay_lsn()');
$s->stop('fast');
my $file = plant_partial_segment($s, $s_end);

ok(!$s->start(fail_ok => 1) || !PgHaTest::poll_until('s consistent', 10,
		sub { $s->psql('postgres', 'SELECT 1') == 0 }),
	'with the unfinished segment the standby does not come up');
$s->stop('immediate', fail_ok => 1) if -f $s->data_dir . '/postmaster.pid';

my $log = $s->basedir . '/rejoin.log';
PgHaTest::stop_at_end($s->data_dir);
IPC::Run::run([ 'pg_ha_ctl', 'rejoin', '-D', $s->data_dir ],
	'<', \undef, '>>', $log, '2>>', $log, IPC::Run::timeout(180));
my $rc = $? >> 8;
my $out = slurp_file($log);
note($out);
is($rc, 0, 'pg_ha_ctl rejoin exits 0');
like($out, qr/moved $file out of pg_wal/, 'it moved the unfinished segment out of pg_wal');
ok(PgHaTest::poll_until('s consistent', 60, sub { $s->psql('postgres', 'SELECT 1') == 0 }),
	'the standby starts and accepts connections');
is(sql($s, 'SELECT count(*) FROM u'), '6000', 'with all it had replayed');

done_testing();
