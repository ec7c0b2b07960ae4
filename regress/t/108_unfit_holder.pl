# A leader key holder that cannot lead gives the key up (issue 14, path 6).
#
# 1. The HA worker ended alone by SIGTERM (kill by an operator or a
#    script; pg_terminate_backend refuses it, not being a backend): it
#    exited 0 and was never started again.  Now it exits 1, the postmaster
#    starts it again a second later, and it goes on leading with the same
#    session.
# 2. A holder that may not lead and stays so (here: standby.signal written
#    while the server still runs as a primary, as a demotion that failed
#    half-way leaves it) renewed the key for ever, and nobody took over.
#    Now it gives the key up after a ttl, and a replica takes over.
# 3. The initialize key deleted while a leader runs: only the leader
#    writes it again, with its own system identifier.
# 4. A second node started under a name in use (path 8): it refuses to
#    join and never streams or leads under that name.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;
use PgHaTest::Checker;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my $ttl_s  = 6;
my %common = (cluster => 'otus', consul => $consul, ttl => "${ttl_s}s",
	loop_wait => '500ms', retry_timeout => '1s');

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }
sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

sub worker_pid
{
	my ($node) = @_;
	my $out = '';
	$node->psql('postgres', 'SELECT worker_pid FROM pg_ha_node', stdout => \$out);
	return $out;
}

my ($pg1, $pg2) = PgHaTest::start_cluster(names => [qw(pg1 pg2)], options => \%common,
	setup => \&PgHaTest::Checker::create_table);
my %node = (pg1 => $pg1, pg2 => $pg2);
my $checker = PgHaTest::Checker->start(
	nodes => { map { $_ => 'host=127.0.0.1 port=' . $node{$_}->port . ' dbname=postgres' } keys %node });
ok($checker->poll_acked('pg1', 30), 'the checker writes to pg1');

# ---------------------------------------------------------------------
# 1. SIGTERM to the HA worker alone

my $pid = worker_pid($pg1);
like($pid, qr/^\d+$/, "pg1's HA worker runs (PID $pid)");
ok(kill('TERM', $pid), 'SIGTERM to the HA worker alone');
my $back = PgHaTest::poll_until('a new HA worker', 30,
	sub { my $p = worker_pid($pg1); ($p =~ /^\d+$/ && $p ne $pid) ? $p : 0 });
ok($back, "the postmaster started the HA worker again (PID $back)");
my $t_back = PgHaTest::_now();
ok($checker->poll_acked('pg1', 30, $t_back), 'pg1 takes writes again');
is(leader_key(), 'pg1', 'and still holds the leader key: no failover');

# ---------------------------------------------------------------------
# 2. standby.signal under a running primary: it may not lead

my $t_signal = PgHaTest::_now();
open(my $fh, '>', $pg1->data_dir . '/standby.signal') or die "standby.signal: $!";
close($fh);
my $new = PgHaTest::poll_until('pg2 leads', 4 * $ttl_s + 30, sub { leader_key() eq 'pg2' });
ok($new, 'pg1 gave the key up and pg2 took over');
note(sprintf('pg2 leads %.1f s after standby.signal appeared on pg1', PgHaTest::_now() - $t_signal));
ok($pg1->wait_for_log(qr/gave up the leader key of cluster "otus": this node could not lead/),
	'pg1 says why it gave the key up');
ok($checker->poll_acked('pg2', 60, $t_signal), 'pg2 takes writes');

# ---------------------------------------------------------------------
# 3. the initialize key lost while pg2 leads

my $sysid = sql($pg2, 'SELECT system_identifier FROM pg_control_system()');
ok($consul->kv_delete("$prefix/initialize"), 'the initialize key deleted');
ok(PgHaTest::poll_until('initialize back', 30,
		sub { ($consul->kv_get("$prefix/initialize") // '') eq $sysid }),
	'the leader wrote it again with its system identifier');
ok($checker->poll_acked('pg2', 30, PgHaTest::_now()), 'pg2 still takes writes');

# ---------------------------------------------------------------------
# 4. a twin: another replica started under pg1's name

ok(PgHaTest::poll_until('pg1 streams again', 120, sub { PgHaTest::streaming($pg2) eq 'pg1' }),
	'pg1 was restarted as a standby and streams from pg2')
  or note('streaming: ' . PgHaTest::streaming($pg2));
my $twin = PgHaTest::new_replica('twin', $pg2, %common, extra_conf => "pg_ha.node_name = 'pg1'");
$twin->start;
ok($twin->wait_for_log(qr/refuses to join cluster "otus": node name "pg1" is held by another node's session/, 0),
	'a node started under a name in use refuses to join, and says why');
my $count = sql($pg2, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg1'");
is($count, '1', 'one walsender for pg1: the twin does not stream under its name');
$twin->stop('immediate');

$checker->stop;
note('checker: ' . $checker->summary);
my ($ok, $runs) = $checker->no_overlap_in_time;
ok($ok, "never two nodes accepting writes in the same interval: $runs");
my @missing = $checker->missing_on($pg2, 'pg2');
is(scalar(@missing), 0, 'every write pg2 acknowledged is on it');

done_testing();
