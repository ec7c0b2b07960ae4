
# Copyright (c) pg_ha contributors

# The etcd harness (PgHaTest::Etcd) against Debian's real etcd 3.4,
# through the v3 JSON gateway that pg_ha speaks: one member (put, get,
# delete, prefixes, a lease that expires and takes its key, a lease kept
# alive, transactions comparing create and mod revisions), then three
# members (one lost: writes go on; two lost: writes fail; one back:
# writes succeed again; a paused member catches up).  No pg_ha server is
# started here.

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use PgHaTest;
use PgHaTest::Etcd;

my $b64 = \&PgHaTest::Etcd::KV::b64;

# ---------------------------------------------------------------------------
# Helpers that need no server.

my $etcd_bin = PgHaTest::Etcd::etcd_binary();
ok(defined $etcd_bin && -x $etcd_bin, 'etcd is installed (scripts/setup.sh)');
my $ctl_bin = PgHaTest::Etcd::etcdctl_binary();
ok(defined $ctl_bin && -x $ctl_bin, 'etcdctl is installed');
is(PgHaTest::Etcd::KV::prefix_end('/service/a/'), '/service/a0', 'prefix_end: last byte + 1');
is(PgHaTest::Etcd::KV::prefix_end("a\xff\xff"), 'b', 'prefix_end: trailing 0xff dropped first');
is(PgHaTest::Etcd::KV::prefix_end("\xff"), "\0", 'prefix_end: all 0xff means every key');

# ---------------------------------------------------------------------------
# One member.

