# The commands Patroni users script against (issue 13): reinit, remove,
# query, dsn and list -e, in pg_ha_ctl and with Debian's patronictl
# (3.0.2) against pg_ha.
#
# A replica is cloned again from the leader (its data directory replaced
# by a fresh pg_basebackup, its own files kept) through each way in: POST
# /reinitialize to its REST API, pg_ha_reinit() in SQL (from the leader,
# and on the replica itself), pg_ha_ctl reinit --wait and patronictl
# reinit.  The leader refuses to be reinitialized.  query and dsn pick the
# member patronictl picks and print what it prints; list -e shows the
# Pending restart, Scheduled restart and Tags columns; remove deletes every
# key of a cluster only after patronictl's three confirmations.
use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $have_patronictl = defined PgHaTest::patronictl_binary();

my $consul = PgHaTest::Consul->start();
$ENV{PG_HA_CONSUL_URL} = $consul->http_url;
$ENV{PG_HA_API_AUTH} = 'admin:s3cret';
delete $ENV{$_} for qw(PG_HA_CLUSTER PG_HA_NAMESPACE PG_HA_CONSUL_TOKEN);
my $prefix = 'service/otus';
my $json = JSON::PP->new->utf8->canonical;
my $http = HTTP::Tiny->new(timeout => 15);
my %auth = (Authorization => 'Basic ' . encode_base64('admin:s3cret', ''));
my %api_port;

sub api_conf
{
	my ($name) = @_;
	$api_port{$name} = PostgreSQL::Test::Cluster::get_free_port();
	return [ "pg_ha.api_listen = '127.0.0.1:$api_port{$name}'",
		"pg_ha.api_auth = 'admin:s3cret'" ];
}

