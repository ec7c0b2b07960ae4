# The REST API over HTTPS (pg_ha.api_certfile, api_keyfile, api_cafile),
# with certificates made here by openssl: a bad TLS setting stops the
# server at start with a message naming the file; a node with TLS answers
# https:// (not http://), advertises an https:// api_url in its member
# record, takes write requests only with a client certificate of the CA
# and the basic auth credentials; pg_ha_ctl reload and HAProxy's checks
# work over TLS with the CA.
use strict;
use warnings;

use File::Copy qw(copy);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $openssl = '/usr/bin/openssl';
plan skip_all => 'openssl not installed (scripts/setup.sh installs it)' unless -x $openssl;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);
my $dir    = PostgreSQL::Test::Utils::tempdir('tls');

# ---------------------------------------------------------------------
# Certificates: a CA, a server certificate for 127.0.0.1 and a client
# certificate signed by it, and a second key that matches nothing.

sub run_openssl
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $openssl, @args ], '<', \undef, '>', \$out, '2>', \$err)
	  or die "openssl @args failed: $err";
	return $out;
}

my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes');
run_openssl('req', '-x509', @ec, '-keyout', "$dir/ca.key", '-out', "$dir/ca.crt",
	'-days', '2', '-subj', '/CN=pg_ha test CA');
append_to_file("$dir/server.ext", "subjectAltName = IP:127.0.0.1\n");
run_openssl('req', @ec, '-keyout', "$dir/server.key", '-out', "$dir/server.csr",
	'-subj', '/CN=127.0.0.1');
run_openssl('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.crt",
	'-CAkey', "$dir/ca.key", '-CAcreateserial', '-out', "$dir/server.crt",
	'-days', '2', '-extfile', "$dir/server.ext");
run_openssl('req', @ec, '-keyout', "$dir/client.key", '-out', "$dir/client.csr",
	'-subj', '/CN=operator');
run_openssl('x509', '-req', '-in', "$dir/client.csr", '-CA', "$dir/ca.crt",
	'-CAkey', "$dir/ca.key", '-CAcreateserial', '-out', "$dir/client.crt", '-days', '2');
# a client certificate from another CA
run_openssl('req', '-x509', @ec, '-keyout', "$dir/other.key", '-out', "$dir/other.crt",
	'-days', '2', '-subj', '/CN=someone else');
