# pg_ha against a Consul with ACLs enabled (default_policy deny): a policy
# with exactly what pg_ha needs and a token for it make a node the leader;
# a node with a wrong token, with no token, or with a token that may only
# read never becomes writable and says why (403, "ACL not found",
# "Permission denied"); pg_ha_ctl sends PG_HA_CONSUL_TOKEN; a token changed
# by a reload is taken without its value reaching the log; and no token
# ever shows in a server log, Consul's log, the KV store, pg_ha_node,
# pg_ha_status or the REST API.
use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start(acl => 1);
my $master = $consul->master_token;
my $json   = JSON::PP->new->utf8->canonical;

# The agent refuses what the master token does not allow.
is($consul->http('PUT', '/v1/kv/service/probe', 'x', { 'X-Consul-Token' => '' })->{status},
	403, 'Consul denies the anonymous token: ACLs are on');

# What pg_ha needs: its keys, sessions on any node, a TTL check on the
# agent's node (node write), and reading the agent's own configuration.
my $res = $consul->http('PUT', '/v1/acl/policy',
	{ Name => 'pg_ha', Rules => PgHaTest::consul_acl_rules() });
is($res->{status}, 200, 'policy pg_ha created with the master token') or diag($res->{content});
$res = $consul->http('PUT', '/v1/acl/policy',
	{ Name => 'pg_ha_read', Rules => qq(key_prefix "service/" { policy = "read" }\n) });
is($res->{status}, 200, 'policy pg_ha_read created');

sub new_token
{
	my ($policy) = @_;
	my $r = $consul->http('PUT', '/v1/acl/token',
		{ Description => "pg_ha test: $policy", Policies => [ { Name => $policy } ] });
	die "token for $policy: $r->{status} $r->{content}" unless $r->{status} == 200;
	return $json->decode($r->{content})->{SecretID};
}
my $token      = new_token('pg_ha');
my $token2     = new_token('pg_ha');
my $read_token = new_token('pg_ha_read');
my $wrong      = '00000000-1111-2222-3333-444444444444';
my @secrets    = ($master, $token, $token2, $read_token, $wrong);

# ---------------------------------------------------------------------
# 1. The right token: the node leads.

my %api_port;
sub node_with
{
	my ($name, $cluster, $tok) = @_;
	$api_port{$name} = PostgreSQL::Test::Cluster::get_free_port();
	return PgHaTest::new_node($name, cluster => $cluster, consul => $consul,
		extra_conf => [
			"pg_ha.api_listen = '127.0.0.1:$api_port{$name}'",
			defined $tok ? "pg_ha.consul_token = '$tok'" : () ]);
}

my $pg1 = node_with('pg1', 'otus', $token);
$pg1->start;
ok( PgHaTest::poll_until('pg1 takes writes', 60,
		sub { $pg1->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pg_ha');
			  $pg1->safe_psql('postgres', 'SELECT NOT pg_is_in_recovery() AND NOT fenced FROM pg_ha_node') eq 't' }),
	'pg1 with the pg_ha token is the unfenced leader');
is($consul->kv_get('service/otus/leader'), 'pg1', 'it holds the leader key');
$pg1->safe_psql('postgres', 'CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
ok(1, 'and takes writes');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, cluster => 'otus', consul => $consul,
	extra_conf => [ "pg_ha.api_listen = '127.0.0.1:" . ($api_port{pg2} = PostgreSQL::Test::Cluster::get_free_port()) . "'" ]);
$pg2->start;
ok(PgHaTest::poll_until('pg2 streams from pg1', 60, sub { PgHaTest::streaming($pg1) eq 'pg2' }),
	'pg2 (pg1\'s token, from its copied postgresql.conf) follows');

# ---------------------------------------------------------------------
# 2. Wrong, missing and read-only tokens: never writable, and clear errors.

my %bad = (
	wrongtok => [ $wrong,      qr/HTTP 403: ACL not found/ ],
	notok    => [ undef,       qr/HTTP 403: Permission denied/ ],
	readtok  => [ $read_token, qr/HTTP 403: Permission denied/ ]);
