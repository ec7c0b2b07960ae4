# Two-phase commit on a leader whose lease ran out.  Its HA worker is
# frozen (SIGSTOP), so nothing terminates the session opened before: only
# the commit-time checks stand between it and a write.  COMMIT PREPARED
# and ROLLBACK PREPARED are refused with pg_ha's error, PREPARE TRANSACTION
# too, and the prepared transactions are left as they were; once the
# worker runs again and the lease is back, COMMIT PREPARED works.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $ttl_s = 10;
my $pg1 = PgHaTest::new_node('pg1', cluster => 'twophase', consul => $consul,
	ttl => "${ttl_s}s", extra_conf => 'max_prepared_transactions = 5');
$pg1->start;
ok( PgHaTest::poll_until(
		'pg1 accepts connections', 30,
		sub { $pg1->psql('postgres', 'SELECT 1') == 0 }),
	'pg1 leads and accepts connections');

$pg1->safe_psql('postgres', 'CREATE EXTENSION pg_ha; CREATE TABLE t (id int)');
$pg1->safe_psql('postgres',
	"BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'p_commit'");
$pg1->safe_psql('postgres',
	"BEGIN; INSERT INTO t VALUES (2); PREPARE TRANSACTION 'p_rollback'");

# a session opened while the lease runs, kept open across its end
my $bg = $pg1->background_psql('postgres', on_error_stop => 0);
$bg->query_safe('SELECT 1');

# one statement in $bg: (stdout, stderr of that statement alone)
sub bg_run
{
	my ($sql) = @_;
	$bg->{stderr} = '';
	my $out = $bg->query($sql);
	return ($out, $bg->{stderr});
}

my $worker = $pg1->safe_psql('postgres', 'SELECT worker_pid FROM pg_ha_node');
my $frozen = 0;
END { kill 'CONT', $worker if $frozen; }
kill 'STOP', $worker or die "SIGSTOP of the HA worker: $!";
$frozen = 1;

ok( PgHaTest::poll_until(
		'the lease runs out', 3 * $ttl_s,
		sub { (bg_run('SELECT lease_remaining IS NULL FROM pg_ha_node'))[0] eq 't' }),
	"with its HA worker frozen, pg1's lease runs out");
is((bg_run('SELECT fenced FROM pg_ha_node'))[0], 'f',
	'the frozen worker has not fenced the node: the session is still open');

my ($out, $err) = bg_run("COMMIT PREPARED 'p_commit'");
like($err,
	qr/ERROR:  pg_ha: cannot commit, node "pg1" does not hold the leader lease/,
	'COMMIT PREPARED is refused with pg_ha\'s error');
like($err, qr/HINT:  Prepared transaction "p_commit" is left as it is/,
	'... and says the prepared transaction is kept');

($out, $err) = bg_run("ROLLBACK PREPARED 'p_rollback'");
like($err,
	qr/ERROR:  pg_ha: cannot roll back prepared transaction "p_rollback", node "pg1" does not hold the leader lease/,
	'ROLLBACK PREPARED is refused: the leader decides a prepared transaction');

($out, $err) = bg_run("BEGIN; INSERT INTO t VALUES (3); PREPARE TRANSACTION 'p_late'");
like($err,
	qr/ERROR:  pg_ha: cannot commit, node "pg1" does not hold the leader lease/,
	'PREPARE TRANSACTION is refused');
bg_run('ROLLBACK');

($out, $err) = bg_run('SELECT gid FROM pg_prepared_xacts ORDER BY gid');
is($out, "p_commit\np_rollback", 'both prepared transactions are left as they were');
($out, $err) = bg_run('SELECT count(*) FROM t');
is($out, '0', 'nothing of them is visible');

# the worker wakes up: it renews the lease or fences first (ending $bg)
kill 'CONT', $worker;
$frozen = 0;
eval { $bg->quit };
ok( PgHaTest::poll_until(
		'COMMIT PREPARED with the lease back', 60,
		sub { $pg1->psql('postgres', "COMMIT PREPARED 'p_commit'") == 0 }),
	'with the lease back, COMMIT PREPARED works');
$pg1->safe_psql('postgres', "ROLLBACK PREPARED 'p_rollback'");
is($pg1->safe_psql('postgres', 'SELECT string_agg(id::text, \',\') FROM t'),
	'1', 'the committed prepared transaction is there, the other is not');
is($pg1->safe_psql('postgres', 'SELECT count(*) FROM pg_prepared_xacts'),
	'0', 'no prepared transaction left');

$pg1->stop('fast');
done_testing();
