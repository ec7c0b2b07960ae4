# A real HAProxy with the documented configuration (docs/haproxy.cfg) in
# front of three nodes: writes through the primary port reach the leader,
# reads through the replica port reach replicas only, and after a failover
# the primary port leads to the new leader.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $haproxy_bin = PgHaTest::haproxy_binary();
plan skip_all => 'haproxy not installed' unless defined $haproxy_bin;

my $consul = PgHaTest::Consul->start();
my %common = (cluster => 'otus', consul => $consul);

my $pg1 = PgHaTest::new_node('pg1', %common);
$pg1->start;
ok(PgHaTest::poll_until('pg1 leads', 60, sub { $pg1->psql('postgres', 'SELECT 1') == 0 }),
	'pg1 is the leader');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common);
my $pg3 = PgHaTest::new_replica('pg3', $pg1, %common);
$_->start for ($pg2, $pg3);
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);

# the documented configuration, with this test's ports
my $haproxy = PgHaTest::HAProxy->start(%node);
unlike($haproxy->config, qr/:543[234] |port 80(08|09|10)$/m, 'every documented port was replaced');

sub via        { return $haproxy->via(@_) }
sub up_servers { return $haproxy->up(@_) }

ok( PgHaTest::poll_until('HAProxy has only pg1 UP for the primary port', 60,
		sub { up_servers('primary') eq 'pg1' }),
	"HAProxy's checks mark only the leader UP on the primary port");
ok( PgHaTest::poll_until('HAProxy has both replicas UP for the replica port', 60,
		sub { up_servers('replicas') eq 'pg2,pg3' }),
	"and only the two replicas UP on the replica port");
is(via('primary', 'SELECT inet_server_port()'), $pg1->port, 'the primary port leads to the leader');
via('primary', 'CREATE TABLE t (id int)');
via('primary', 'INSERT INTO t VALUES (1)');
is($pg1->safe_psql('postgres', 'SELECT count(*) FROM t'), '1', 'a write through HAProxy landed on the leader');

my %seen;
ok( PgHaTest::poll_until('both replicas answer on the replica port', 60,
		sub {
			my $r = via('replicas', 'SELECT inet_server_port() || \',\' || pg_is_in_recovery()');
			$seen{$r} = 1 if $r ne '';
			return exists $seen{ $pg2->port . ',true' } && exists $seen{ $pg3->port . ',true' };
		}),
	'reads through the replica port reach both replicas')
  or diag('seen: ' . join(' ', sort keys %seen));
ok(!exists $seen{ $pg1->port . ',false' }, 'and never the leader');

# failover: kill -9 of the leader
$pg1->kill9;
my $new;
ok( PgHaTest::poll_until('writes reach a new leader', 60,
		sub {
			my $p = via('primary', 'SELECT inet_server_port() || \',\' || pg_is_in_recovery()');
			note("primary port answered: $p");
			($new) = grep { $p eq $node{$_}->port . ',false' } qw(pg2 pg3);
			return defined $new;
		}),
	'after a failover the primary port leads to the new leader');
# Until its checks mark the dead leader DOWN, HAProxy may still pick it,
# and without retries (haproxy.cfg) such a connection fails at once:
# clients reconnect.  Once only the new leader is UP, every write lands.
ok(PgHaTest::poll_until('only the new leader UP on the primary port', 30,
		sub { up_servers('primary') eq $new }),
	"only $new is UP on the primary port");
via('primary', 'INSERT INTO t VALUES (2)');
is($node{$new}->safe_psql('postgres', 'SELECT count(*) FROM t'), '2',
	"writes through HAProxy land on the new leader $new");

done_testing();