for my $name (sort keys %bad)
{
	my ($tok, $re) = @{ $bad{$name} };
	my $node = node_with($name, "c_$name", $tok);
	$node->start;
	$bad{$name}[2] = $node;
}
for my $name (sort keys %bad)
{
	my ($tok, $re, $node) = @{ $bad{$name} };
	ok( PgHaTest::poll_until("$name logs Consul's refusal", 30,
			sub { slurp_file($node->logfile) =~ $re }),
		"$name: the log says Consul refused with 403 ($re)");
}
for my $name (sort keys %bad)
{
	my ($tok, $re, $node) = @{ $bad{$name} };
	my ($stdout, $stderr) = ('', '');
	$node->psql('postgres', 'CREATE TABLE x (id int)', stdout => \$stdout, stderr => \$stderr);
	like($stderr, qr/node "$name" is fenced and accepts no connections/, "$name: fenced, not writable");
	ok(!defined $consul->kv_get("service/c_$name/leader"), "$name: holds no leader key");
	ok(!defined $consul->kv_get("service/c_$name/members/$name"), "$name: wrote no member record");
	unlike($stderr, qr/\Q$wrong\E|\Q$read_token\E/, "$name: the token is not in the refusal");
}

# ---------------------------------------------------------------------
# 3. pg_ha_ctl sends PG_HA_CONSUL_TOKEN.

# pg_ha_ctl with PG_HA_CONSUL_TOKEN $tok (none when undef)
sub ctl
{
	my ($tok, @args) = @_;
	return PgHaTest::ctl(
		{ env => { PG_HA_CONSUL_URL => $consul->http_url, PG_HA_CONSUL_TOKEN => $tok } }, @args);
}

my ($rc, $out, $err) = ctl($token, 'list', 'otus');
is($rc, 0, 'pg_ha_ctl list with the token succeeds');
like($out, qr/pg1.*Leader/, '... and shows the leader');
($rc, $out, $err) = ctl(undef, 'list', 'otus');
isnt($rc, 0, 'pg_ha_ctl list without a token fails');
# Consul hides the keys from the anonymous token: a 404, not a 403
like($err, qr/cluster "otus" is not known to Consul.*hint:.*If Consul uses ACLs, set PG_HA_CONSUL_TOKEN/s,
	'... and hints at PG_HA_CONSUL_TOKEN');
($rc, $out, $err) = ctl($read_token, 'pause', 'otus');
isnt($rc, 0, 'pg_ha_ctl pause with a read-only token fails');
like($err, qr/HTTP 403/, '... with Consul\'s 403');
($rc, $out, $err) = ctl($token, 'pause', 'otus');
is($rc, 0, 'pg_ha_ctl pause with the pg_ha token succeeds');
ok(defined $consul->kv_get('service/otus/config') && $consul->kv_get_json('service/otus/config')->{pause},
	'... and the config key says pause');
($rc, $out, $err) = ctl($token, 'resume', 'otus');
is($rc, 0, 'pg_ha_ctl resume with the token succeeds');

# the SQL actions (backends) and the REST API's writes (its worker) send
# pg_ha.consul_token too
is($pg1->safe_psql('postgres', 'SELECT pg_ha_pause() IS NOT NULL'), 't', 'pg_ha_pause() through SQL');
ok($consul->kv_get_json('service/otus/config')->{pause}, '... wrote pause into the config key');
$pg1->safe_psql('postgres', 'SELECT pg_ha_resume()');
ok(!$consul->kv_get_json('service/otus/config')->{pause}, 'pg_ha_resume() through SQL took it back');
my $patch = HTTP::Tiny->new(timeout => 10)->request('PATCH', "http://127.0.0.1:$api_port{pg1}/config",
	{ headers => { 'Content-Type' => 'application/json' }, content => '{"pause": true}' });
is($patch->{status}, 200, 'PATCH /config {"pause": true} through the REST API')
  or diag($patch->{content});
ok($consul->kv_get_json('service/otus/config')->{pause}, '... is in the config key');
$patch = HTTP::Tiny->new(timeout => 10)->request('PATCH', "http://127.0.0.1:$api_port{pg1}/config",
	{ headers => { 'Content-Type' => 'application/json' }, content => '{"pause": null}' });
is($patch->{status}, 200, 'PATCH /config {"pause": null} takes it back');

# ---------------------------------------------------------------------
# 4. A new token by reload: taken, its value kept out of the log.

my $offset = -s $pg1->logfile;
for my $node ($pg1, $pg2)
{
	$node->append_conf('postgresql.conf', "pg_ha.consul_token = '$token2'\n");
	$node->reload;
}
ok( PgHaTest::poll_until('the reload is logged', 30,
		sub { slurp_file($pg1->logfile, $offset) =~ /parameter "pg_ha.consul_token" changed \(value not shown\)/ }),
	'the postmaster logs that the token changed, without its value');
ok( PgHaTest::poll_until('pg1 uses the new token', 30,
		sub { $consul->http('GET', '/v1/acl/token/self', undef, { 'X-Consul-Token' => $token2 })->{status} == 200
			  && $pg1->safe_psql('postgres', 'SELECT NOT fenced FROM pg_ha_node') eq 't' }),
	'pg1 stays the unfenced leader with the new token');