chmod 0600, map { "$dir/$_" } qw(server.key client.key other.key ca.key);
append_to_file("$dir/garbage.crt", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");

my $tls_conf = [
	"pg_ha.api_certfile = '$dir/server.crt'",
	"pg_ha.api_keyfile = '$dir/server.key'",
	"pg_ha.api_cafile = '$dir/ca.crt'",
	"pg_ha.api_auth = 'admin:s3cret'" ];

# ---------------------------------------------------------------------
# 1. Bad TLS settings stop the server at start, with a clear message.

my $bad = PgHaTest::new_node('bad', %common);
for my $case (
	[ "only a certificate", [ "pg_ha.api_certfile = '$dir/server.crt'", "pg_ha.api_keyfile = ''" ],
		qr/FATAL:  pg_ha.api_certfile and pg_ha.api_keyfile must be set together/ ],
	[ "a missing key file", [ "pg_ha.api_keyfile = '$dir/nonexistent.key'" ],
		qr/FATAL:  REST API TLS: could not open pg_ha.api_keyfile "\Q$dir\E\/nonexistent.key": No such file/ ],
	[ "a key readable by others", [ "pg_ha.api_keyfile = '$dir/world.key'" ],
		qr/FATAL:  REST API TLS: pg_ha.api_keyfile "[^"]+" has group or world access/ ],
	[ "a certificate that is not PEM", [ "pg_ha.api_certfile = '$dir/garbage.crt'", "pg_ha.api_keyfile = '$dir/server.key'" ],
		qr/FATAL:  REST API TLS: pg_ha.api_certfile "[^"]+" and pg_ha.api_keyfile "[^"]+" are not a usable PEM certificate/ ],
	[ "a key of another certificate", [ "pg_ha.api_certfile = '$dir/server.crt'", "pg_ha.api_keyfile = '$dir/other.key'" ],
		qr/FATAL:  REST API TLS: .* are not a usable PEM certificate and its unencrypted private key: .*/ ],
	[ "a CA file without certificates", [ "pg_ha.api_keyfile = '$dir/server.key'", "pg_ha.api_cafile = '$dir/server.ext'" ],
		qr/FATAL:  REST API TLS: pg_ha.api_cafile "[^"]+" holds no PEM certificate/ ],
	[ "a CA file without TLS", [ "pg_ha.api_certfile = ''", "pg_ha.api_keyfile = ''", "pg_ha.api_cafile = '$dir/ca.crt'" ],
		qr/FATAL:  pg_ha.api_cafile is set but the REST API does not use TLS/ ])
{
	my ($what, $lines, $re) = @$case;
	if ($what =~ /readable by others/)
	{
		copy("$dir/server.key", "$dir/world.key") or die;
		chmod 0644, "$dir/world.key";
	}
	$bad->append_conf('postgresql.conf', join("\n", @$lines) . "\n");
	my $offset = -s $bad->logfile // 0;
	ok(!$bad->start(fail_ok => 1), "$what: the server does not start");
	my $log = slurp_file($bad->logfile, $offset);
	like($log, $re, "$what: the log says why");
	unlike($log, qr/server process .* was terminated|BEGIN .*PRIVATE KEY/,
		"$what: no crash, no key material in the log");
}

# ---------------------------------------------------------------------
# 2. A leader and a replica with TLS on the REST API.

my %api_port;
sub api_conf
{
	my ($name) = @_;
	$api_port{$name} = PostgreSQL::Test::Cluster::get_free_port();
	return "pg_ha.api_listen = '127.0.0.1:$api_port{$name}'";
}

my $pg1 = PgHaTest::new_node('pg1', %common, extra_conf => [ api_conf('pg1'), @$tls_conf ]);
$pg1->start;
ok(PgHaTest::wait_writable($pg1), 'pg1 with TLS on its REST API is the leader');
$pg1->safe_psql('postgres', 'CREATE EXTENSION pg_ha');
my $pg2 = PgHaTest::new_replica('pg2', $pg1, %common, extra_conf => [ api_conf('pg2'), @$tls_conf ]);
$pg2->start;
ok(PgHaTest::poll_until('pg2 streams from pg1', 60, sub { PgHaTest::streaming($pg1) eq 'pg2' }),
	'pg2 streams from pg1');
like(slurp_file($pg1->logfile), qr/REST API listening on "127\.0\.0\.1:$api_port{pg1}" \(pid \d+\), HTTPS/,
	'the REST API says it serves HTTPS');

# ($exit code of curl, HTTP status or '', body) of one request
sub curl
{
	my ($url, @opts) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'curl', '-s', '-S', '--max-time', '5', '-w', '\n%{http_code}', @opts, $url ],
		'<', \undef, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	my ($body, $code) = $out =~ /\A(.*)\n(\d*)\z/s ? ($1, $2) : ($out, '');
	$code = '' if $code eq '000';
	note("curl @opts $url: exit $rc, status $code, $err");
	return ($rc, $code, $body);
}

my $https1 = "https://127.0.0.1:$api_port{pg1}";
my ($rc, $code, $body);
ok( PgHaTest::poll_until('GET /primary over HTTPS answers 200', 30,
		sub { (curl("$https1/primary", '--cacert', "$dir/ca.crt"))[1] eq '200' }),
	'health check over HTTPS: the leader answers 200 on /primary');
($rc, $code, $body) = curl("$https1/patroni", '--cacert', "$dir/ca.crt");
is($code, '200', 'curl --cacert https://127.0.0.1:PORT/patroni: 200');
my $doc = eval { decode_json($body) } // {};
is($doc->{role}, 'master', '... the document of the leader');
($rc, $code) = curl("http://127.0.0.1:$api_port{pg1}/patroni");
isnt($rc, 0, 'plain HTTP to the TLS port fails');
is($code, '', '... without any HTTP answer');
($rc, $code) = curl("$https1/patroni");
is($rc, 60, 'without the CA, curl refuses the self-made certificate (exit 60)');

