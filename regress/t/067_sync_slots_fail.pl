# A slot the leader cannot make does not stop synchronous mode (issue 14,
# path 7).  The leader's housekeeping made the members' slots and managed
# the synchronous standby inside one error handler, so a slot error every
# round (all replication slots in use, a logical slot named like a member)
# skipped the synchronous standby's management every round too: once the
# synchronous standby died, commits hung, although synchronous_mode_strict
# is off.  Each step now fails alone.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);

sub sql { my ($node, $q) = @_; return $node->safe_psql('postgres', $q) }

my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common,
	sql => 'CREATE EXTENSION pg_ha; CREATE TABLE acks (id int PRIMARY KEY)',
	stream_test => 'both replicas stream from pg1');

like(sql($pg1, "SELECT pg_ha_set_config('synchronous_mode', 'on')"), qr/set/,
	'synchronous_mode on (not strict)');
my $sync = PgHaTest::poll_until('a synchronous standby', 60, sub {
		my $v = sql($pg1, "SELECT string_agg(application_name, ',') FROM pg_stat_replication WHERE sync_state = 'sync'");
		$v =~ /^pg[23]$/ ? $v : 0 });
ok($sync, "the leader waits for $sync");
my ($standby, $other) = $sync eq 'pg2' ? ($pg2, $pg3) : ($pg3, $pg2);

# The other replica loses its slot, and every free slot is taken: the
# leader fails to make that slot again at every round.
$other->stop;
sql($pg1, "SELECT pg_drop_replication_slot('" . $other->name . "')");
my $free = sql($pg1, "SELECT current_setting('max_replication_slots')::int - count(*) FROM pg_replication_slots");
sql($pg1, "SELECT pg_create_physical_replication_slot('filler_' || i) FROM generate_series(1, $free) i");
my $offset = -s $pg1->logfile;
$other->start;
ok($pg1->wait_for_log(qr/all replication slots are in use/, $offset),
	'the leader cannot make the slot of ' . $other->name . ': all replication slots are in use');

# The synchronous standby dies: the leader must pick another standby or
# none (not strict), and commits go on.
$standby->stop('immediate');
my $t0 = PgHaTest::_now();
my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $pg1->connstr('postgres'),
	  '-c', 'INSERT INTO acks VALUES (1)' ],
	'>', \$out, '2>', \$err);
ok(PgHaTest::poll_until('the commit returns', 60, sub { $h->pump_nb if $h->pumpable; !$h->pumpable }),
	'a commit after the synchronous standby died does not hang');
ok($h->finish, 'and succeeds') or diag($err);
note(sprintf('commit returned %.1f s after the standby stopped', PgHaTest::_now() - $t0));
ok(sql($pg1, 'SHOW synchronous_standby_names') !~ /\b${\ $standby->name}\b/,
	'the dead standby is no longer in synchronous_standby_names');

sql($pg1, "SELECT pg_drop_replication_slot('filler_' || i) FROM generate_series(1, $free) i");
done_testing();
