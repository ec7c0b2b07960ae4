
# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest - shared helpers for pg_ha's TAP tests (nodes, polling,
pg_ha_ctl, REST API), and the loader of the harness's other modules

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

Loading this module installs INT/TERM/HUP handlers (unless the test already
set some) that exit(), so END blocks still stop Consul agents and
PostgreSQL nodes when a test run is interrupted.

=head1 MODULES

C<use PgHaTest;> loads the harness's other concerns too, one module each
under PgHaTest/, so a test names their packages without loading them:

=over

=item PgHaTest::Daemon

A server process in a process group of its own (the base class of
PgHaTest::Consul and PgHaTest::Etcd::Member).

=item PgHaTest::Consul

A private Consul agent and a client of its HTTP API.

=item PgHaTest::HAProxy

A real HAProxy with docs/haproxy.cfg in front of the test's nodes.

=item PgHaTest::Patronictl

Debian's patronictl as a client of the test's cluster.

=back

PgHaTest::ConsulCluster, PgHaTest::Etcd, PgHaTest::Netns and
PgHaTest::Checker are loaded by the tests that need them.

This module holds what works on PostgreSQL nodes, polling, pg_ha_ctl and
the REST API; what is a Consul agent's, an HAProxy's or a patronictl's
belongs to its own module.

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

# The harness's other concerns, loaded here so that `use PgHaTest;` gives a
# test all of them.  After PostgreSQL::Test::Utils: their END blocks must
# run before its.
use PgHaTest::Daemon;
use PgHaTest::Consul;
use PgHaTest::HAProxy;
use PgHaTest::Patronictl;

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

=item PgHaTest::stop_at_end(@datadirs)

Servers a test started outside its Cluster objects (pg_ha_ctl init or
rejoin start them): those still running in @datadirs when the test ends
are stopped, immediate.

=cut

my @stray_datadirs;

sub stop_at_end
{
	push @stray_datadirs, @_;
	return;
}

=pod

=back

=cut

# Compiled after the modules loaded above, so this runs before their END
# blocks (HAProxy, Consul), as it did when they lived in this file.
END
{
	local $?;
	foreach my $dir (@stray_datadirs)
	{
		next unless -e "$dir/postmaster.pid";
		system('pg_ctl', '-D', $dir, '-m', 'immediate', '-w', 'stop');
	}
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

1;