like($consul->kv_get_json("$prefix/members/pg1")->{api_url} // '',
	qr{^https://127\.0\.0\.1:$api_port{pg1}/patroni$},
	"the member record advertises an https:// api_url");

# writes: a client certificate of the CA, then the credentials
my @ca = ('--cacert', "$dir/ca.crt");
my @client = ('--cert', "$dir/client.crt", '--key', "$dir/client.key");
($rc, $code, $body) = curl("$https1/reload", @ca, '-X', 'POST', '-u', 'admin:s3cret');
is($code, '403', 'POST /reload without a client certificate: 403');
like($body, qr/client certificate signed by the CA of pg_ha.api_cafile/, '... saying why');
($rc, $code) = curl("$https1/reload", @ca, '-X', 'POST', '-u', 'admin:s3cret',
	'--cert', "$dir/other.crt", '--key', "$dir/other.key");
is($code, '403', 'with a certificate of another CA: 403');
($rc, $code) = curl("$https1/reload", @ca, @client, '-X', 'POST');
is($code, '401', 'with the client certificate but no credentials: 401');
($rc, $code, $body) = curl("$https1/reload", @ca, @client, '-X', 'POST', '-u', 'admin:s3cret');
is($code, '202', 'with the client certificate and the credentials: 202');
is($body, 'reload scheduled', '... reload scheduled');
($rc, $code) = curl("$https1/cluster", @ca);
is($code, '200', 'reads need no client certificate');

# ---------------------------------------------------------------------
# 3. pg_ha_ctl reload over HTTPS.

# pg_ha_ctl with the environment variables in %$env besides these
sub ctl
{
	my ($env, @args) = @_;
	return PgHaTest::ctl(
		{ env => { PG_HA_CONSUL_URL => $consul->http_url, PG_HA_API_AUTH => 'admin:s3cret', %$env } },
		@args);
}

my %client_env = (PG_HA_API_CERTFILE => "$dir/client.crt", PG_HA_API_KEYFILE => "$dir/client.key");
my ($out, $err);
($rc, $out) = ctl({%client_env}, 'reload', 'otus', '--force');
is($rc, 1, 'pg_ha_ctl reload without PG_HA_API_CAFILE fails');
like($out, qr/Failed: reload for member pg1: .*certificate/i, '... on the server certificate');
($rc, $out) = ctl({ %client_env, PG_HA_API_CAFILE => "$dir/ca.crt" }, 'reload', 'otus', '--force');
is($rc, 0, 'pg_ha_ctl reload with PG_HA_API_CAFILE and a client certificate succeeds');
is(scalar(() = $out =~ /^(Reload request received for member pg[12]|No changes to apply on member pg[12])/mg), 2,
	'... on both members')
  or diag($out);
($rc, $out) = ctl({ PG_HA_API_CAFILE => "$dir/ca.crt" }, 'reload', 'otus', '--force');
is($rc, 1, 'without a client certificate the members refuse it');
like($out, qr/status code=403/, '... with 403');

# ---------------------------------------------------------------------
# 4. HAProxy checks over TLS, verifying the server certificate.

SKIP:
{
	skip 'haproxy not installed', 4 unless defined PgHaTest::haproxy_binary();
	my $haproxy = PgHaTest::HAProxy->start(
		{ check_opts => "check-ssl verify required ca-file $dir/ca.crt" },
		pg1 => $pg1, pg2 => $pg2);
	like($haproxy->config, qr/server pg1 .* check-ssl verify required ca-file /,
		'the servers are checked over TLS');
	ok(PgHaTest::poll_until('HAProxy has pg1 UP for the primary port', 60,
			sub { $haproxy->up('primary') eq 'pg1' }),
		"HAProxy's TLS checks mark the leader UP on the primary port");
	ok(PgHaTest::poll_until('HAProxy has pg2 UP for the replica port', 60,
			sub { $haproxy->up('replicas') eq 'pg2' }),
		'... and the replica UP on the replica port');
	is($haproxy->via('primary', 'SELECT inet_server_port()'), $pg1->port,
		'the primary port leads to the leader');
}

# ---------------------------------------------------------------------
# 5. Certificate files changed while the server runs: a reload takes them
#    (the REST API starts again with them, no server restart); a reload
#    while a file cannot be read keeps the running certificate, says why,
#    and the postmaster goes on.

# the serial of the certificate that the REST API of pg1 presents
sub served_serial
{
	my ($out, $err, $serial) = ('', '', '');
	IPC::Run::run([ $openssl, 's_client', '-connect', "127.0.0.1:$api_port{pg1}",
			'-CAfile', "$dir/ca.crt" ], '<', \undef, '>', \$out, '2>', \$err);
	my ($pem) = $out =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/s;
	return '' unless defined $pem;
	IPC::Run::run([ $openssl, 'x509', '-noout', '-serial' ], '<', \$pem, '>', \$serial, '2>', \$err);
	chomp $serial;
	return $serial;
}

sub file_serial
{
	my $serial = run_openssl('x509', '-in', $_[0], '-noout', '-serial');
	chomp $serial;
	return $serial;
}

my ($api_pid) = slurp_file($pg1->logfile) =~ /REST API listening on "[^"]+" \(pid (\d+)\), HTTPS/;
ok(defined $api_pid, 'the REST API\'s pid is in the log');
like(served_serial(), qr/^serial=[0-9A-F]+$/, 'the REST API presents a certificate');
is(served_serial(), file_serial("$dir/server.crt"), '... the one of pg_ha.api_certfile');