sub leader_key { return $consul->kv_get("$prefix/leader") // '' }

# pg_ha_ctl, optionally with standard input ({ stdin => "..." } first;
# quiet => 1: not logged), 300 s at the most; (exit code, stdout, stderr)
sub ctl
{
	my $opts = ref $_[0] eq 'HASH' ? shift : {};
	return PgHaTest::ctl({ timeout => 300, %$opts }, @_);
}

# patronictl with its own configuration: the same Consul, ctl.auth
my $patronictl = PgHaTest::Patronictl->new(consul => $consul, scope => 'otus',
	auth => 'admin:s3cret', timeout => 120);
sub patronictl { return $patronictl->run(@_) }

# a row of a drawn table, its cells trimmed ([] when absent)
sub row { return PgHaTest::table_row(@_) }

# $node was started anew (not at $before), as a standby that streams from
# $leader with what the leader has ($table), and is listed running again
sub reinitialized
{
	my ($what, $node, $before, $leader, $table) = @_;
	my $name = $node->name;
	ok( PgHaTest::poll_until(
			"$name cloned again ($what)", 120,
			sub {
				my $now = PgHaTest::start_time($node);
				$now ne '' && $now ne $before
				  && $node->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 't'
				  && $node->safe_psql('postgres',
					"SELECT count(*) FROM pg_class WHERE relname = '$table'") eq '1'
				  && PgHaTest::streaming($leader) =~ /\b\Q$name\E\b/;
			}),
		"$what: $name runs again, as a standby streaming from the leader, with its data");
	ok(!-e $node->data_dir . '/not_from_the_leader', "$what: $name\'s data directory is a fresh clone");
	ok(!glob($node->data_dir . '.pg_ha_*'), "$what: no clone or former directory left beside it");
	is($node->safe_psql('postgres', 'SHOW pg_ha.node_name'), $name, "$what: under its own name");
	unlink $node->data_dir . '/not_from_the_leader';
}

# a file only this data directory has, and a table on the leader that the
# clone must bring
sub mark
{
	my ($node, $table, $leader) = @_;
	PostgreSQL::Test::Utils::append_to_file($node->data_dir . '/not_from_the_leader', 'x');
	$leader->safe_psql('postgres', "CREATE TABLE $table AS SELECT 1 AS x");
}

# ---------------------------------------------------------------------
# Three nodes: pg1 leads, pg2 and pg3 replicas, pg3 tagged nofailover

my %common = (cluster => 'otus', consul => $consul);
my $pg1 = PgHaTest::new_node('pg1', %common, extra_conf => api_conf('pg1'));
$pg1->start;
ok(PgHaTest::poll_until('pg1 leads', 60, sub { leader_key() eq 'pg1' }), 'pg1 is the leader');
ok( PgHaTest::poll_until('pg1 takes writes', 60,
		sub { $pg1->psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pg_ha') == 0 }),
	'pg1 takes writes');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common, extra_conf => api_conf('pg2'));
my $pg3 = PgHaTest::new_replica('pg3', $pg1, %common,
	extra_conf => [ @{ api_conf('pg3') }, 'pg_ha.nofailover = on' ]);
$pg2->start;
$pg3->start;
ok(PgHaTest::poll_until('both replicas stream', 60, sub { PgHaTest::streaming($pg1) eq 'pg2,pg3' }),
	'pg2 and pg3 stream from pg1');
ok( PgHaTest::poll_until('three members running', 60,
		sub { my ($rc, $out) = ctl({ quiet => 1 }, 'list', 'otus', '--format', 'json');
			  my $l = eval { $json->decode($out) } || [];
			  join(',', map { "$_->{Member}:$_->{State}" } @$l) eq 'pg1:running,pg2:running,pg3:running' }),
	'pg_ha_ctl list: three members running');

# ---------------------------------------------------------------------
# list -e: Pending restart, Scheduled restart and Tags, always

my ($rc, $out, $err) = ctl('restart', 'otus', 'pg2', '--scheduled', '2099-01-01T10:00:00+00:00', '--force');
is($rc, 0, 'a restart of pg2 scheduled for 2099');
($rc, $out, $err) = ctl('list', 'otus', '-e');
is($rc, 0, 'list -e succeeds');
like($out, qr/^\| Member \| Host\s+\| Role\s+\| State\s+\| TL \| Lag in MB \| Pending restart \| Scheduled restart\s+\| Tags\s+\|$/m,
	'list -e: the columns of patronictl list -e');
my $pg2_row = row($out, 'pg2');
like($pg2_row->[5] // '', qr/^\d+$/, 'list -e: pg2 with a lag');
$pg2_row->[5] = 'lag';
is_deeply($pg2_row, [ 'pg2', '127.0.0.1:' . $pg2->port, 'Replica', 'running', '1', 'lag', '',
		'2099-01-01T10:00:00+00:00', '' ],
	'list -e: pg2 with its scheduled restart, no tags');
is(row($out, 'pg3')->[8], 'nofailover: true', 'list -e: pg3 with its tag, as YAML');
my ($list_plain) = (ctl('list', 'otus'))[1];
unlike($list_plain, qr/Scheduled restart|Tags/, 'list without -e: no such columns');
($rc, $out) = ctl('list', 'otus', '-e', '--format', 'json');
my $decoded = eval { $json->decode($out) } || [];
my %by_name = map { $_->{Member} => $_ } @$decoded;
is_deeply($by_name{pg3}{Tags}, { nofailover => JSON::PP::true }, 'list -e --format json: Tags is an object');
is($by_name{pg2}{'Scheduled restart'}, '2099-01-01T10:00:00+00:00', '... and the scheduled restart a string');
ok(!exists $by_name{pg1}{Tags} && !exists $by_name{pg1}{'Pending restart'},
	'... empty cells left out, as patronictl does');
($rc, $out) = ctl('list', 'otus', '-e', '--format', 'yaml');
like($out, qr/^  Tags:\n    nofailover: true\n/m, 'list -e --format yaml: the tags nested below their key');
SKIP:
{
	skip 'patronictl not installed', 1 unless $have_patronictl;
	my ($ok, $pout) = patronictl('list', 'otus', '-e');
	is(row($pout, 'pg3')->[8], 'nofailover: true', 'patronictl list -e shows the same Tags cell');
}
$consul->kv_delete("$prefix/restart/pg2");

# ---------------------------------------------------------------------
# dsn: the leader, a replica, a named member; patronictl prints the same

my %dsn = (leader => 'host=127.0.0.1 port=' . $pg1->port,
	replica => 'host=127.0.0.1 port=' . $pg2->port,
	pg3 => 'host=127.0.0.1 port=' . $pg3->port);
($rc, $out) = ctl('dsn', 'otus');
is("$rc $out", "0 $dsn{leader}\n", 'dsn: the leader\'s host and port');
($rc, $out) = ctl('dsn', 'otus', '-r', 'replica');
is("$rc $out", "0 $dsn{replica}\n", 'dsn -r replica: the first replica by name');
($rc, $out) = ctl('dsn', 'otus', '--member', 'pg3');
is("$rc $out", "0 $dsn{pg3}\n", 'dsn --member pg3');
($rc, $out, $err) = ctl('dsn', 'otus', '-m', 'pg9');
is($rc, 1, 'dsn of an unknown member: exit code 1');
like($err, qr/error: Can not find a suitable member\n.*detail: Cluster "otus" has no member "pg9"\./,
	'... patronictl\'s words, and why');
($rc, $out, $err) = ctl('dsn', 'otus', '-m', 'pg3', '-r', 'replica');
like($err, qr/error: --role and --member are mutually exclusive options/, 'dsn -m with -r refused');
($rc, $out, $err) = ctl('dsn', 'otus', '-r', 'boss');
like($err, qr/error: invalid role "boss"/, 'dsn with an unknown role refused');
SKIP:
{
	skip 'patronictl not installed', 3 unless $have_patronictl;
	is((patronictl('dsn', 'otus'))[1], "$dsn{leader}\n", 'patronictl dsn: the same');
	is((patronictl('dsn', 'otus', '-r', 'replica'))[1], "$dsn{replica}\n", 'patronictl dsn -r replica: the same');
	is((patronictl('dsn', 'otus', '-m', 'pg3'))[1], "$dsn{pg3}\n", 'patronictl dsn -m pg3: the same');
}

# ---------------------------------------------------------------------
# query

my $sql = "SELECT 1 AS a, 'x' AS b, NULL AS c, true AS d, 1.50::numeric AS e";
($rc, $out, $err) = ctl('query', 'otus', '-c', $sql);
is($rc, 0, 'query succeeds');
is($out, "a\tb\tc\td\te\n1\tx\tNone\tTrue\t1.50\n", 'query: tsv with a header, as patronictl prints it');
SKIP:
{
	skip 'patronictl not installed', 1 unless $have_patronictl;
	is((patronictl('query', 'otus', '-c', $sql))[1], $out, 'patronictl query prints the same');
}
($rc, $out) = ctl('query', 'otus', '-c', $sql, '--format', 'json');
is_deeply(eval { $json->decode($out) },
	[ { a => 1, b => 'x', c => undef, d => JSON::PP::true, e => 1.5 } ], 'query --format json');
($rc, $out) = ctl('query', 'otus', '-c', 'SELECT 1 AS a', '--format', 'table');
is($out, "+---+\n| a |\n+---+\n| 1 |\n+---+\n", 'query --format table');
($rc, $out) = ctl('query', 'otus', '-r', 'replica', '-c', 'SELECT pg_is_in_recovery() AS r, current_setting($$pg_ha.node_name$$) AS n');
is($out, "r\tn\nTrue\tpg2\n", 'query -r replica: on pg2, in recovery');
($rc, $out) = ctl('query', 'otus', '-m', 'pg3', '-c', 'SHOW pg_ha.node_name', '--delimiter', ';');
is($out, "pg_ha.node_name\npg3\n", 'query -m pg3');
($rc, $out) = ctl('query', 'otus', '-r', 'primary', '-d', 'template1', '-c', 'SELECT current_database() AS db, 2 AS two', '--delimiter', ',');
is($out, "db,two\ntemplate1,2\n", 'query -r primary -d template1 --delimiter ,');
my $file = PostgreSQL::Test::Utils::tempdir() . '/q.sql';
PostgreSQL::Test::Utils::append_to_file($file, "SELECT 41 + 1 AS answer;\n");
($rc, $out) = ctl('query', 'otus', '-f', $file);
is($out, "answer\n42\n", 'query -f FILE');
($rc, $out) = ctl({ stdin => "SELECT 'in' AS f" }, 'query', 'otus', '-f', '-');
is($out, "f\nin\n", 'query -f - reads standard input');
($rc, $out, $err) = ctl('query', 'otus', '-c', 'SELECT * FROM no_such_table');
is($rc, 1, 'a failing query: exit code 1');
like($out, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\tERROR, SQLSTATE: 42P01$/, '... patronictl\'s line on stdout');
like($err, qr/error: query on member pg1 failed: ERROR:  relation "no_such_table" does not exist/,
	'... the error on stderr');
($rc, $out, $err) = ctl('query', 'otus', '-m', 'pg9', '-c', 'SELECT 1');
is($rc, 1, 'query on an unknown member: exit code 1');
like($out, qr/\tNo connection to member pg9 is available$/, '... patronictl\'s line');
like($err, qr/error: member "pg9" does not exist in cluster "otus"/, '... and why');
($rc, $out, $err) = ctl('query', 'otus', '-c', 'SELECT 1', '-f', $file);
like($err, qr/error: --file and --command are mutually exclusive options/, 'query -c with -f refused');
($rc, $out, $err) = ctl('query', 'otus');
like($err, qr/error: You need to specify either --command or --file/, 'query without SQL refused');
($rc, $out, $err) = ctl('query', 'otus', '-c', 'SELECT 1', '--format', 'xml');
like($err, qr/error: unknown format "xml"\n.*hint: Use tsv, table, json or yaml\./, 'query with a bad format refused');

# ---------------------------------------------------------------------
# POST /reinitialize

my $pg1_api = "http://127.0.0.1:$api_port{pg1}";
my $r = $http->post("$pg1_api/reinitialize",
	{ headers => { %auth, 'Content-Type' => 'application/json' }, content => '{"force": true}' });
is("$r->{status} $r->{content}", '503 I am the leader, can not reinitialize',
	'POST /reinitialize to the leader: refused with Patroni\'s answer');
$r = $http->post("$pg1_api/reinitialize", { content => '{}' });
is($r->{status}, 401, 'POST /reinitialize without credentials: 401');
$r = $http->post("http://127.0.0.1:$api_port{pg2}/reinitialize",
	{ headers => { %auth, 'Content-Type' => 'application/json' }, content => '[]' });
is($r->{status}, 400, 'a body that is not a JSON object: 400');
$r = $http->get("http://127.0.0.1:$api_port{pg2}/reinitialize");
is($r->{status}, 405, 'GET /reinitialize: 405');
is(PgHaTest::start_time($pg2) ne '' && $pg2->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't',
	'none of these touched pg2');

# two requests at once: the second is told that one is in progress
sub send_request
{
	my ($port, $body) = @_;
	return PgHaTest::send_request($port, 'POST', '/reinitialize', $body,
		%auth, 'Content-Type' => 'application/json', Connection => 'close');
}

# "<status> <content>"
sub read_answer { return join(' ', PgHaTest::read_answer($_[0], 30)) }

mark($pg2, 'before_rest', $pg1);
my $before = PgHaTest::start_time($pg2);
my @socks = (send_request($api_port{pg2}, '{"force": false}'), send_request($api_port{pg2}, '{}'));
my @answers = sort map { read_answer($_) } @socks;
is($answers[0], '200 reinitialize started', 'POST /reinitialize to a replica: 200 reinitialize started');
is($answers[1], '503 reinitialize already in progress', 'a second one meanwhile: 503 already in progress');
reinitialized('POST /reinitialize', $pg2, $before, $pg1, 'before_rest');
my $log2 = slurp_file($pg2->logfile);
like($log2, qr/pg_ha: reinitialize of this node requested through the REST API: it is cloned again from the leader "pg1"/,
	'pg2 logs the request');
like($log2, qr/pg_ha: reinitializing node "pg2": ".*pg_ha_ctl rejoin --reinit" clones it again from the leader "pg1"/,
	'... and the rejoin its HA worker started');
like($log2, qr/pg_ha_ctl rejoin: cloning the source into ".*\.pg_ha_clone" with pg_basebackup/,
	'... which cloned beside the data directory');
is(leader_key(), 'pg1', 'pg1 led throughout');

# ---------------------------------------------------------------------
# pg_ha_reinit() in SQL: from the leader for pg3, on pg2 for itself

my ($sql_rc, $sql_out, $sql_err);
$sql_rc = $pg1->psql('postgres', "SELECT pg_ha_reinit('pg1')", stderr => \$sql_err);
like($sql_err, qr/ERROR:  member "pg1" is the leader: only a replica can be reinitialized/,
	'pg_ha_reinit of the leader: refused');
$pg1->psql('postgres', "SELECT pg_ha_reinit('pg9')", stderr => \$sql_err);
like($sql_err, qr/ERROR:  cluster "otus" has no member "pg9"/, 'pg_ha_reinit of an unknown member: refused');
$pg1->psql('postgres', "SELECT pg_ha_reinit('a/b')", stderr => \$sql_err);
like($sql_err, qr/ERROR:  invalid member name "a\/b"/, 'pg_ha_reinit of a bad name: refused');

mark($pg3, 'before_sql', $pg1);
$before = PgHaTest::start_time($pg3);
$sql_rc = $pg1->psql('postgres', "SELECT pg_ha_reinit('pg3')", stdout => \$sql_out, stderr => \$sql_err);
is($sql_rc, 0, 'pg_ha_reinit(\'pg3\') on the leader succeeds');
is($sql_out, 'reinitialize of member "pg3" started: it is cloned again from the leader "pg1"',
	'... and says so');
reinitialized('pg_ha_reinit on the leader', $pg3, $before, $pg1, 'before_sql');

mark($pg2, 'before_self', $pg1);
ok(PgHaTest::poll_until('pg2 replayed before_self', 60,
		sub { $pg2->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'before_self'") eq '1' }),
	'pg2 has replayed the leader\'s table');
$before = PgHaTest::start_time($pg2);
$sql_rc = $pg2->psql('postgres', "SELECT pg_ha_reinit('pg2')", stdout => \$sql_out, stderr => \$sql_err);
is($sql_rc, 0, 'pg_ha_reinit(\'pg2\') on pg2 itself: the session gets its answer');
like($sql_err, qr/NOTICE:  this node, "pg2", is cloned again from the leader: its server stops, and this session will be terminated/,
	'... with a notice');
reinitialized('pg_ha_reinit on the replica itself', $pg2, $before, $pg1, 'before_self');

# ---------------------------------------------------------------------
# pg_ha_ctl reinit

($rc, $out, $err) = ctl('reinit', 'otus', 'pg1', '--force');
is($rc, 1, 'pg_ha_ctl reinit of the leader: exit code 1');
like($err, qr/error: member "pg1" is the leader of cluster "otus": only a replica can be reinitialized/,
	'... saying why');
($rc, $out, $err) = ctl('reinit', 'otus', 'pg9', '--force');
like($err, qr/error: member "pg9" does not exist in cluster "otus"/, 'reinit of an unknown member refused');
($rc, $out, $err) = ctl('reinit', 'otus', '--force');
like($err, qr/error: reinit needs the name of a replica/, 'reinit --force without a member refused');
($rc, $out, $err) = ctl({ stdin => "n\n" }, 'reinit', 'otus', 'pg3');
is($rc, 1, 'reinit answered "n": exit code 1');
like($out, qr/^\+ Cluster: otus .*Are you sure you want to reinitialize members pg3\? \[y\/N\]: $/s,
	'... the table, then patronictl\'s question');
like($err, qr/error: aborting reinitialize/, '... aborted');
($rc, $out, $err) = ctl({ stdin => "pg7\n" }, 'reinit', 'otus');
like($out, qr/Which member do you want to reinitialize \[pg2, pg3\]\? \[\]: /,
	'reinit without a member asks which, offering the replicas');
like($err, qr/error: pg7 is not a member of cluster/, '... and refuses another name');

mark($pg3, 'before_ctl', $pg1);
$before = PgHaTest::start_time($pg3);
($rc, $out, $err) = ctl({ stdin => "y\n" }, 'reinit', 'otus', 'pg3', '--wait');
is($rc, 0, 'pg_ha_ctl reinit otus pg3 --wait: exit code 0');
like($out, qr/Are you sure you want to reinitialize members pg3\? \[y\/N\]: Success: reinitialize for member pg3\nWaiting for reinitialize to complete on: pg3\nReinitialize is completed on: pg3\n\z/,
	'... patronictl\'s lines, waited for');
isnt(PgHaTest::start_time($pg3), $before, 'pg3 runs on a new server start when reinit returns');
reinitialized('pg_ha_ctl reinit', $pg3, $before, $pg1, 'before_ctl');

# ---------------------------------------------------------------------
# patronictl reinit against pg_ha

SKIP:
{
	skip 'patronictl not installed', 7 unless $have_patronictl;
	mark($pg2, 'before_patronictl', $pg1);
	ok(PgHaTest::poll_until('pg2 replayed before_patronictl', 60,
			sub { $pg2->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'before_patronictl'") eq '1' }),
		'pg2 has replayed the leader\'s table');
	$before = PgHaTest::start_time($pg2);
	my ($ok, $pout) = patronictl('reinit', 'otus', 'pg2', '--force');
	like($pout, qr/^Success: reinitialize for member pg2$/m, 'patronictl reinit otus pg2: Success');
	reinitialized('patronictl reinit', $pg2, $before, $pg1, 'before_patronictl');
}

# ---------------------------------------------------------------------
# remove: three confirmations, and nothing removed before the last

my @keys_before = $consul->kv_keys("$prefix/");
($rc, $out, $err) = ctl({ stdin => "other\n" }, 'remove', 'otus');
is($rc, 1, 'remove, the wrong cluster name typed: exit code 1');
like($out, qr/Please confirm the cluster name to remove: $/, '... asked as patronictl asks');
like($err, qr/warning: 3 member\(s\) of cluster "otus" run: their servers write their keys again; stop them first/,
	'... warning that the members run');
like($err, qr/error: Cluster names specified do not match/, '... patronictl\'s error');
($rc, $out, $err) = ctl({ stdin => "otus\nYes I am\n" }, 'remove', 'otus');
like($out, qr/You are about to remove all information in DCS for otus, please type: "Yes I am aware": $/,
	'the second question');
like($err, qr/error: You did not exactly type "Yes I am aware"/, '... answered wrong');
($rc, $out, $err) = ctl({ stdin => "otus\n\nYes I am aware\npg2\n" }, 'remove', 'otus');
like($out, qr/This cluster currently is healthy\. Please specify the leader name to continue: $/,
	'an empty answer is asked again; then the leader\'s name is asked');
like($err, qr/error: You did not specify the current leader of the cluster/, '... answered wrong');
($rc, $out, $err) = ctl({ stdin => "otus\n" }, 'remove', 'otus');
is($rc, 1, 'the end of input aborts');
is_deeply([ $consul->kv_keys("$prefix/") ], \@keys_before, 'no key was removed by any of these');

# the nodes stopped, the cluster's keys go
$pg2->stop;
$pg3->stop;
$pg1->stop;
ok(PgHaTest::poll_until('the leader key is released', 60, sub { leader_key() eq '' }),
	'pg1 released the leader key');
($rc, $out, $err) = ctl({ stdin => "otus\nYes I am aware\n" }, 'remove', 'otus');
is($rc, 0, 'pg_ha_ctl remove otus: exit code 0');
like($out, qr/Removed every key of cluster otus under "service\/otus\/" from Consul\n\z/, '... and says so');
is(scalar($consul->kv_keys("$prefix/")), 0, 'no key of the cluster is left');
($rc, $out, $err) = ctl({ stdin => "otus\nYes I am aware\n" }, 'remove', 'otus');
like($err, qr/error: cluster "otus" is not known to Consul/, 'a second remove: the cluster is unknown');

# patronictl remove deletes them itself, asking the leader's name
SKIP:
{
	skip 'patronictl not installed', 2 unless $have_patronictl;
	$consul->kv_put('service/gone/initialize', '7000000000000000001') or die;
	$consul->kv_put('service/gone/leader', 'pg1') or die;
	$consul->kv_put('service/gone/members/pg1',
		'{"conn_url":"postgres://127.0.0.1:5431/postgres","api_url":"http://127.0.0.1:8001/patroni","state":"running","role":"master"}')
	  or die;
	my ($ok, $pout) = patronictl({ stdin => "gone\nYes I am aware\npg1\n" }, 'remove', 'gone');
	like($pout, qr/This cluster currently is healthy\. Please specify the leader name to continue/,
		'patronictl remove asks for the leader of a pg_ha-style cluster');
	is(scalar($consul->kv_keys('service/gone/')), 0, 'patronictl remove deleted every key');
}

done_testing();
