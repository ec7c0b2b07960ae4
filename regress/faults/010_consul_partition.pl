# The leader cut off from Consul while its clients and replicas still
# reach it (DESIGN.md invariants 1 and 3).  Every node runs in a network
# namespace of its own with two links: one to Consul, one to the clients
# and the other nodes (PgHaTest::Netns).  The leader's Consul link is cut
# while a checker writes to every node: the leader fences itself within
# the ttl, a replica takes over, the two never take writes in the same
# interval; once the link is back, the old leader rejoins as a replica on
# its own.
#
# Runs as root (scripts/test.sh, make faultcheck); the servers and the
# test itself run as $PG_HA_TEST_USER (default postgres).
use strict;
use warnings;

our $lab;
BEGIN
{
	require PgHaTest::Netns;
	# 020_consul_partition_sync.pl has set it up already
	$lab //= PgHaTest::Netns->setup(nodes => [qw(pg1 pg2 pg3)]);
}

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;
use PgHaTest::Checker;

# Synchronous mode promises that no acknowledged write is lost; without
# it, the writes the leader acknowledged but no replica had yet may be.
# 020_consul_partition_sync.pl runs this test with $synchronous set.
our $synchronous //= 0;

my $ttl_s  = 4;
my $prefix = 'service/otus';

# Consul in the hub: the test on 127.0.0.1, the nodes over the dcs network.
my $consul = PgHaTest::Consul->start(
	extra_config => { client_addr => '127.0.0.1 ' . $lab->hub_addr('dcs') });

