
# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest - shared helpers for pg_ha's TAP tests (Consul, polling, nodes)

=head1 SYNOPSIS

  use strict;
  use warnings;
  use PostgreSQL::Test::Cluster;
  use PostgreSQL::Test::Utils;
  use Test::More;
  use PgHaTest;

  # A private Consul agent on 127.0.0.1, stopped automatically at exit.
  my $consul = PgHaTest::Consul->start();
  $consul->kv_put('pg_ha/demo/x', 'hello') or die;
  is($consul->kv_get('pg_ha/demo/x'), 'hello', 'round trip');

  # A PostgreSQL node configured for pg_ha (initdb'ed, not started).
  my $node = PgHaTest::new_node('node1', cluster => 'demo', consul => $consul);
  $node->start;

  # Wait for a condition instead of sleeping.
  ok( PgHaTest::poll_until(
		  'node1 holds the leader key', 30,
		  sub { ($consul->kv_get('pg_ha/demo/leader') // '') eq 'node1' }),
	  'node1 became leader');

  $consul->stop;           # SIGTERM, then SIGKILL after a deadline
  $consul->start_again;    # same ports (and same data in persistent mode)
  done_testing();

=head1 RUNNING

The tests run as an unprivileged user (PostgreSQL refuses root), e.g.

  runuser -u postgres -- env TESTDIR=$PWD \
      PG_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress \
      PATH=/usr/lib/postgresql/15/bin:$PATH \
      prove -I /usr/lib/postgresql/15/lib/pgxs/src/test/perl -I regress/t regress/t

PostgreSQL::Test::Utils puts everything under C<$TESTDIR/tmp_check>
(C<tmp_check> of the current directory without TESTDIR): the per-test log
C<tmp_check/log/regress_log_NNN_name>, node logs, and Consul's log
C<tmp_check/log/NNN_name_consul.log> (one per agent, appended across
restarts; Consul runs with log_level debug, so every HTTP request pg_ha
makes is visible there).  Temporary directories are kept when a test fails,
or always with PG_TEST_NOCLEAN=1.

Environment variables:

=over

=item PG_HA_CONSUL

Path of the consul binary.  Default:
C<< <dir of this module>/../../tools/consul/usr/bin/consul >>
(where scripts/setup.sh unpacks it).

=item PG_HA_HAPROXY

Path of the haproxy binary.  Default C</usr/sbin/haproxy>, else the
first C<haproxy> in PATH.

=back

=head1 NOTES

Everything listens on 127.0.0.1 only, and every port comes from
PostgreSQL::Test::Cluster::get_free_port(), which reserves it for the life
of the test process (so a restarted agent can take the same ports again).

Consul's minimum session TTL is 10s (C<session_ttl_min>), and Consul waits
up to twice the TTL before it invalidates an expired session.  Tests that
need shorter TTLs may pass C<< extra_config => { session_ttl_min => '1s' } >>
to start(), knowing that production Consul would refuse such sessions.

Loading this module installs INT/TERM/HUP handlers (unless the test already
set some) that exit(), so END blocks still stop Consul agents and
PostgreSQL nodes when a test run is interrupted.

=cut

package PgHaTest;

use strict;
use warnings;

use Carp;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use IPC::Run;
use Time::HiRes ();
use Test::More;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

# Directory holding this file, resolved once at load time.
my $module_dir = dirname(abs_path(__FILE__));

=pod

=head1 FUNCTIONS

=over

=item PgHaTest::consul_binary()

Path of the consul binary: $ENV{PG_HA_CONSUL}, else
C<< <module dir>/../../tools/consul/usr/bin/consul >>.  Does not check that
it exists; PgHaTest::Consul->start() does.

=cut

sub consul_binary
{
	return $ENV{PG_HA_CONSUL}
	  if defined $ENV{PG_HA_CONSUL} && $ENV{PG_HA_CONSUL} ne '';
	my $path = File::Spec->catfile($module_dir, File::Spec->updir,
		File::Spec->updir, qw(tools consul usr bin consul));
	my $abs = abs_path($path);
	return defined $abs ? $abs : $path;
}

=pod

=item PgHaTest::haproxy_binary()

Path of the haproxy binary ($ENV{PG_HA_HAPROXY}, else /usr/sbin/haproxy,
else haproxy found in PATH), or undef when there is none (so a test can
C<plan skip_all>).

=cut

sub haproxy_binary
{
	return $ENV{PG_HA_HAPROXY}
	  if defined $ENV{PG_HA_HAPROXY} && $ENV{PG_HA_HAPROXY} ne '';
	return '/usr/sbin/haproxy' if -x '/usr/sbin/haproxy';
	foreach my $dir (File::Spec->path)
	{
		my $candidate = File::Spec->catfile($dir, 'haproxy');
		return $candidate if -f $candidate && -x $candidate;
	}
	return undef;
}

# Monotonic clock in (fractional) seconds, for deadlines.
sub _now
{
	my $t = eval { Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) };
	return defined $t ? $t : Time::HiRes::time();
}

=pod

=item PgHaTest::poll_until($description, $deadline_seconds, sub { ... })

Calls the sub every 100 ms until it returns a true value or
$deadline_seconds have passed.  A sub that dies counts as "not yet" (the
last error is reported on timeout), so it may use helpers that die while
a server is down.  Returns the sub's true value, or 0 after a diag() when
the deadline passed.  Use this instead of sleep() in tests:

  ok(PgHaTest::poll_until('replica streams', 30,
		sub { $replica->safe_psql('postgres',
				'SELECT count(*) FROM pg_stat_wal_receiver') == 1 }),
	 'replica streams');

=cut

sub poll_until
{
	my ($description, $deadline_seconds, $code) = @_;
	croak 'poll_until needs a description, a deadline and a code ref'
	  unless defined $description
	  && defined $deadline_seconds
	  && ref $code eq 'CODE';

	my $start    = _now();
	my $deadline = $start + $deadline_seconds;
	my $attempts = 0;
	my $last_error;

	while (1)
	{
		$attempts++;
		my $result = eval { $code->() };
		if ($@)
		{
			$last_error = $@;
			chomp $last_error;
		}
		elsif ($result)
		{
			return $result;
		}
		last if _now() >= $deadline;
		Time::HiRes::sleep(0.1);
	}

	diag(
		sprintf(
			"poll_until: timed out after %.1fs (%d attempts) waiting for: %s%s",
			_now() - $start, $attempts, $description,
			defined $last_error ? "\nlast error: $last_error" : ''));
	return 0;
}

# Quote a string as a postgresql.conf value.
sub _conf_quote
{
	my ($value) = @_;
	$value =~ s/\\/\\\\/g;
	$value =~ s/'/''/g;
	return "'$value'";
}

=pod

=item PgHaTest::pg_ha_conf($node, $name, %opts)

The postgresql.conf lines (one string) that new_node() appends: pg_ha's
settings for node $name, C<listen_addresses = '127.0.0.1'> (so other nodes
and pg_ha can reach it at its connect_address), and $opts{extra_conf}.
Useful to re-point a node made from a backup (init_from_backup copies the
primary's postgresql.conf, node_name included):

  $standby->append_conf('postgresql.conf',
	  PgHaTest::pg_ha_conf($standby, 'node2', cluster => 'c1', consul => $consul));

Options are those of new_node().

=cut

sub pg_ha_conf
{
	my ($node, $name, %opts) = @_;

	my $consul_url = $opts{consul_url};
	$consul_url = $opts{consul}->http_url
	  if !defined $consul_url && defined $opts{consul};
	croak 'pg_ha_conf: need consul => PgHaTest::Consul object (or consul_url)'
	  unless defined $consul_url;

	my $cluster       = defined $opts{cluster}       ? $opts{cluster}       : 'pg_ha_test';
	# with units: a bare number would be milliseconds
	my $ttl           = defined $opts{ttl}           ? $opts{ttl}           : '10s';
	my $loop_wait     = defined $opts{loop_wait}     ? $opts{loop_wait}     : '1s';
	my $retry_timeout = defined $opts{retry_timeout} ? $opts{retry_timeout} : '2s';

	my @lines = (
		'',
		'# Added by PgHaTest.pm',
		"listen_addresses = '127.0.0.1'",
		"shared_preload_libraries = 'pg_ha'",
		'pg_ha.cluster = ' . _conf_quote($cluster),
		'pg_ha.node_name = ' . _conf_quote($name),
		'pg_ha.consul_url = ' . _conf_quote($consul_url),
		'pg_ha.ttl = ' . _conf_quote($ttl),
		'pg_ha.loop_wait = ' . _conf_quote($loop_wait),
		'pg_ha.retry_timeout = ' . _conf_quote($retry_timeout),
		'pg_ha.connect_address = ' . _conf_quote('127.0.0.1:' . $node->port),
		# every node its own REST API port (later lines may override)
		'pg_ha.api_listen = '
		  . _conf_quote('127.0.0.1:' . PostgreSQL::Test::Cluster::get_free_port()),
		'wal_log_hints = on',
		# as pg_ha_ctl init sets it: WAL a rewound node still needs
		"wal_keep_size = '128MB'",
		# the test clusters trust loopback: their superuser replicates
		'pg_ha.replication_user = '
		  . _conf_quote($opts{replication_user} // scalar(getpwuid($<))));

	my $extra = $opts{extra_conf};
	if (defined $extra)
	{
		push @lines, ref $extra eq 'ARRAY' ? @$extra : ($extra);
	}
	# last: the worker's managed file overrides what comes before
	push @lines, "include_if_exists = 'pg_ha.conf'";
	return join("\n", @lines) . "\n";
}

=pod

=item PgHaTest::new_node($name, %opts)

Returns a new PostgreSQL::Test::Cluster node, init()'ed with
allows_streaming => 1 but not started, whose postgresql.conf has pg_ha
loaded and configured:

  shared_preload_libraries = 'pg_ha'
  pg_ha.cluster = '<cluster>'
  pg_ha.node_name = '<name>'
  pg_ha.consul_url = '<consul http_url>'
  pg_ha.ttl = '10s'
  pg_ha.loop_wait = '1s'
  pg_ha.retry_timeout = '2s'
  pg_ha.connect_address = '127.0.0.1:<port>'

plus C<listen_addresses = '127.0.0.1'> (initdb's default pg_hba.conf
trusts 127.0.0.1 for normal and replication connections; the node keeps
its Unix socket for the test's own psql calls).

Options: consul (a PgHaTest::Consul, required unless consul_url is
given), cluster (default 'pg_ha_test'), ttl, loop_wait, retry_timeout
(with units, e.g. '10s'; a bare number means milliseconds), extra_conf (a string or an array ref of lines,
appended last so it overrides), init (a hash ref of extra arguments for
$node->init, e.g. C<< { has_archiving => 1 } >>).

=cut

sub new_node
{
	my ($name, %opts) = @_;
	croak 'new_node: need a node name' unless defined $name && $name ne '';

	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 1, %{ $opts{init} || {} });
	$node->append_conf('postgresql.conf', pg_ha_conf($node, $name, %opts));
	return $node;
}

=item PgHaTest::http_exchange($socket, $method, $path, $body, %headers)

One HTTP/1.1 request on an open socket, sent in a single write (HTTP::Tiny
sends a body apart, and Nagle's algorithm with the server's delayed ACK
then adds 40 ms to each request), and its answer read by Content-Length.
Returns ($status, $content); dies when no answer comes.

=cut

sub http_exchange
{
	my ($socket, $method, $path, $body, %headers) = @_;
	print {$socket} _http_request($method, $path, $body, %headers) or croak "send: $!";
	my ($status, $content, $head) = _http_answer($socket);
	croak "no answer to $method $path" unless defined $head;
	croak "not an HTTP answer: $head" unless defined $status;
	return ($status, $content);
}

# The text of one HTTP/1.1 request, its headers sorted, Content-Length last.
sub _http_request
{
	my ($method, $path, $body, %headers) = @_;
	$body //= '';
	my $request = "$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\n";
	$request .= "$_: $headers{$_}\r\n" for sort keys %headers;
	$request .= 'Content-Length: ' . length($body) . "\r\n\r\n$body";
	return $request;
}

# (status, content, head) of the answer read from $socket, its body by
# Content-Length; an empty list when the connection ends before the head
# does, an undef status when the head is no HTTP answer.
sub _http_answer
{
	my ($socket) = @_;
	my $head = '';
	while ($head !~ /\r\n\r\n\z/)
	{
		defined(my $line = <$socket>) or return;
		$head .= $line;
	}
	my ($status) = $head =~ m{\AHTTP/1\.\d (\d{3})};
	return (undef, '', $head) unless defined $status;
	my ($len) = $head =~ /^Content-Length: (\d+)/mi;
	my $content = '';
	read($socket, $content, $len) if $len;
	return ($status, $content, $head);
}

=item PgHaTest::send_request($port, $method, $path, $body, %headers)

Connects to 127.0.0.1:$port and sends one HTTP/1.1 request (in a single
write, as http_exchange() does) without waiting for its answer: returns the
socket, for read_answer() later (to check something while the request
waits, or to have two requests in flight at once).  Dies when it cannot
connect.

  my $sock = PgHaTest::send_request($port, 'POST', '/failover',
	  '{"candidate":"pg2"}', Authorization => "Basic $credentials");
  my ($status, $content) = PgHaTest::read_answer($sock);

=item PgHaTest::read_answer($socket, [$seconds])

The answer to the request sent on $socket: waits up to $seconds (default
60) for it, then reads its head and its body (by Content-Length).
Returns ($status, $content); (0, 'no answer within $seconds s') when
nothing came in time, (0, '') when the connection ended without an answer.

=cut

sub send_request
{
	my ($port, $method, $path, $body, %headers) = @_;
	my $socket = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $port,
		Proto    => 'tcp',
		Timeout  => 5) or croak "connect to 127.0.0.1:$port: $!";
	$socket->autoflush(1);
	print {$socket} _http_request($method, $path, $body, %headers) or croak "send: $!";
	return $socket;
}

sub read_answer
{
	my ($socket, $seconds) = @_;
	$seconds //= 60;
	return (0, "no answer within $seconds s")
	  unless IO::Select->new($socket)->can_read($seconds);
	my ($status, $content) = _http_answer($socket);
	return ($status // 0, $content // '');
}

=item PgHaTest::streaming($leader)

The application names of the replicas streaming from $leader, sorted and
joined by commas ('' when $leader does not answer).

=cut

sub streaming
{
	my ($leader) = @_;
	my $r = $leader->psql('postgres',
		"SELECT string_agg(application_name, ',' ORDER BY application_name) "
		  . "FROM pg_stat_replication WHERE state = 'streaming'",
		stdout => \my $out);
	return $r == 0 ? $out : '';
}

=item PgHaTest::HAProxy->start(%nodes)

A real HAProxy with the documented configuration (docs/haproxy.cfg), its
ports replaced: the nodes pg1, pg2, pg3 given as name => node (each node's
REST API port is read from its postgresql.conf), and free ports for the
primary, replica and stats sections.  Stopped at exit.  Methods:
->port('primary'|'replicas'|'stats'), ->config (the rendered file's text),
->via($section, $sql) (psql through HAProxy, the output), ->up($section)
(the servers HAProxy has UP there, from its stats page, sorted, joined by
commas).  A hash ref before the nodes holds options: C<check_opts>, words
appended to every server line, e.g. C<< { check_opts => 'check-ssl verify
required ca-file /x/ca.crt' } >> for checks over HTTPS; C<addr>, a hash
ref of node name => the address HAProxy reaches that node and its REST
API at (default 127.0.0.1), e.g. a node's data address in a network
namespace of PgHaTest::Netns.

=cut

=item PgHaTest::start_node($node)

Start $node when pg_ha may restart it on its own right away (a primary that
the HA worker demotes through pg_ha_ctl rejoin can be stopped and started
again before pg_ctl's wait ends).  Waits until a postmaster runs, whichever
started it, and lets the node object know its pid, so that stop() works.

=cut

sub start_node
{
	my ($node) = @_;
	$node->start(fail_ok => 1);
	my $pidfile = $node->data_dir . '/postmaster.pid';
	my $ok = poll_until(
		'a postmaster for ' . $node->name, 60,
		sub {
			open(my $fh, '<', $pidfile) or return 0;
			my $pid = <$fh>;
			close $fh;
			chomp $pid if defined $pid;
			return defined $pid && $pid =~ /^\d+$/ && kill(0, $pid);
		});
	$node->_update_pid(1) if $ok;
	return $ok;
}

=item PgHaTest::new_replica($name, $primary, %opts)

A standby of $primary for pg_ha to manage: a base backup of $primary,
without the files that belong to $primary's HA worker (its session and its
managed file), with standby.signal and no primary_conninfo of its own (the
HA worker writes it).  Options as for new_node.  Not started.

=cut

sub new_replica
{
	my ($name, $primary, %opts) = @_;
	my $backup = "for_$name";

	$primary->backup($backup);
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init_from_backup($primary, $backup);
	unlink($node->data_dir . "/$_") for qw(pg_ha.session pg_ha.conf);
	$node->append_conf('postgresql.conf', pg_ha_conf($node, $name, %opts));
	$node->set_standby_mode;
	return $node;
}

=item PgHaTest::start_cluster(%opts)

The beginning most tests share: a leader and its replicas, managed by
pg_ha.  The first node of C<names> is made with new_node() and started,
polled for 60 s until it takes connections (pg_ha lets them in once the
node holds the leader key), or with C<writable> until it takes writes, and
checked by an ok() named C<leader_test>; C<sql> runs on it, then
C<setup>.  The other nodes are made with
new_replica() of it and started with start_node(), polled for 60 s until
they all stream from the leader, and checked by a second ok() named
C<stream_test> (none without replicas).  Returns the nodes in the order of
C<names>:

  my ($pg1, $pg2, $pg3) = PgHaTest::start_cluster(options => \%common);

Options:

=over

=item names

Array ref of the node names, the leader first.  Default
C<[qw(pg1 pg2 pg3)]>.

=item options

The new_node()/new_replica() options of every node: a hash ref, or a code
ref called with a node's name that returns them as a list.

=item node_options

Hash ref of node name => hash ref of options for that node alone (e.g.
its own extra_conf), applied after C<options>.

=item writable

True: the leader is polled with wait_writable() (connections, and out of
recovery) rather than for connections alone.

=item sql

SQL run on the leader once it is up; undef or '' runs none.  Default
C<CREATE EXTENSION pg_ha>.

=item setup

Code ref called with the leader after C<sql>, before the replicas are
cloned (e.g. C<\&PgHaTest::Checker::create_table>).

=item leader_test, stream_test

The names of the two tests.  Defaults C<< <leader> is the leader >> and
C<< <replicas> stream(s) from <leader> >> ("pg2 and pg3 stream from pg1",
"pg2 streams from pg1").

=back

=cut

sub start_cluster
{
	my (%opts) = @_;
	my @names = @{ $opts{names} || [qw(pg1 pg2 pg3)] };
	croak 'start_cluster: need at least one node name' unless @names;
	my $options = $opts{options} || {};
	my $node_options = sub {
		my ($name) = @_;
		my @common = ref $options eq 'CODE' ? $options->($name) : %$options;
		return (@common, %{ ($opts{node_options} || {})->{$name} || {} });
	};
	local $Test::Builder::Level = $Test::Builder::Level + 1;

	my ($leader_name, @replica_names) = @names;
	my $leader = new_node($leader_name, $node_options->($leader_name));
	$leader->start;
	ok( $opts{writable}
		? wait_writable($leader)
		: poll_until("$leader_name leads", 60,
			sub { $leader->psql('postgres', 'SELECT 1') == 0 }),
		$opts{leader_test} // "$leader_name is the leader");
	my $sql = exists $opts{sql} ? $opts{sql} : 'CREATE EXTENSION pg_ha';
	$leader->safe_psql('postgres', $sql) if defined $sql && $sql ne '';
	$opts{setup}->($leader) if $opts{setup};
	return ($leader) unless @replica_names;

	my @replicas = map { new_replica($_, $leader, $node_options->($_)) } @replica_names;
	start_node($_) for @replicas;
	my $expected = join(',', sort @replica_names);
	my $who = @replica_names == 1
	  ? "$replica_names[0] streams"
	  : join(', ', @replica_names[ 0 .. $#replica_names - 1 ])
	  . " and $replica_names[-1] stream";
	ok(poll_until($who, 60, sub { streaming($leader) eq $expected }),
		$opts{stream_test} // "$who from $leader_name");
	return ($leader, @replicas);
}

=item PgHaTest::wait_writable($node, [$seconds])

Polls (for 60 s unless $seconds says otherwise) until $node takes
connections and is out of recovery: a leader that takes writes.  Returns
what poll_until() returns.

  ok(PgHaTest::wait_writable($pg1), 'pg1 is the leader');

=cut

sub wait_writable
{
	my ($node, $seconds) = @_;
	return poll_until($node->name . ' takes writes', $seconds // 60,
		sub { $node->psql('postgres', 'SELECT 1') == 0
			  && $node->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 'f' });
}

=item PgHaTest::ctl([\%opts], @args)

Runs pg_ha_ctl with @args and returns (exit code, stdout, stderr).  Its
standard input is empty unless C<stdin> gives it.  The command is logged
with note() before it runs, its exit code and outputs after, unless
C<quiet>.  Options, in a hash ref before the arguments:

  stdin    what pg_ha_ctl reads (e.g. the answers to its prompts)
  env      hash ref of environment variables for this run: a value sets
           the variable, undef removes it
  quiet    log nothing (for polls)
  timeout  seconds it may take before IPC::Run dies (default: no limit)

  my ($rc, $out, $err) = PgHaTest::ctl('list', 'otus');
  ($rc, $out, $err) = PgHaTest::ctl({ stdin => "otus\n" }, 'remove', 'otus');

=cut

sub ctl
{
	my $opts = ref $_[0] eq 'HASH' ? shift : {};
	my @args = @_;
	my $in   = $opts->{stdin};
	my ($out, $err) = ('', '');
	local %ENV = %ENV;
	my $env = $opts->{env} || {};
	foreach my $var (sort keys %$env)
	{
		if (defined $env->{$var}) { $ENV{$var} = $env->{$var} }
		else                      { delete $ENV{$var} }
	}
	note("running: pg_ha_ctl @args" . (defined $in ? ' (with input)' : ''))
	  unless $opts->{quiet};
	IPC::Run::run([ 'pg_ha_ctl', @args ], '<', defined $in ? \$in : \undef,
		'>', \$out, '2>', \$err,
		defined $opts->{timeout} ? (IPC::Run::timeout($opts->{timeout})) : ());
	my $rc = $? >> 8;
	note("pg_ha_ctl @args: exit code $rc\nstdout:\n$out\nstderr:\n$err")
	  unless $opts->{quiet};
	return ($rc, $out, $err);
}

=item PgHaTest::patronictl_binary()

Path of Debian's patronictl (package patroni): the first in PATH, else
/usr/bin/patronictl; undef when there is none (so a test can skip).

=cut

sub patronictl_binary
{
	my ($path) = grep { -x } map { "$_/patronictl" }
	  split /:/, ($ENV{PATH} // '') . ':/usr/bin';
	return $path;
}

=item PgHaTest::table_row($out, $name)

The cells of the row of a table drawn as patronictl (and pg_ha_ctl list)
draw them, C<| pg1 | 127.0.0.1:5432 | Leader | running | 1 | |>, whose
first cell is $name: an array ref of the cells, trimmed, without what
stands before the first and after the last C<|> ([] when there is no such
row).  The header is the row named C<Member>.

=cut

sub table_row
{
	my ($out, $name) = @_;
	my ($line) = grep { /^\|\s*\Q$name\E\s*\|/ } split /\n/, $out;
	return [] unless defined $line;
	my @cells = map { s/^\s+|\s+$//gr } split /\|/, $line, -1;
	shift @cells;
	pop @cells if $line =~ /\|\s*\z/;
	return \@cells;
}

=item PgHaTest::start_time($node)

When $node's postmaster started (pg_postmaster_start_time()), in seconds
since the epoch, or '' when $node does not answer: another value later
means the server was restarted.

=cut

sub start_time
{
	my ($node) = @_;
	my $r = $node->psql('postgres',
		'SELECT extract(epoch FROM pg_postmaster_start_time())', stdout => \my $t);
	return $r == 0 ? $t : '';
}

=item PgHaTest::pending_restarts($node)

Every member's pending restart as $node's pg_ha_status shows it,
C<member:true|false> joined by commas in member order (e.g.
C<pg1:false,pg2:true>), or '' when $node does not answer.

=cut

sub pending_restarts
{
	my ($node) = @_;
	my $r = $node->psql('postgres',
		"SELECT string_agg(member || ':' || pending_restart, ',' ORDER BY member) FROM pg_ha_status",
		stdout => \my $out);
	return $r == 0 ? $out : '';
}

=item PgHaTest::api_url($node)

C<http://host:port> of $node's REST API, from its pg_ha.api_listen (asked
with SHOW; dies when $node does not answer).

=item PgHaTest::api_get($node, $path)

GET $path (with its query) from $node's REST API, 5 s at the most: (status,
content) in list context, the status alone in scalar context; status 599
when no connection could be made.

=cut

my $api_http = HTTP::Tiny->new(timeout => 5);

sub api_url
{
	my ($node) = @_;
	return 'http://' . $node->safe_psql('postgres', 'SHOW pg_ha.api_listen');
}

sub api_get
{
	my ($node, $path) = @_;
	my $res = $api_http->get(api_url($node) . $path);
	return wantarray ? ($res->{status}, $res->{content}) : $res->{status};
}

=item PgHaTest::ha_worker_pid($node)

The pid of $node's HA worker (which serves the REST API) from the last
C<REST API listening on ... (pid N)> line of $node's server log, or undef
when there is none.

=cut

sub ha_worker_pid
{
	my ($node) = @_;
	return (slurp_file($node->logfile) =~ /REST API listening on .* \(pid (\d+)\)/g)[-1];
}

=item PgHaTest::consul_acl_rules()

The rules of the Consul ACL policy a node's token needs (the default
namespace C<service>), as docs/security.md shows them: the cluster's keys,
sessions, the TTL check on the agent's node (node write), and reading the
agent's own configuration.

=cut

sub consul_acl_rules
{
	return <<'EOF';
key_prefix "service/" { policy = "write" }
session_prefix "" { policy = "write" }
node_prefix "" { policy = "write" }
agent_prefix "" { policy = "read" }
EOF
}

=pod

=back

=cut

# Stop any agent still running when the test exits (normally or by die).
# This module is compiled after File::Temp and PostgreSQL::Test::Utils, so
# this END block runs before theirs: agents stop before their data
# directories are removed.
END
{
	PgHaTest::Consul::_stop_all();
}

# Turn INT/TERM/HUP into exit(), so that END blocks run and nothing is left
# behind when a test run is interrupted.  Leave handlers a test set alone.
foreach my $signame (qw(INT TERM HUP))
{
	next if defined $SIG{$signame} && $SIG{$signame} ne 'DEFAULT';
	$SIG{$signame} = sub {
		my $num = { INT => 2, HUP => 1, TERM => 15 }->{ $_[0] } || 1;
		print STDERR "PgHaTest: caught SIG$_[0], exiting\n";
		exit(128 + $num);
	};
}


package PgHaTest::Daemon;

=pod

=head1 PgHaTest::Daemon

The handling of a server process that PgHaTest::Consul and
PgHaTest::Etcd::Member share, as their base class (a test uses it through
them): the server runs in a process group of its own, its output appended
to a log file, and is stopped, killed, paused and resumed through that
group.  It works on these fields of the object:

  name       the server's name, for messages
  log_file   the log the server's output is appended to
  pid        the process, undef when it is not running
  owner_pid  the test process that started it: only that one signals it
             (a child of the test must not stop it in its own END block)
  paused     true between ->pause and ->resume

and on one method of the class: ->label, how messages name the server
(C<Consul 'consul'>, C<etcd 'etcd1'>).

=over

=item PgHaTest::Daemon::log_file_for($name)

The log of the server $name in this test:
C<< tmp_check/log/<test>_<name>.log >> (<test>: the test file's name
without its extension), for the log_file field.

=item ->_spawn(@command)

Appends a line naming the command to the log file, then forks; the child
starts a session of its own (so that signals to the group reach all of
the server), takes /dev/null as input, sends stdout and stderr to the log
and execs the command.  Sets ->pid and returns it.  Dies when the log
cannot be opened or fork fails; the child never returns into the test
(exit 126 when the redirections fail, 127 when exec does).

=item ->is_running

True while the process is alive (it may not be ready yet, or be paused).
Reaps it once it has exited, and forgets its pid.

=item ->stop([$timeout]), ->kill9

SIGTERM to the process group, SIGKILL after $timeout seconds (default
10); SIGKILL.  Both return 1 once the process has exited, 0 when it was
not running or another process started it.  A paused server gets SIGCONT
too, so that it can act on SIGTERM; whatever else is left in the group
is killed.

=item ->pause, ->resume, ->is_paused

SIGSTOP and SIGCONT to the process group: the server stays alive but
answers nobody (connections to it hang).  Both die when it is not
running.

=item ->pid, ->name, ->log_file

Accessors.

=item ->_log_tail($lines)

The last $lines lines of the log file ('' when it cannot be read), to
quote in an error.

=back

=cut

use strict;
use warnings;

use Carp;
use File::Basename qw(basename);
use POSIX qw(WNOHANG);
use Time::HiRes ();
use PostgreSQL::Test::Utils ();

sub log_file_for
{
	my ($name) = @_;
	my $testname = basename($0);
	$testname =~ s/\.[^.]+$//;
	return "$PostgreSQL::Test::Utils::log_path/${testname}_$name.log";
}

sub pid       { return $_[0]->{pid}; }
sub name      { return $_[0]->{name}; }
sub log_file  { return $_[0]->{log_file}; }
sub is_paused { return $_[0]->{paused}; }

sub _spawn
{
	my ($self, @cmd) = @_;

	open my $log, '>>', $self->{log_file}
	  or die "could not open $self->{log_file}: $!";
	printf $log "\n===== %s: starting: %s\n", scalar(localtime), join(' ', @cmd);
	close $log;

	my $pid = fork();
	die "fork failed: $!" unless defined $pid;
	if ($pid == 0)
	{
		# Child: own session and process group, output to the log file.
		# Never return into the test.
		POSIX::setsid();
		$SIG{$_} = 'DEFAULT' foreach qw(PIPE INT TERM HUP);
		open(STDIN,  '<',  '/dev/null')
		  && open(STDOUT, '>>', $self->{log_file})
		  && open(STDERR, '>&', \*STDOUT)
		  or POSIX::_exit(126);
		{
			no warnings 'exec';
			exec { $cmd[0] } @cmd;
		}
		print STDERR "could not exec $cmd[0]: $!\n";
		POSIX::_exit(127);
	}
	$self->{pid}    = $pid;
	$self->{paused} = 0;
	return $pid;
}

sub is_running
{
	my ($self) = @_;
	return 0 unless defined $self->{pid};
	local $?;
	if (waitpid($self->{pid}, WNOHANG) == $self->{pid})
	{
		$self->{pid} = undef;
		return 0;
	}
	return 1;
}

sub stop
{
	my ($self, $timeout) = @_;
	return $self->_terminate('TERM', $timeout // 10);
}

sub kill9
{
	my ($self) = @_;
	return $self->_terminate('KILL', 10);
}

sub _terminate
{
	my ($self, $signal, $timeout) = @_;
	local $?;    # waitpid must not change the test's exit status in END
	my $pid = $self->{pid};
	return 0 unless defined $pid && $self->{owner_pid} == $$;

	kill($signal, -$pid) or kill($signal, $pid);
	# a stopped process acts on SIGTERM only once it runs again
	kill('CONT', -$pid) if $self->{paused};
	$self->{paused} = 0;
	my $deadline = PgHaTest::_now() + $timeout;
	while (waitpid($pid, WNOHANG) == 0)
	{
		if (PgHaTest::_now() >= $deadline)
		{
			last if $signal eq 'KILL';
			print '# ' . $self->label . " ignored SIGTERM, sending SIGKILL\n";
			($signal, $deadline) = ('KILL', PgHaTest::_now() + 10);
			kill('KILL', -$pid) or kill('KILL', $pid);
		}
		Time::HiRes::sleep(0.05);
	}
	# Should anything else be left in the group, kill it too.
	kill('KILL', -$pid);
	print '# ' . $self->label . " (pid $pid) stopped with SIG$signal\n";
	$self->{pid} = undef;
	return 1;
}

sub pause  { return $_[0]->_signal_group('STOP', 1); }
sub resume { return $_[0]->_signal_group('CONT', 0); }

sub _signal_group
{
	my ($self, $signal, $paused) = @_;
	my $label = $self->label;
	croak "$label is not running" unless $self->is_running;
	kill($signal, -$self->{pid}) or croak "SIG$signal to $label: $!";
	$self->{paused} = $paused;
	return 1;
}

sub _log_tail
{
	my ($self, $lines) = @_;
	open my $fh, '<', $self->{log_file} or return '';
	my @all = <$fh>;
	close $fh;
	splice(@all, 0, @all - $lines) if @all > $lines;
	return join('', @all);
}


package PgHaTest::Consul;

=pod

=head1 PgHaTest::Consul

One Consul agent (a single server that elects itself leader), listening on
127.0.0.1 only, with DNS, gRPC, HTTPS and serf WAN disabled.  Its process
is a PgHaTest::Daemon (stop, kill9, is_running, pause and resume come
from there).

=over

=cut

use strict;
use warnings;

use Carp;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Scalar::Util qw(weaken);
use Socket;
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @ISA = ('PgHaTest::Daemon');

# All agents started by this process, by name; weak references, so an agent
# going out of scope is stopped by DESTROY, and END stops the rest.
my %registry;

my $json = JSON::PP->new->utf8->canonical;

# Is this UDP port free on 127.0.0.1?  (get_free_port only checks TCP;
# serf LAN uses both.)
sub _udp_port_free
{
	my ($port) = @_;
	socket(my $sock, PF_INET, SOCK_DGRAM, getprotobyname('udp'))
	  or die "socket: $!";
	my $ok = bind($sock, sockaddr_in($port, inet_aton('127.0.0.1')));
	close $sock;
	return $ok;
}

sub _pick_ports
{
	my %ports;
	$ports{http}   = PostgreSQL::Test::Cluster::get_free_port();
	$ports{server} = PostgreSQL::Test::Cluster::get_free_port();
	do
	{
		$ports{serf_lan} = PostgreSQL::Test::Cluster::get_free_port();
	} until _udp_port_free($ports{serf_lan});
	return \%ports;
}

sub _merge
{
	my ($into, $from) = @_;
	foreach my $k (keys %$from)
	{
		if (ref $into->{$k} eq 'HASH' && ref $from->{$k} eq 'HASH')
		{
			_merge($into->{$k}, $from->{$k});
		}
		else
		{
			$into->{$k} = $from->{$k};
		}
	}
	return;
}

=pod

=item PgHaTest::Consul->start(%opts)

Starts an agent and waits (deadline 30 s) until /v1/status/leader names a
leader and a KV put succeeds.  Dies, quoting the end of Consul's log, if it
does not get there.  Options:

=over

=item name

Used for the log file (C<< tmp_check/log/<test>_<name>.log >>), the data
directory and the Consul node name.  Default 'consul'; must be unique
among the agents of one test.

=item persistent

0 (default): C<consul agent -dev>; state lives in memory, ready in about
0.15 s, and start_again() starts with an empty KV store and no sessions.
1: C<consul agent -server -bootstrap-expect=1> with raft_multiplier 1;
state is kept in the data directory across stop/kill9/start_again, ready
in about 1.5 s (leader election).

=item client

1: a client agent (C<server = false>, not -dev, state in the data
directory), which must join servers through extra_config's retry_join
(PgHaTest::ConsulCluster does that).  Default 0.

=item extra_config

A hash ref merged into the agent's JSON configuration, e.g.
C<< { session_ttl_min => '1s' } >>.

=item log_level

Default 'debug' (logs every HTTP request).

=item acl

A master token (a string), or 1 for a generated one: the agent starts
with C<< acl { enabled = true, default_policy = "deny", tokens { master =
..., agent = ... } } >> (the master token as the agent token too, so that
the agent registers its node).  This object's own requests (http(),
kv_get() ...) send the master token unless they pass an X-Consul-Token
header of their own; ->master_token returns it.

=item timeout

Start-up deadline in seconds, default 30.

=item ports

A hash ref of ports to use (http, server, serf_lan) instead of free ones
picked at start: for agents that must know each other's ports before
they start (PgHaTest::ConsulCluster).

=item wait

1 (default): wait until the agent is ready (see wait_ready).  0: return
as soon as the process runs, e.g. for a server that cannot elect a
leader before its peers run; call ->wait_ready later.  start_again()
follows the same choice.

=back

=cut

sub start
{
	my ($class, %opts) = @_;

	my $name = defined $opts{name} ? $opts{name} : 'consul';
	croak "PgHaTest::Consul: invalid name '$name'"
	  unless $name =~ /^[A-Za-z0-9_.-]+$/;
	croak "PgHaTest::Consul: an agent named '$name' already exists"
	  if $registry{$name};

	my $binary = PgHaTest::consul_binary();
	croak "PgHaTest::Consul: consul binary '$binary' is not executable "
	  . '(run scripts/setup.sh or set PG_HA_CONSUL)'
	  unless -f $binary && -x $binary;

	my $base = PostgreSQL::Test::Utils::tempdir("consul_$name");
	my $self = bless {
		name       => $name,
		binary     => $binary,
		persistent => $opts{persistent} ? 1 : 0,
		client     => $opts{client}     ? 1 : 0,
		base_dir   => $base,
		data_dir   => "$base/data",
		config     => "$base/consul.json",
		log_file   => PgHaTest::Daemon::log_file_for($name),
		log_level  => defined $opts{log_level} ? $opts{log_level} : 'debug',
		extra      => $opts{extra_config} || {},
		acl_token  => !$opts{acl} ? undef
		  : $opts{acl} eq '1' ? sprintf('%08x-%04x-4%03x-8%03x-%012x',
			  map { int(rand(16**$_)) } 8, 4, 3, 3, 12)
		  : $opts{acl},
		timeout    => defined $opts{timeout} ? $opts{timeout} : 30,
		wait       => defined $opts{wait} ? $opts{wait} : 1,
		owner_pid  => $$,
		pid        => undef,
		http       => HTTP::Tiny->new(
			timeout    => 5,
			keep_alive => 0,
			agent      => 'pg_ha-tap/1.0'),
	}, $class;
	mkdir $self->{data_dir} or die "mkdir $self->{data_dir}: $!";

	# The ports are reserved for the life of this process, but another
	# program could still grab one before Consul binds it: then try again
	# with fresh ports.
	my $tries = 0;
	while (1)
	{
		$self->{ports} = $opts{ports} ? { %{ $opts{ports} } } : _pick_ports();
		$self->_write_config;
		$registry{$name} = $self;
		weaken($registry{$name});
		my $ok = eval { $self->_launch_and_wait; 1 };
		last if $ok;
		my $err = $@;
		delete $registry{$name};
		die $err
		  unless ++$tries < 3
		  && !$opts{ports}
		  && $self->_log_tail(50) =~ /address already in use/i;
		diag("Consul '$name': port conflict, retrying with other ports");
	}
	return $self;
}

sub _write_config
{
	my ($self) = @_;
	my %config = (
		node_name            => "pg-ha-test-$self->{name}",
		datacenter           => 'dc1',
		data_dir             => $self->{data_dir},
		bind_addr            => '127.0.0.1',
		client_addr          => '127.0.0.1',
		advertise_addr       => '127.0.0.1',
		disable_update_check => JSON::PP::true,
		disable_host_node_id => JSON::PP::true,
		leave_on_terminate   => JSON::PP::false,
		log_level            => $self->{log_level},
		performance          => { raft_multiplier => 1 },
		ports                => {
			http     => $self->{ports}{http},
			server   => $self->{ports}{server},
			serf_lan => $self->{ports}{serf_lan},
			https    => -1,
			dns      => -1,
			grpc     => -1,
			serf_wan => -1,
		},);
	if ($self->{client})
	{
		$config{server} = JSON::PP::false;
	}
	elsif ($self->{persistent})
	{
		$config{server}           = JSON::PP::true;
		$config{bootstrap_expect} = 1;
	}
	if (defined $self->{acl_token})
	{
		$config{primary_datacenter} = 'dc1';
		$config{acl} = {
			enabled                  => JSON::PP::true,
			default_policy           => 'deny',
			enable_token_persistence => JSON::PP::false,
			tokens                   => {
				master => $self->{acl_token},
				agent  => $self->{acl_token},
			},
		};
	}
	_merge(\%config, $self->{extra});

	open my $fh, '>', $self->{config}
	  or die "could not write $self->{config}: $!";
	print $fh JSON::PP->new->pretty->canonical->encode(\%config);
	close $fh;
	return;
}

sub _command
{
	my ($self) = @_;
	return (
		$self->{binary}, 'agent',
		($self->{persistent} || $self->{client} ? () : ('-dev')),
		'-config-file=' . $self->{config});
}

sub label { return "Consul '$_[0]->{name}'"; }

sub _launch_and_wait
{
	my ($self) = @_;
	$self->{launched_at} = PgHaTest::_now();
	my $pid = $self->_spawn($self->_command);
	print "# Consul '$self->{name}' started, pid $pid, http $self->{ports}{http}\n";
	return 1 unless $self->{wait};
	return $self->wait_ready;
}

=pod

=item ->wait_ready

Waits until the agent answers /v1/status/leader with a leader, takes a KV
write and creates a session (deadline: the start-up timeout).  Dies,
quoting the end of Consul's log, if it does not get there.

=cut

sub wait_ready
{
	my ($self) = @_;
	my $pid   = $self->{pid};
	my $start = $self->{launched_at};
	croak "Consul '$self->{name}' is not running" unless defined $pid;

	my $ready_key = '_pg_ha_test/ready';
	my ($why, $exited) = ('no answer yet', 0);
	my $deadline = PgHaTest::_now() + $self->{timeout};
	while (1)
	{
		if (waitpid($pid, WNOHANG) == $pid)
		{
			$exited = 1;
			$why    = "consul exited with status $?";
			$self->{pid} = undef;
			last;
		}
		my $res = $self->http('GET', '/v1/status/leader');
		if ($res->{status} != 200)
		{
			$why = "GET /v1/status/leader: $res->{status} $res->{content}";
		}
		elsif ($res->{content} !~ /^"[^"]+"$/)
		{
			$why = "no leader yet ($res->{content})";
		}
		else
		{
			$res = $self->http('PUT', "/v1/kv/$ready_key", 'ready');
			# sessions need the agent's node in the catalog: it comes a
			# moment after the leader ("Missing node registration")
			my $session = $res->{status} == 200
			  ? $self->http('PUT', '/v1/session/create', '{"TTL": "10s"}') : undef;
			if ($res->{status} == 200 && $res->{content} =~ /^true/
				&& $session && $session->{status} == 200
				&& $session->{content} =~ /"ID"\s*:\s*"([^"]+)"/)
			{
				$self->http('PUT', "/v1/session/destroy/$1");
				$self->http('DELETE', "/v1/kv/$ready_key");
				$self->{startup_seconds} = PgHaTest::_now() - $start;
				print "# Consul '$self->{name}' ready after "
				  . sprintf('%.2f', $self->{startup_seconds}) . "s\n";
				return 1;
			}
			$why = $res->{status} != 200 ? "KV put: $res->{status} $res->{content}"
			  : 'no session yet: ' . ($session ? "$session->{status} $session->{content}" : '');
		}
		last if PgHaTest::_now() >= $deadline;
		Time::HiRes::sleep(0.05);
	}

	$self->kill9 unless $exited;
	die "Consul '$self->{name}' "
	  . ($exited ? 'exited before it was ready' : "was not ready within $self->{timeout}s")
	  . " ($why); end of $self->{log_file}:\n"
	  . $self->_log_tail(30);
}

=pod

=item ->start_again

Starts the agent again on the same ports with the same data directory
and configuration, and waits until it is ready.  Dies if it is running.

=cut

sub start_again
{
	my ($self) = @_;
	croak "Consul '$self->{name}' is still running" if $self->is_running;
	$registry{ $self->{name} } = $self;
	weaken($registry{ $self->{name} });
	$self->_launch_and_wait;
	return $self;
}

=pod

=item ->stop([$timeout])

SIGTERM to the agent's process group, SIGKILL after $timeout seconds
(default 10); returns once the process has exited.  No-op if not running
(PgHaTest::Daemon's).

=item ->kill9

SIGKILL to the agent's process group, and wait for it to exit.

=cut

sub _stop_all
{
	foreach my $name (sort keys %registry)
	{
		my $agent = $registry{$name};
		next unless defined $agent;
		eval { $agent->stop(5) };
	}
	return;
}

sub DESTROY
{
	my ($self) = @_;
	local ($@, $?);
	eval { $self->stop(5) } if defined $self->{pid};
	return;
}

=pod

=item ->is_running

True while the agent process is alive (it may not be ready).

=item ->pid, ->name, ->log_file, ->data_dir, ->startup_seconds, ->master_token

Accessors (master_token: undef without the acl option).  startup_seconds is the time the last start took to become ready.

=item ->http_port, ->ports

The HTTP port; a hash ref of all ports (http, server, serf_lan).

=item ->http_url

C<http://127.0.0.1:PORT>, for pg_ha.consul_url.

=cut

sub data_dir        { return $_[0]->{data_dir}; }
sub startup_seconds { return $_[0]->{startup_seconds}; }
sub http_port       { return $_[0]->{ports}{http}; }
sub ports           { return { %{ $_[0]->{ports} } }; }
sub http_url        { return 'http://127.0.0.1:' . $_[0]->{ports}{http}; }
sub master_token    { return $_[0]->{acl_token}; }

=pod

=item ->http($method, $path_and_query, [$content, [\%headers]])

One HTTP request to the agent; returns HTTP::Tiny's response hash (status
599 when the connection fails).  $content may be a string, or a reference
that is sent as JSON.  With ACLs, the master token goes along unless
%headers has an X-Consul-Token (an empty one: the anonymous token).

=cut

sub http
{
	my ($self, $method, $path, $content, $headers) = @_;
	my %args;
	$args{headers} = { %{ $headers || {} } };
	$args{headers}{'X-Consul-Token'} = $self->{acl_token}
	  if defined $self->{acl_token}
	  && !grep { lc $_ eq 'x-consul-token' } keys %{ $args{headers} };
	if (defined $content)
	{
		if (ref $content)
		{
			$content = $json->encode($content);
		}
		else
		{
			utf8::encode($content) if utf8::is_utf8($content);
		}
		$args{content} = $content;
	}
	return $self->{http}->request($method, $self->http_url . $path, \%args);
}

# Like http(), but dies unless the status is one of @ok (default 200).
sub _request
{
	my ($self, $method, $path, $content, @ok) = @_;
	@ok = (200) unless @ok;
	my $res = $self->http($method, $path, $content);
	return $res if grep { $res->{status} == $_ } @ok;
	croak "Consul '$self->{name}': $method $path failed: "
	  . "$res->{status} $res->{reason}: $res->{content}";
}

sub _decode
{
	my ($content) = @_;
	return undef if !defined $content || $content eq '';
	return $json->decode($content);
}

# "/v1/kv/<key>" with the key percent-encoded (slashes kept).
sub _kv_path
{
	my ($key) = @_;
	croak 'a Consul key is required' unless defined $key;
	$key =~ s{^/+}{};
	utf8::encode($key) if utf8::is_utf8($key);
	$key =~ s/([^A-Za-z0-9._~\/-])/sprintf('%%%02X', ord $1)/ge;
	return "/v1/kv/$key";
}

sub _query
{
	my (%query) = @_;
	my $recurse = delete $query{recurse};
	my @pairs;
	push @pairs, HTTP::Tiny->www_form_urlencode(\%query) if %query;
	push @pairs, 'recurse' if $recurse;
	return @pairs ? '?' . join('&', @pairs) : '';
}

=pod

=item ->kv_get($key)

The key's value (raw bytes, via ?raw), or undef if the key does not exist.
Dies if Consul cannot be reached or answers with an error.

=item ->kv_get_json($key)

The key's value decoded as JSON, or undef if the key does not exist.

=item ->kv_get_full($key)

The key's full entry (hash ref with Key, Value decoded from base64,
Session, Flags, CreateIndex, ModifyIndex, LockIndex), or undef.

=cut

sub kv_get
{
	my ($self, $key) = @_;
	my $res = $self->_request('GET', _kv_path($key) . '?raw', undef, 200, 404);
	return undef if $res->{status} == 404;
	return $res->{content};
}

sub kv_get_json
{
	my ($self, $key) = @_;
	my $raw = $self->kv_get($key);
	return undef unless defined $raw;
	return $json->decode($raw);
}

sub kv_get_full
{
	my ($self, $key) = @_;
	my $res = $self->_request('GET', _kv_path($key), undef, 200, 404);
	return undef if $res->{status} == 404;
	my $entries = _decode($res->{content});
	return undef unless ref $entries eq 'ARRAY' && @$entries;
	my %entry = %{ $entries->[0] };
	if (defined $entry{Value})
	{
		require MIME::Base64;
		$entry{Value} = MIME::Base64::decode_base64($entry{Value});
	}
	return \%entry;
}

=pod

=item ->kv_put($key, $value, %query)

PUT the value (a string, or a reference sent as JSON) with optional query
parameters: cas => $index, acquire => $session, release => $session,
flags => $n.  Returns Consul's answer as 1 (true) or 0 (false): a failed
cas or acquire is 0.  Dies on HTTP errors (e.g. an unknown session).

=cut

sub kv_put
{
	my ($self, $key, $value, %query) = @_;
	$value = '' unless defined $value;
	my $res = $self->_request('PUT', _kv_path($key) . _query(%query), $value);
	return $res->{content} =~ /^\s*true\s*$/ ? 1 : 0;
}

=pod

=item ->kv_delete($key, %query)

DELETE a key; C<< recurse => 1 >> deletes everything under the prefix,
C<< cas => $index >> deletes only at that index.  Returns 1 or 0.

=cut

sub kv_delete
{
	my ($self, $key, %query) = @_;
	my $res = $self->_request('DELETE', _kv_path($key) . _query(%query));
	return $res->{content} =~ /^\s*true\s*$/ ? 1 : 0;
}

=pod

=item ->kv_keys($prefix)

Sorted list of the keys under $prefix (empty list if none; in scalar
context, their number).

=cut

sub kv_keys
{
	my ($self, $prefix) = @_;
	$prefix = '' unless defined $prefix;
	my $res = $self->_request('GET', _kv_path($prefix) . '?keys', undef, 200, 404);
	my $keys = $res->{status} == 404 ? [] : (_decode($res->{content}) || []);
	my @sorted = sort @$keys;
	return @sorted;
}

=pod

=item ->kv_session($key)

The ID of the session holding (having acquired) $key, or undef if the key
does not exist or is not locked.

=cut

sub kv_session
{
	my ($self, $key) = @_;
	my $entry = $self->kv_get_full($key);
	return undef unless $entry;
	return $entry->{Session};
}

=pod

=item ->session_list

List of all sessions (hash refs as returned by /v1/session/list: ID,
Name, Node, TTL, Behavior, LockDelay, ...); in scalar context, their number.

=item ->session_info($id)

The session's hash ref, or undef if it does not exist (any more).

=item ->session_create(%body)

Creates a session (body fields as in Consul's API, e.g.
C<< TTL => '10s', Name => 'x', Behavior => 'delete', LockDelay => '0s' >>)
and returns its ID.

=item ->session_destroy($id)

Destroys a session; returns 1 or 0.

=cut

sub session_list
{
	my ($self) = @_;
	my $res      = $self->_request('GET', '/v1/session/list');
	my $sessions = _decode($res->{content}) || [];
	return @$sessions;
}

sub session_info
{
	my ($self, $id) = @_;
	croak 'session_info needs a session id' unless defined $id;
	my $res = $self->_request('GET', "/v1/session/info/$id", undef, 200, 404);
	return undef if $res->{status} == 404;
	my $sessions = _decode($res->{content});
	return undef unless ref $sessions eq 'ARRAY' && @$sessions;
	return $sessions->[0];
}

sub session_create
{
	my ($self, %body) = @_;
	my $res = $self->_request('PUT', '/v1/session/create', \%body);
	my $answer = _decode($res->{content});
	croak "Consul '$self->{name}': unexpected session/create answer: "
	  . $res->{content}
	  unless ref $answer eq 'HASH' && defined $answer->{ID};
	return $answer->{ID};
}

sub session_destroy
{
	my ($self, $id) = @_;
	croak 'session_destroy needs a session id' unless defined $id;
	my $res = $self->_request('PUT', "/v1/session/destroy/$id");
	return $res->{content} =~ /^\s*true\s*$/ ? 1 : 0;
}

=pod

=item ->leader

The Raft leader address from /v1/status/leader, or undef (no leader, or
the agent cannot be reached).  Never dies.

=cut

sub leader
{
	my ($self) = @_;
	my $res = $self->http('GET', '/v1/status/leader');
	return undef unless $res->{status} == 200;
	my $leader = eval { JSON::PP->new->allow_nonref->decode($res->{content}) };
	return (defined $leader && $leader ne '') ? $leader : undef;
}

=pod

=item ->accepts_connections

True if a TCP connection to the HTTP port succeeds.

=back

=cut

sub accepts_connections
{
	my ($self) = @_;
	my $sock = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $self->{ports}{http},
		Proto    => 'tcp',
		Timeout  => 2);
	return 0 unless $sock;
	close $sock;
	return 1;
}


package PgHaTest::HAProxy;

use strict;
use warnings;
use Carp;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Utils;

my @haproxy_pids;

sub start
{
	my $class = shift;
	my $opts = ref $_[0] eq 'HASH' ? shift : {};
	my %nodes = @_;
	my $bin = PgHaTest::haproxy_binary() or croak 'haproxy is not installed';
	my %port = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } qw(primary replicas stats);
	my $cfg = slurp_file($module_dir . '/../../docs/haproxy.cfg');

	$cfg =~ s/127\.0\.0\.1:7000/127.0.0.1:$port{stats}/;
	$cfg =~ s/127\.0\.0\.1:5000/127.0.0.1:$port{primary}/;
	$cfg =~ s/127\.0\.0\.1:5001/127.0.0.1:$port{replicas}/;
	my %default_pg = (pg1 => 5432, pg2 => 5433, pg3 => 5434);
	my %default_api = (pg1 => 8008, pg2 => 8009, pg3 => 8010);
	for my $n (sort keys %nodes)
	{
		my $conf = slurp_file($nodes{$n}->data_dir . '/postgresql.conf');
		my @api = $conf =~ /^pg_ha\.api_listen = '[^':]*:(\d+)'/mg;
		croak "no pg_ha.api_listen port for $n" unless @api;
		my ($p, $a) = ($nodes{$n}->port, $api[-1]);
		my $extra = defined $opts->{check_opts} ? " $opts->{check_opts}" : '';
		my $host = $opts->{addr} && $opts->{addr}{$n} ? $opts->{addr}{$n} : '127.0.0.1';
		$cfg =~ s/(server $n) 127\.0\.0\.1:$default_pg{$n} (.*) port $default_api{$n}$/$1 $host:$p $2 port $a$extra/mg;
	}
	# a node the test does not have is no server: the default ports could
	# be anyone's (a demo stand on the same host was seen UP)
	for my $n (grep { !exists $nodes{$_} } sort keys %default_pg)
	{
		$cfg =~ s/^\s*server $n 127\.0\.0\.1:$default_pg{$n} .*\n//mg;
	}
	my $dir = PostgreSQL::Test::Utils::tempdir();
	PostgreSQL::Test::Utils::append_to_file("$dir/haproxy.cfg", $cfg);
	system($bin, '-q', '-f', "$dir/haproxy.cfg", '-D', '-p', "$dir/haproxy.pid") == 0
	  or croak 'haproxy did not start';
	my $pid = slurp_file("$dir/haproxy.pid");
	chomp $pid;
	push @haproxy_pids, $pid;
	return bless { port => \%port, config => $cfg, pid => $pid }, $class;
}

sub port   { return $_[0]->{port}{ $_[1] }; }
sub config { return $_[0]->{config}; }

sub via
{
	my ($self, $section, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-p', $self->port($section),
			'-d', 'postgres', '-c', $sql ], '>', \$out, '2>', \$err);
	chomp $out;
	Test::More::note("psql via $section: $err") if $err ne '';
	return $out;
}

sub up
{
	my ($self, $section) = @_;
	my $r = HTTP::Tiny->new(timeout => 2)->get('http://127.0.0.1:' . $self->port('stats') . '/;csv');
	return '' unless $r->{success};
	my @up = map { (split /,/)[1] }
	  # "UP 1/2" is a server still UP while its checks start failing
	  grep { /^\Q$section\E,pg\d,/ && (split /,/)[17] =~ /^UP/ }
	  split /\n/, $r->{content};
	return join(',', sort @up);
}

END
{
	kill 'TERM', $_ for @haproxy_pids;
}

# Servers a test started outside its Cluster objects (pg_ha_ctl init or
# rejoin start them): stopped, immediate, when the test ends.
my @stray_datadirs;

sub PgHaTest::stop_at_end
{
	push @stray_datadirs, @_;
	return;
}

END
{
	local $?;
	foreach my $dir (@stray_datadirs)
	{
		next unless -e "$dir/postmaster.pid";
		system('pg_ctl', '-D', $dir, '-m', 'immediate', '-w', 'stop');
	}
}


package PgHaTest::Patronictl;

=pod

=head1 PgHaTest::Patronictl

Debian's patronictl (package patroni, 3.0.2) as a client of a test's
cluster: its own configuration file names the test's Consul and Patroni's
namespace C</service/>, where pg_ha writes its keys.

  my $patronictl = PgHaTest::Patronictl->new(consul => $consul,
	  scope => 'otus', auth => 'admin:s3cret');
  my ($ok, $out, $err) = $patronictl->run('list', 'otus');

=over

=item PgHaTest::Patronictl->new(consul => $consul, scope => $scope, %opts)

Writes the configuration (C<scope>, C<namespace: /service/>,
C<consul.host>, and C<ctl.auth> when C<auth> is given) into a new
temporary directory.  Options: C<auth> (user:password for the REST API's
write requests), C<timeout> (seconds one run may take, default 120),
C<binary> (default PgHaTest::patronictl_binary(); run() dies without
one).

=item ->run([\%opts], @args)

Runs C<patronictl -c E<lt>configurationE<gt> @args>, its standard input
empty unless C<stdin> in %opts gives it (e.g. the answers to its
prompts), logs the command and its outputs with note(), and returns (true
if it exited 0, stdout, stderr).  Dies when it runs longer than the
timeout.

=item ->conf

The path of the configuration file.

=back

=cut

use strict;
use warnings;
use Carp;
use IPC::Run;
use Test::More;
use PostgreSQL::Test::Utils;

sub new
{
	my ($class, %opts) = @_;
	croak 'PgHaTest::Patronictl->new needs consul and scope'
	  unless defined $opts{consul} && defined $opts{scope};
	my ($hostport) = $opts{consul}->http_url =~ m{^http://(.*)$};
	my $conf = PostgreSQL::Test::Utils::tempdir() . '/patronictl.yml';
	my $yaml = "scope: $opts{scope}\nnamespace: /service/\nconsul:\n  host: $hostport\n";
	$yaml .= "ctl:\n  auth: '$opts{auth}'\n" if defined $opts{auth};
	PostgreSQL::Test::Utils::append_to_file($conf, $yaml);
	return bless {
		conf    => $conf,
		timeout => $opts{timeout} // 120,
		binary  => $opts{binary} // PgHaTest::patronictl_binary(),
	}, $class;
}

sub conf { return $_[0]->{conf}; }

sub run
{
	my $self = shift;
	my $opts = ref $_[0] eq 'HASH' ? shift : {};
	my @args = @_;
	croak 'patronictl is not installed (apt-get install patroni)'
	  unless defined $self->{binary};
	my $in = $opts->{stdin};
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([ $self->{binary}, '-c', $self->{conf}, @args ],
		'<', defined $in ? \$in : \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($self->{timeout}));
	note("patronictl @args:\n$out$err");
	return ($ok, $out, $err);
}

1;
