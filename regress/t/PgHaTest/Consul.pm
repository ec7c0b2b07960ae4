# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest::Consul - a private Consul agent on 127.0.0.1 for pg_ha's TAP
tests, and a client of its HTTP API (KV, sessions, status)

=head1 SYNOPSIS

  use PgHaTest;    # loads this module

  my $consul = PgHaTest::Consul->start();
  $consul->kv_put('pg_ha/demo/x', 'hello') or die;
  is($consul->kv_get('pg_ha/demo/x'), 'hello', 'round trip');
  $consul->stop;           # SIGTERM, then SIGKILL after a deadline
  $consul->start_again;    # same ports (and same data in persistent mode)

=head1 DESCRIPTION

One Consul agent (a single server that elects itself leader), listening on
127.0.0.1 only, with DNS, gRPC, HTTPS and serf WAN disabled.  Its process
is a PgHaTest::Daemon (stop, kill9, is_running, pause and resume come
from there).  Every agent a test started is stopped when the test exits.
The binary is PgHaTest::consul_binary(); several agents that form one
cluster are PgHaTest::ConsulCluster's, not this module's.

Consul's minimum session TTL is 10s (C<session_ttl_min>), and Consul waits
up to twice the TTL before it invalidates an expired session.  Tests that
need shorter TTLs may pass C<< extra_config => { session_ttl_min => '1s' } >>
to start(), knowing that production Consul would refuse such sessions.

=cut

package PgHaTest::Consul;

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
use PgHaTest;
use PgHaTest::Daemon;

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

=head1 METHODS

=over

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

# Stop any agent still running when the test exits (normally or by die).
# This module is compiled after File::Temp and PostgreSQL::Test::Utils, so
# this END block runs before theirs: agents stop before their data
# directories are removed.
END
{
	_stop_all();
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


1;