my $etcd = PgHaTest::Etcd->start(name => 'solo');
is(scalar($etcd->members), 1, 'one member');
my $m = $etcd->member(1);
ok($m->is_running, 'it runs');
like($etcd->client_url, qr{^http://127\.0\.0\.1:\d+$}, 'client URL on loopback');
is($etcd->endpoints, $etcd->client_url, 'endpoints of one member');
like($m->peer_url, qr{^http://127\.0\.0\.1:\d+$}, 'peer URL on loopback');
isnt($m->peer_port, $m->client_port, 'client and peer ports differ');
like($m->member_id, qr/^\d+$/, 'member ID known (decimal)');
ok(-s $m->log_file, 'the member logs to ' . $m->log_file);
is($etcd->leader, $m, 'a single member leads itself');

# put, get, delete
my $rev1 = $etcd->kv_put('/service/t/a', 'hello');
cmp_ok($rev1, '>', 1, "put returns the write's revision ($rev1)");
is($etcd->kv_get('/service/t/a'), 'hello', 'get returns the value');
my $e = $etcd->kv_get_full('/service/t/a');
is_deeply([ @$e{qw(key create_revision mod_revision version lease)} ],
	[ '/service/t/a', $rev1, $rev1, 1, 0 ], 'the entry: key, revisions, version, no lease');
my $rev2 = $etcd->kv_put('/service/t/a', 'again');
cmp_ok($rev2, '>', $rev1, 'a rewrite has a higher revision');
$e = $etcd->kv_get_full('/service/t/a');
is_deeply([ @$e{qw(value create_revision mod_revision version)} ], [ 'again', $rev1, $rev2, 2 ],
	'a rewrite keeps create_revision, moves mod_revision and version');
my $bytes = "\0\x01\xff\n\"\\ \xe9";
$etcd->kv_put('/service/t/bin', $bytes);
is($etcd->kv_get('/service/t/bin'), $bytes, 'any bytes round-trip through base64');
$etcd->kv_put('/service/t/json', { a => 1, b => [ 'x', 'y' ] });
is_deeply($etcd->kv_get_json('/service/t/json'), { a => 1, b => [ 'x', 'y' ] }, 'refs go as JSON');
$etcd->kv_put('/service/t/empty', '');
is($etcd->kv_get('/service/t/empty'), '', 'an empty value is not a missing key');
is($etcd->kv_get('/service/t/missing'), undef, 'a missing key is undef');
$etcd->kv_put('/service/t0', 'beyond');
is_deeply([ $etcd->kv_keys('/service/t/') ],
	[ map { "/service/t/$_" } qw(a bin empty json) ],
	'kv_keys lists the prefix, not the key at its range end');
is($etcd->kv_delete('/service/t/a'), 1, 'delete deletes one key');
is($etcd->kv_get('/service/t/a'), undef, 'the deleted key is gone');
is($etcd->kv_delete('/service/t/a'), 0, 'deleting it again deletes nothing');
is($etcd->kv_delete('/service/t/', prefix => 1), 3, 'delete of a prefix');
is_deeply([ $etcd->kv_keys('/service/') ], ['/service/t0'], 'only the key outside the prefix is left');

# etcdctl reads what the gateway wrote
{
	my ($rc, $out, $err) = $etcd->etcdctl('get', '/service/t0');
	is($rc, 0, 'etcdctl get runs') or diag($err);
	is($out, "/service/t0\nbeyond\n", 'etcdctl (ETCDCTL_API=3) sees the value');
}

# a lease of 2 s takes its key when it expires
{
	my $lease = $etcd->lease_grant(2);
	like($lease, qr/^[1-9]\d*$/, "lease granted ($lease)");
	$etcd->kv_put('/service/t/leader', 'pg1', lease => $lease);
	is($etcd->kv_get_full('/service/t/leader')->{lease}, $lease, 'the key is bound to the lease');
	my $ttl = $etcd->lease_ttl($lease);
	ok($ttl >= 1 && $ttl <= 2, "the lease has 1..2 s left ($ttl)");
	my $t0 = PgHaTest::_now();
	ok(PgHaTest::poll_until('the lease takes its key', 10,
			sub { !defined $etcd->kv_get('/service/t/leader') }),
		'the key goes with its lease');
	my $took = PgHaTest::_now() - $t0;
	ok($took > 0.5 && $took < 4, sprintf('after about the TTL (%.2f s)', $took));
	is($etcd->lease_ttl($lease), -1, 'the lease is gone');
	is($etcd->lease_keepalive($lease), 0, 'a keep-alive of a gone lease says TTL 0');
	is($etcd->lease_revoke($lease), 0, 'revoking a gone lease finds none');
}

# a lease kept alive keeps its key past its TTL, then a revoke takes it
{
	my $lease = $etcd->lease_grant(2);
	$etcd->kv_put('/service/t/kept', 'pg1', lease => $lease);
	my ($t0, $last, @ttls) = (PgHaTest::_now(), 0);
	ok(PgHaTest::poll_until('3.5 s of keep-alives every 0.5 s', 10,
			sub {
				my $now = PgHaTest::_now();
				if ($now - $last >= 0.5)
				{
					push @ttls, $etcd->lease_keepalive($lease);
					$last = $now;
				}
				return $now - $t0 >= 3.5;
			}),
		'keep-alives sent');
	is_deeply([ grep { $_ != 2 } @ttls ], [], 'every keep-alive renewed the full TTL');
	is($etcd->kv_get('/service/t/kept'), 'pg1', 'the key outlived its TTL');
	is($etcd->lease_revoke($lease), 1, 'revoke');
	is($etcd->kv_get('/service/t/kept'), undef, 'the revoke took the key');
}

# transactions: create if absent, rewrite only at a mod_revision
{
	my $k = '/service/t/txn';
	my $create = {
		compare => [ { key => $b64->($k), target => 'CREATE', result => 'EQUAL',
			create_revision => '0' } ],
		success => [ { request_put => { key => $b64->($k), value => $b64->('pg1') } } ],
		failure => [ { request_range => { key => $b64->($k) } } ] };
	my $t = $etcd->txn($create);
	ok($t->{succeeded}, 'create if absent: the key was absent');
	$t = $etcd->txn($create);
	ok(!$t->{succeeded}, 'create if absent: not twice');
	is(PgHaTest::Etcd::KV::unb64($t->{responses}[0]{response_range}{kvs}[0]{value}), 'pg1',
		'the failure branch reads the holder');

	my $mod = $etcd->kv_get_full($k)->{mod_revision};
	my $cas = {
		compare => [ { key => $b64->($k), target => 'MOD', result => 'EQUAL',
			mod_revision => "$mod" } ],
		success => [ { request_put => { key => $b64->($k), value => $b64->('pg2') } } ],
		failure => [ { request_range => { key => $b64->($k) } } ] };
	$t = $etcd->txn($cas);
	ok($t->{succeeded}, "rewrite at mod_revision $mod");
	is($etcd->kv_get($k), 'pg2', 'the rewrite was applied');
	$cas->{success}[0]{request_put}{value} = $b64->('pg3');
	$t = $etcd->txn($cas);
	ok(!$t->{succeeded}, "no rewrite at the stale mod_revision $mod");
	is($etcd->kv_get($k), 'pg2', 'the stale rewrite changed nothing');
	cmp_ok($t->{responses}[0]{response_range}{kvs}[0]{mod_revision}, '>', $mod,
		'the failure branch shows the newer revision');
}

$etcd->stop;
ok(!$m->is_running, 'stop stops the member');

# ---------------------------------------------------------------------------
# Three members.

my $dcs = PgHaTest::Etcd->start(name => 'trio', members => 3);
my @members = $dcs->members;
is(scalar(@members), 3, 'three members');
my %ports = map { ($_->client_port => 1, $_->peer_port => 1) } @members;
is(scalar(keys %ports), 6, 'six distinct ports');
my %ids = map { ($_->member_id => 1) } @members;
is(scalar(keys %ids), 3, 'three distinct member IDs');
is($dcs->endpoints, join(',', map { $_->client_url } @members), 'endpoints list every member');
my $leader = $dcs->wait_leader(10);
ok($leader, 'a Raft leader: ' . ($leader ? $leader->name : 'none'));

$dcs->member(1)->kv_put('/service/c/one', '1');
is($dcs->member(3)->kv_get('/service/c/one'), '1', 'a write through one member reads through another');
{
	my ($rc, $out, $err) = $dcs->etcdctl('endpoint', 'health');
	is($rc, 0, 'etcdctl endpoint health: all healthy') or diag("$out$err");
}

# one member lost (the leader): the other two go on
$leader->kill9;
my @alive = grep { $_->is_running } @members;
is(scalar(@alive), 2, 'two members left');
ok(PgHaTest::poll_until('a write with two members of three', 20,
		sub { $alive[0]->kv_put('/service/c/two', '2', timeout => 2) }),
	'writes go on without the leader');
my $new_leader = $dcs->wait_leader(10);
ok($new_leader && $new_leader != $leader, 'the other two elected a new leader');
is($alive[1]->kv_get('/service/c/two'), '2', 'and both members serve the write');

# two lost: no quorum, no write
$alive[0]->kill9;
my $last = $alive[1];
my $failed = !eval { $last->kv_put('/service/c/lost', 'x', timeout => 3); 1 };
ok($failed, 'a write fails with one member of three');
diag('the write without quorum: ' . ($@ =~ s/\n.*//sr)) if $failed;

# one back: quorum again
$leader->start_again;
ok(PgHaTest::poll_until('a write with two members again', 20,
		sub { $last->kv_put('/service/c/back', '3', timeout => 2) }),
	'writes succeed again once a member is back');
is($leader->kv_get('/service/c/two'), '2', 'the member back caught up with the write it missed');
is($leader->kv_get('/service/c/back'), '3', 'and serves the new one');

# a paused member: the others go on; once resumed, it catches up
$dcs->start_again;
is(scalar(grep { $_->is_running } @members), 3, 'all three run again');
my $frozen = $dcs->member(3);
$frozen->pause;
ok($frozen->is_paused, 'member 3 paused');
ok(PgHaTest::poll_until('a write while member 3 is paused', 20,
		sub { $dcs->member(1)->kv_put('/service/c/paused', '4', timeout => 2) }),
	'writes go on while a member is paused');
$frozen->resume;
ok(PgHaTest::poll_until('member 3 catches up', 20,
		sub { ($frozen->kv_get('/service/c/paused') // '') eq '4' }),
	'the resumed member serves the write made while it was paused');

$dcs->stop;
is(scalar(grep { $_->is_running } @members), 0, 'stop stops every member');

done_testing();
