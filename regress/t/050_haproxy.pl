# A real HAProxy with the documented configuration (docs/haproxy.cfg) in
# front of three nodes: writes through the primary port reach the leader,
# reads through the replica port reach replicas only, and after a failover
# the primary port leads to the new leader.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use HTTP::Tiny;

use PgHaTest;

my $haproxy_bin = PgHaTest::haproxy_binary();
plan skip_all => 'haproxy not installed' unless defined $haproxy_bin;

my $consul = PgHaTest::Consul->start();
my %common = (cluster => 'otus', consul => $consul);
my %api = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } qw(pg1 pg2 pg3);
sub api_conf { "pg_ha.api_listen = '127.0.0.1:$api{$_[0]}'" }

my $pg1 = PgHaTest::new_node('pg1', %common, extra_conf => api_conf('pg1'));
$pg1->start;
ok(PgHaTest::poll_until('pg1 leads', 60, sub { $pg1->psql('postgres', 'SELECT 1') == 0 }),
	'pg1 is the leader');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common, extra_conf => api_conf('pg2'));
my $pg3 = PgHaTest::new_replica('pg3', $pg1, %common, extra_conf => api_conf('pg3'));
$_->start for ($pg2, $pg3);
my %node = (pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);

# the documented configuration, with this test's ports
my %port = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } qw(primary replicas stats);
my $cfg = slurp_file(dirname(abs_path(__FILE__)) . '/../../docs/haproxy.cfg');
$cfg =~ s/127\.0\.0\.1:7000/127.0.0.1:$port{stats}/;
$cfg =~ s/127\.0\.0\.1:5000/127.0.0.1:$port{primary}/;
$cfg =~ s/127\.0\.0\.1:5001/127.0.0.1:$port{replicas}/;
my %default_pg = (pg1 => 5432, pg2 => 5433, pg3 => 5434);
my %default_api = (pg1 => 8008, pg2 => 8009, pg3 => 8010);
for my $n (qw(pg1 pg2 pg3))
{
	my ($p, $a) = ($node{$n}->port, $api{$n});
	$cfg =~ s/(server $n) 127\.0\.0\.1:$default_pg{$n} (.*) port $default_api{$n}$/$1 127.0.0.1:$p $2 port $a/mg;
}
unlike($cfg, qr/:543[234] |port 80(08|09|10)$/m, 'every documented port was replaced');
my $dir = PostgreSQL::Test::Utils::tempdir();
my $cfg_file = "$dir/haproxy.cfg";
PostgreSQL::Test::Utils::append_to_file($cfg_file, $cfg);
system($haproxy_bin, '-q', '-f', $cfg_file, '-D', '-p', "$dir/haproxy.pid") == 0
  or BAIL_OUT('haproxy did not start');
my $haproxy_pid = PostgreSQL::Test::Utils::slurp_file("$dir/haproxy.pid");
chomp $haproxy_pid;
END { kill 'TERM', $haproxy_pid if $haproxy_pid; }

# psql through HAProxy: the port of the server that answered
sub via
{
	my ($which, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-p', $port{$which},
			'-d', 'postgres', '-c', $sql ], '>', \$out, '2>', \$err);
	chomp $out;
	note("psql via $which: $err") if $err ne '';
	return $out;
}

# The servers HAProxy has UP in a section, from its stats page.  HAProxy
# starts with every server UP until its checks say otherwise.
sub up_servers
{
	my ($section) = @_;
	my $r = HTTP::Tiny->new(timeout => 2)->get("http://127.0.0.1:$port{stats}/;csv");
	return '' unless $r->{success};
	my @up = map { (split /,/)[1] }
	  grep { /^\Q$section\E,pg\d,/ && (split /,/)[17] eq 'UP' }
	  split /\n/, $r->{content};
	return join(',', sort @up);
}

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
via('primary', 'INSERT INTO t VALUES (2)');
is($node{$new}->safe_psql('postgres', 'SELECT count(*) FROM t'), '2',
	"writes through HAProxy land on the new leader $new");

done_testing();