# revoke the old one: pg1 must not need it
my $old_accessor = $json->decode($consul->http('GET', '/v1/acl/token/self', undef,
		{ 'X-Consul-Token' => $token })->{content})->{AccessorID};
is($consul->http('DELETE', "/v1/acl/token/$old_accessor")->{status}, 200, 'the old token is deleted');
my $deleted_at = $pg1->safe_psql('postgres', 'SELECT now()');
ok( PgHaTest::poll_until('pg1 talks to Consul after the deletion', 30,
		sub { $pg1->safe_psql('postgres',
				"SELECT last_consul_contact > '$deleted_at'::timestamptz + interval '2 s' FROM pg_ha_node") eq 't' }),
	'pg1 keeps talking to Consul after the old token is gone');
my @acl_errors = slurp_file($pg1->logfile) =~ /(ACL not found)/g;
is(scalar(@acl_errors), 0, 'pg1 never used a token Consul does not know');
$pg1->safe_psql('postgres', 'INSERT INTO t VALUES (2)');
is($pg1->safe_psql('postgres', 'SELECT role || fenced FROM pg_ha_node'), 'leaderfalse', 'pg1 still leads');

# ---------------------------------------------------------------------
# 5. The tokens appear nowhere.

my $http = HTTP::Tiny->new(timeout => 5);
my %where;
for my $node ($pg1, $pg2, map { $_->[2] } values %bad)
{
	$where{ 'server log of ' . $node->name } = slurp_file($node->logfile);
}
for my $node ($pg1, $pg2)
{
	my $name = $node->name;
	$where{"pg_ha_node on $name"} = $node->safe_psql('postgres', 'SELECT t::text FROM pg_ha_node t');
	$where{"pg_ha_status on $name"} = $node->safe_psql('postgres', 'SELECT t::text FROM pg_ha_status t');
	$where{"pg_ha_config() on $name"} = $node->safe_psql('postgres', 'SELECT pg_ha_config()::text');
	$where{"pg_settings on $name"} = $node->safe_psql('postgres',
		"SELECT current_setting('pg_ha.consul_token') || ' ' || string_agg(setting, ' ') FROM pg_settings WHERE name LIKE 'pg_ha.%'");
	for my $path (qw(/patroni /cluster /config /history /health /primary /replica /leader))
	{
		my $r = $http->get("http://127.0.0.1:$api_port{$name}$path");
		$where{"GET $path on $name"} = $r->{content} // '';
	}
}
is($pg1->safe_psql('postgres', 'SHOW pg_ha.consul_token'), '********', 'SHOW pg_ha.consul_token masks the value');
my $kv = $consul->http('GET', '/v1/kv/?recurse');
$where{'Consul KV'} = join("\n", map { ($_->{Key}, decode_base64($_->{Value} // '')) }
	  @{ $json->decode($kv->{content}) });
ok(length $where{'Consul KV'} > 100, 'the KV dump has content');
$where{"Consul's log"} = slurp_file($consul->log_file);
($rc, $out, $err) = ctl($token2, 'list', 'otus', '--format', 'json');
$where{'pg_ha_ctl list'} = "$out$err";

my @leaks;
for my $place (sort keys %where)
{
	for my $secret (@secrets)
	{
		push @leaks, "$place has " . ($secret eq $master ? 'the master token' : "token $secret")
		  if index($where{$place}, $secret) >= 0;
	}
}
is_deeply(\@leaks, [], 'no token in ' . scalar(keys %where) . ' places (' . join(', ', sort keys %where) . ')');

# ---------------------------------------------------------------------
# 6. A clean stop: pg_ha_ctl release, started by the HA worker with the
#    token in its environment, destroys the session and frees the key.

my $session = $consul->kv_session('service/otus/leader');
ok(defined $session, 'pg1 holds the leader key with a session');
$pg1->stop('fast');
ok(PgHaTest::poll_until('the session is gone', 5,
		sub { !grep { $_->{ID} eq $session } $consul->session_list }),
	'the session is destroyed (well before its ttl could end it)');
ok(PgHaTest::poll_until('the key is free or taken over', 10,
		sub { ($consul->kv_session('service/otus/leader') // '') ne $session }),
	'the leader key is released');
unlike(slurp_file($pg1->logfile), qr/HTTP 403|\Q$token2\E|\Q$master\E/,
	'no refusal and no token in the log of the shutdown');

$_->[2]->stop for values %bad;
done_testing();