my $offset = -s $pg1->logfile;
rename("$dir/server.key", "$dir/server.key.away") or die "rename: $!";
$pg1->reload;
ok( PgHaTest::poll_until('the HA worker complains', 30,
		sub { slurp_file($pg1->logfile, $offset) =~
			  /WARNING:  pg_ha: REST API keeps serving its certificate: could not open pg_ha.api_keyfile "[^"]+": No such file or directory/ }),
	'a reload without the key file says why the certificate is kept');
is((curl("$https1/primary", @ca))[1], '200', '... and HTTPS goes on with the files read before');
is($pg1->safe_psql('postgres', 'SELECT NOT pg_is_in_recovery() AND NOT fenced FROM pg_ha_node'), 't',
	'the postmaster and the leader go on meanwhile');
rename("$dir/server.key.away", "$dir/server.key") or die "rename: $!";

# a renewed certificate for the same key (a new serial from ca.srl)
run_openssl('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.crt",
	'-CAkey', "$dir/ca.key", '-CAcreateserial', '-out', "$dir/server.new.crt",
	'-days', '2', '-extfile', "$dir/server.ext");
my $new_serial = file_serial("$dir/server.new.crt");
isnt($new_serial, served_serial(), 'the renewed certificate has another serial');
$offset = -s $pg1->logfile;
rename("$dir/server.new.crt", "$dir/server.crt") or die "rename: $!";
$pg1->reload;
ok( PgHaTest::poll_until('the REST API restarts with the new certificate', 30,
		sub { slurp_file($pg1->logfile, $offset) =~ /LOG:  pg_ha: REST API restarted with the new certificate files/ }),
	'a reload with a renewed certificate restarts the REST API');
ok(PgHaTest::poll_until('the new certificate is served', 30, sub { served_serial() eq $new_serial }),
	'... which presents the renewed certificate');
is((curl("$https1/primary", @ca))[1], '200', '... and answers the health check');
ok(kill(0, $api_pid), 'the HA worker that serves it is the same process');
unlike(slurp_file($pg1->logfile), qr/server process .* was terminated|terminating any other active server processes/,
	'no crash of any server process');

unlike(slurp_file($pg1->logfile), qr/s3cret|PRIVATE KEY/, 'no secret in the leader\'s log');

done_testing();