sub leader_key { return eval { $consul->kv_get("$prefix/leader") } // '' }

my %common = (cluster => 'otus', ttl => "${ttl_s}s", loop_wait => '500ms',
	retry_timeout => '1s');

my $pg1 = PgHaTest::new_node('pg1', $lab->node_opts('pg1', consul => $consul, %common));
ok($lab->start_node($pg1, 'pg1'), 'pg1 starts in its namespace');
ok(PgHaTest::poll_until('pg1 leads', 60, sub { $pg1->psql('postgres', 'SELECT 1') == 0 }),
	'pg1 bootstraps the cluster through the dcs network');
$pg1->safe_psql('postgres', 'CREATE EXTENSION pg_ha');
PgHaTest::Checker::create_table($pg1);
my %node = (pg1 => $pg1);
for my $name (qw(pg2 pg3))
{
	$node{$name} = PgHaTest::new_replica($name, $pg1,
		$lab->node_opts($name, consul => $consul, %common));
	ok($lab->start_node($node{$name}, $name), "$name starts in its namespace");
}
my ($pg2, $pg3) = @node{qw(pg2 pg3)};
ok( PgHaTest::poll_until('pg2 and pg3 stream', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg2 and pg3 stream from pg1 over the data network');
is( $pg1->safe_psql('postgres',
		"SELECT string_agg(DISTINCT host(client_addr), ',') FROM pg_stat_replication"),
	join(',', sort map { $lab->addr($_, 'data') } qw(pg2 pg3)),
	'replication comes from the replicas\' data addresses');

my $sync_name;
if ($synchronous)
{
	$pg1->safe_psql('postgres', "SELECT pg_ha_set_config('synchronous_mode', 'true')");
	ok( PgHaTest::poll_until('pg1 names a synchronous standby', 30,
			sub {
				my $sync = eval { $consul->kv_get("$prefix/sync") } // '';
				($sync_name) = $sync =~ /"sync_standby"\s*:\s*"(pg[23])"/;
				return $sync_name
				  && $pg1->safe_psql('postgres',
					"SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") eq '1';
			}),
		'synchronous mode: pg1 waits for one standby, the sync key names it');
	note("synchronous standby: " . ($sync_name // 'none'));
}

# the checker is a client in the hub, on the data network
my $checker = PgHaTest::Checker->start(
	nodes => {
		map {
			$_ => 'host=' . $lab->addr($_, 'data') . ' port=' . $node{$_}->port . ' dbname=postgres'
		} keys %node
	});
ok($checker->poll_acked('pg1', 30), 'the checker writes to pg1 over the data network');

# ---------------------------------------------------------------------
# Cut pg1 off from Consul.

my $t_cut = PgHaTest::_now();
$lab->link('pg1', 'dcs', 'down');
note('pg1 cut off from Consul');

my $fenced = $checker->poll_outcome('pg1', 'fenced', $ttl_s + 5, $t_cut);
ok($fenced, 'pg1 refuses writes');
note(sprintf('pg1 fenced %.1f s after the cut', $fenced->{t0} - $t_cut)) if $fenced;
cmp_ok($fenced ? $fenced->{t0} - $t_cut : 1e9, '<', $ttl_s + 1,
	'within the ttl (and one checker round)');
like($fenced ? $fenced->{error} : '',
	qr/pg_ha: (node "pg1" is fenced|cannot commit, node "pg1" does not hold the leader lease)/,
	"with pg_ha's error: pg1 still answers its clients");
my @late = grep { $_->{t0} >= $t_cut + $ttl_s } $checker->acked('pg1');
is(scalar(@late), 0, "pg1 acknowledged no write started more than ttl (${ttl_s} s) after the cut")
  or diag(explain(\@late));

my $takeover = PgHaTest::poll_until('a replica takes writes', 6 * $ttl_s,
	sub {
		my @a = grep { $_->{node} ne 'pg1' } $checker->acked(undef, $t_cut);
		return @a ? $a[0] : 0;
	});
ok($takeover, 'a replica takes over');
my $new_name = $takeover ? $takeover->{node} : 'pg2';
my $new = $node{$new_name};
my ($other_name) = grep { $_ ne $new_name } qw(pg2 pg3);
note(sprintf('%s took its first write %.1f s after the cut', $new_name, $takeover->{t1} - $t_cut))
  if $takeover;
is(leader_key(), $new_name, "$new_name holds the leader key");
is($new_name, $sync_name, 'the synchronous standby is the one that took over')
  if $synchronous;
my @pg1_acked = $checker->acked('pg1');
cmp_ok($pg1_acked[-1]{t1}, '<', $takeover->{t0},
	'the last write pg1 acknowledged precedes the first on the new leader')
  if $takeover && @pg1_acked;
ok( PgHaTest::poll_until("$other_name follows", 60, sub { PgHaTest::streaming($new) eq $other_name }),
	"$other_name streams from $new_name");
ok($checker->poll_outcome('pg1', 'fenced', 10), 'pg1, still cut off, still refuses writes');

# ---------------------------------------------------------------------
# The link is back: pg1 learns that it lost the key and rejoins.

my $t_back = PgHaTest::_now();
$lab->link('pg1', 'dcs', 'up');
ok( PgHaTest::poll_until('pg1 rejoins as a replica', 90,
		sub { PgHaTest::streaming($new) eq join(',', sort('pg1', $other_name)) }),
	"pg1 rejoins by itself and streams from $new_name");
note(sprintf('pg1 streams %.1f s after the link came back', PgHaTest::_now() - $t_back));
is($pg1->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'pg1 is a replica');
ok($checker->poll_outcome('pg1', 'readonly', 30), 'pg1 answers the checker as a replica');
is(leader_key(), $new_name, "$new_name still leads");
ok($checker->poll_acked($new_name, 30), "$new_name takes writes");

$checker->stop;
note('checker: ' . $checker->summary);
my ($ok, $runs) = $checker->no_overlap;
ok($ok, "never two nodes accepting writes in the same interval: $runs");
$new->wait_for_catchup($pg1, 'replay', $new->lsn('insert'));
my @lost = $checker->missing_on($new, 'pg1');
if ($synchronous)
{
	is(scalar(@lost), 0, 'no write pg1 acknowledged is lost') or diag("lost: @lost");
}
else
{
	note(scalar(@lost) . ' of ' . scalar(@pg1_acked)
		  . ' writes acknowledged by pg1 are not on the new leader (asynchronous replication)'
		  . (@lost ? ": @lost" : ''));
}
is(scalar($checker->missing_on($new, $new_name)), 0,
	"every write $new_name acknowledged is there");
is(scalar($checker->missing_on($pg1, $new_name)), 0,
	"and on the rejoined pg1");

done_testing();
