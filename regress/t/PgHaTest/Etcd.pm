
# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest::Etcd - a real etcd v3 (one member or a cluster) on 127.0.0.1
for pg_ha's TAP tests, as PgHaTest::Consul is for Consul

=head1 SYNOPSIS

  use PgHaTest;
  use PgHaTest::Etcd;

  # One member, stopped automatically at exit.
  my $etcd = PgHaTest::Etcd->start();
  $etcd->kv_put('/service/demo/x', 'hello');
  is($etcd->kv_get('/service/demo/x'), 'hello', 'round trip');
  my $lease = $etcd->lease_grant(2);
  $etcd->kv_put('/service/demo/leader', 'pg1', lease => $lease);

  # Three members forming one Raft cluster.
  my $dcs = PgHaTest::Etcd->start(name => 'dcs', members => 3);
  my $leader = $dcs->leader;            # the member leading Raft
  $leader->kill9;                       # or ->stop, ->pause / ->resume
  $dcs->wait_leader(10);                # the other two elect one
  $leader->start_again;                 # same ports, same data
  my $urls = $dcs->endpoints;           # "http://127.0.0.1:P1,http://..."
  my ($rc, $out) = $dcs->etcdctl('get', '--prefix', '/service/');

=head1 DESCRIPTION

Each member is the etcd of Debian's etcd-server package (3.4, which
scripts/setup.sh installs without starting its daemon), started by the
test's own user with its data directory under the test's temporary
directory, its client and peer URLs on 127.0.0.1 with ports from
PostgreSQL::Test::Cluster::get_free_port() (reserved for the life of the
test process, so a member starts again on the same ports), and an initial
cluster token of its own, so that the clusters of two tests never meet.
Every member logs (zap, level info) to C<< tmp_check/log/<test>_<member>.log >>,
appended across restarts.

The helpers talk to the v3 JSON gateway (POST /v3/kv/range and the
others) with HTTP::Tiny, as pg_ha will: keys and values travel in
base64, and int64 fields come back as JSON strings.  Helpers on the
cluster go to its first running, not paused member; the same helpers on
a member (C<< $dcs->member(2)->kv_get(...) >>) go to that member.

Loading this module adds an END block that stops every member still
running (PgHaTest's INT/TERM/HUP handlers turn those signals into exit(),
so that it runs on an interrupted test too).

Environment: PG_HA_ETCD and PG_HA_ETCDCTL name the binaries (default
/usr/bin/etcd and /usr/bin/etcdctl, else the first in PATH).

=head1 METHODS

=over

=cut

package PgHaTest::Etcd;

use strict;
use warnings;

use Carp;
use File::Path qw(rmtree);
use File::Spec;
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Scalar::Util qw(weaken);
use Test::More ();
use PgHaTest;

our @ISA = ('PgHaTest::Etcd::KV');

# Every cluster started by this process, by name (weak: one going out of
# scope stops in DESTROY; END stops the rest).
my %registry;

sub _binary
{
	my ($env, $name) = @_;
	return $ENV{$env} if defined $ENV{$env} && $ENV{$env} ne '';
	return "/usr/bin/$name" if -x "/usr/bin/$name";
	foreach my $dir (File::Spec->path)
	{
		my $candidate = File::Spec->catfile($dir, $name);
		return $candidate if -f $candidate && -x $candidate;
	}
	return undef;
}

=pod

=item PgHaTest::Etcd::etcd_binary(), PgHaTest::Etcd::etcdctl_binary()

Paths of etcd and etcdctl ($ENV{PG_HA_ETCD}, $ENV{PG_HA_ETCDCTL}, else
/usr/bin, else PATH), or undef when there is none (so that a test can
C<plan skip_all>).

=cut

sub etcd_binary    { return _binary('PG_HA_ETCD',    'etcd'); }
sub etcdctl_binary { return _binary('PG_HA_ETCDCTL', 'etcdctl'); }

=pod

=item PgHaTest::Etcd->start(%opts)

Starts the members and waits (deadline: timeout) until each answers
/health with a leader and takes a write.  Dies, quoting the end of the
logs, if they do not get there.  A member that lost its ports to another
program before it bound them makes the whole cluster start again on fresh
ports (three tries).  Options:

=over

=item name

Prefix of the member names (C<< <name>1 >>, C<< <name>2 >>...), of their
logs and of their data directories.  Default 'etcd'; unique among the
clusters of one test.

=item members

How many members, default 1; 3 for a real Raft cluster that survives the
loss of one.

=item heartbeat_ms, election_ms

Raft's heartbeat interval and election timeout (etcd's defaults, 100 and
1000).

=item log_level

Default 'info' ('debug' logs every Raft message).

=item extra_args

An array ref of more etcd options, given to every member.

=item timeout

Start-up deadline in seconds, default 30.

=item wait

1 (default): wait until every member is ready.  0: return once the
processes run; call ->wait_ready later.

=back

=cut

sub start
{
	my ($class, %opts) = @_;

	my $name = $opts{name} // 'etcd';
	croak "PgHaTest::Etcd: invalid name '$name'" unless $name =~ /^[A-Za-z][A-Za-z0-9_-]*$/;
	croak "PgHaTest::Etcd: a cluster named '$name' already exists" if $registry{$name};
	my $nmembers = $opts{members} // 1;
	croak "PgHaTest::Etcd: members must be 1 to 7" unless $nmembers =~ /^[1-7]$/;

	my $binary = etcd_binary();
	croak 'PgHaTest::Etcd: no etcd binary (run scripts/setup.sh or set PG_HA_ETCD)'
	  unless defined $binary && -x $binary;

	my $base = PostgreSQL::Test::Utils::tempdir("etcd_$name");

	my $self = bless {
		name      => $name,
		binary    => $binary,
		token     => "pgha-$$-$name",
		heartbeat => $opts{heartbeat_ms} // 100,
		election  => $opts{election_ms}  // 1000,
		log_level => $opts{log_level}    // 'info',
		extra     => [ @{ $opts{extra_args} || [] } ],
		timeout   => $opts{timeout} // 30,
		members   => [],
		http      => HTTP::Tiny->new(timeout => 5, keep_alive => 0,
			agent => 'pg_ha-tap/1.0'),
	}, $class;
	for my $i (1 .. $nmembers)
	{
		my $m = bless {
			index     => $i,
			name      => "$name$i",
			data_dir  => "$base/$name$i",
			log_file  => PgHaTest::Daemon::log_file_for("$name$i"),
			owner_pid => $$,
			pid       => undef,
			paused    => 0,
		}, 'PgHaTest::Etcd::Member';
		$m->{cluster} = $self;
		weaken($m->{cluster});
		push @{ $self->{members} }, $m;
	}
	$registry{$name} = $self;
	weaken($registry{$name});

	my $tries = 0;
	while (1)
	{
		for my $m (@{ $self->{members} })
		{
			$m->{client_port} = PostgreSQL::Test::Cluster::get_free_port();
			$m->{peer_port}   = PostgreSQL::Test::Cluster::get_free_port();
		}
		$_->_launch for @{ $self->{members} };
		my $ok = eval { $self->wait_ready if $opts{wait} // 1; 1 };
		last if $ok;
		my $err = $@;
		my $conflict = grep { $_->_log_tail(50) =~ /address already in use/i } @{ $self->{members} };
		die $err unless $conflict && ++$tries < 3;
		Test::More::diag("etcd '$name': port conflict, starting again on other ports");
		$_->kill9 for @{ $self->{members} };
		rmtree($_->{data_dir}) for @{ $self->{members} };
	}
	return $self;
}

=pod

=item ->wait_ready

Waits until every running member answers /health with C<"true"> (it knows
a leader) and a write through it succeeds.  Dies after the start-up
timeout, stopping the members and quoting the end of their logs.

=cut

sub wait_ready
{
	my ($self) = @_;
	my $start = PgHaTest::_now();
	foreach my $m (grep { $_->is_running } $self->members)
	{
		my $why = eval { $m->_wait_member_ready($start + $self->{timeout}); '' } // $@;
		next if $why eq '';
		my $tails = join('', map { "end of $_->{log_file}:\n" . $_->_log_tail(20) } $self->members);
		$_->kill9 for $self->members;
		die "etcd '$self->{name}': $why; $tails";
	}
	$self->{startup_seconds} = PgHaTest::_now() - $start;
	printf "# etcd '%s' ready (%d members) after %.2fs\n", $self->{name},
	  scalar($self->members), $self->{startup_seconds};
	return 1;
}

=pod

=item ->members, ->member($i)

The members (PgHaTest::Etcd::Member), in order; member $i (1-based).

=item ->name, ->startup_seconds, ->client_urls, ->endpoints, ->client_url

The cluster's name; the time the last wait_ready took; every member's
client URL; the same joined by commas (pg_ha's and etcdctl's list of
endpoints); the client URL of the member the helpers talk to.

=cut

sub members         { return @{ $_[0]->{members} }; }
sub name            { return $_[0]->{name}; }
sub startup_seconds { return $_[0]->{startup_seconds}; }
sub client_urls     { return map { $_->client_url } $_[0]->members; }
sub endpoints       { return join(',', $_[0]->client_urls); }

sub member
{
	my ($self, $i) = @_;
	return $self->{members}[ $i - 1 ] // croak "etcd '$self->{name}' has no member $i";
}

# the member the helpers talk to: the first running one not paused
sub _target
{
	my ($self) = @_;
	my ($m) = grep { $_->is_running && !$_->{paused} } $self->members;
	croak "etcd '$self->{name}': no member is running" unless $m;
	return $m;
}

sub client_url { return $_[0]->_target->client_url; }

sub http
{
	my ($self, @args) = @_;
	return $self->_target->http(@args);
}

=pod

=item ->leader

The member leading Raft, as the running members report it
(/v3/maintenance/status), or undef.  Never dies.

=item ->wait_leader($seconds)

Polls until a running member leads and every running member that is not
paused knows it; returns that member, or 0 after the deadline.

=cut

sub leader
{
	my ($self) = @_;
	foreach my $m (grep { $_->is_running && !$_->{paused} } $self->members)
	{
		my $status = eval { $m->status } or next;
		my $id = $status->{leader} // next;
		my ($leader) = grep { ($_->{member_id} // '') eq $id } $self->members;
		return $leader if $leader && $leader->is_running;
	}
	return undef;
}

sub wait_leader
{
	my ($self, $seconds) = @_;
	return PgHaTest::poll_until("etcd '$self->{name}' has a Raft leader", $seconds,
		sub {
			my $l = $self->leader or return 0;
			foreach my $m (grep { $_->is_running && !$_->{paused} } $self->members)
			{
				my $s = eval { $m->status } or return 0;
				return 0 unless ($s->{leader} // '') eq $l->{member_id};
			}
			return $l;
		});
}

=pod

=item ->stop, ->kill9, ->start_again

Every member: SIGTERM (SIGKILL after 10 s), SIGKILL; every member not
running started again (same ports, same data), then wait_ready.

=cut

sub stop
{
	my ($self) = @_;
	$_->stop for $self->members;
	return 1;
}

sub kill9
{
	my ($self) = @_;
	$_->kill9 for $self->members;
	return 1;
}

sub start_again
{
	my ($self) = @_;
	$_->start_again(wait => 0) for grep { !$_->is_running } $self->members;
	return $self->wait_ready;
}

=pod

=item ->etcdctl_env

The environment etcdctl wants for this cluster: a hash of ETCDCTL_API
(3) and ETCDCTL_ENDPOINTS (every member).

=item ->etcdctl(@args)

Runs etcdctl with that environment; returns ($exit_code, $stdout,
$stderr).  Its own timeouts: --dial-timeout 2s, --command-timeout 5s.

=cut

sub etcdctl_env
{
	my ($self) = @_;
	return (ETCDCTL_API => 3, ETCDCTL_ENDPOINTS => $self->endpoints);
}

sub etcdctl
{
	my ($self, @args) = @_;
	my $bin = etcdctl_binary() // croak 'no etcdctl binary (run scripts/setup.sh or set PG_HA_ETCDCTL)';
	my %env = $self->etcdctl_env;
	local @ENV{ keys %env } = values %env;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $bin, '--dial-timeout=2s', '--command-timeout=5s', @args ],
		'<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub _stop_all
{
	foreach my $name (sort keys %registry)
	{
		my $cluster = $registry{$name} or next;
		eval { $cluster->stop };
	}
	return;
}

sub DESTROY
{
	my ($self) = @_;
	local ($@, $?);
	eval { $_->stop(5) for grep { defined $_->{pid} } @{ $self->{members} || [] } };
	return;
}

# Members still running when the test exits (normally or by die) stop
# before PostgreSQL::Test::Utils removes their data directories: this
# module is compiled after it, so this END block runs first.
END
{
	PgHaTest::Etcd::_stop_all();
}

=pod

=back

=head2 PgHaTest::Etcd::Member

A member's process is a PgHaTest::Daemon (see PgHaTest): stop, kill9,
pause, resume, is_running and the log come from there.

=over

=item ->stop([$timeout]), ->kill9

SIGTERM to the member's process group, SIGKILL after $timeout seconds
(default 10); SIGKILL.  Both return once it has exited; no-op when it is
not running.  A paused member is resumed first, so that it can exit.

=item ->pause, ->resume

SIGSTOP and SIGCONT: the member stays alive but answers nobody (its
peers see it as gone; connections to it hang).

=item ->start_again(%opts)

Starts it again on the same ports with the same data; waits until it is
ready unless C<< wait => 0 >> (a member alone without quorum never is).

=item ->is_running, ->is_paused, ->pid, ->name, ->number, ->member_id,
->client_url, ->peer_url, ->client_port, ->peer_port, ->log_file,
->data_dir

Accessors; member_id is Raft's (decimal, as the gateway prints it),
known once the member was ready.

=back

=cut

package PgHaTest::Etcd::Member;

use strict;
use warnings;

use Carp;
use HTTP::Tiny;
use Time::HiRes ();

our @ISA = ('PgHaTest::Daemon', 'PgHaTest::Etcd::KV');

sub label       { return "etcd '$_[0]->{name}'"; }
sub number      { return $_[0]->{index}; }
sub member_id   { return $_[0]->{member_id}; }
sub client_port { return $_[0]->{client_port}; }
sub peer_port   { return $_[0]->{peer_port}; }
sub client_url  { return 'http://127.0.0.1:' . $_[0]->{client_port}; }
sub peer_url    { return 'http://127.0.0.1:' . $_[0]->{peer_port}; }
sub data_dir    { return $_[0]->{data_dir}; }

sub _command
{
	my ($self) = @_;
	my $c = $self->{cluster};
	my $initial = join(',', map { "$_->{name}=" . $_->peer_url } $c->members);
	return (
		$c->{binary},
		'--name'                        => $self->{name},
		'--data-dir'                    => $self->{data_dir},
		'--listen-client-urls'          => $self->client_url,
		'--advertise-client-urls'       => $self->client_url,
		'--listen-peer-urls'            => $self->peer_url,
		'--initial-advertise-peer-urls' => $self->peer_url,
		'--initial-cluster'             => $initial,
		'--initial-cluster-state'       => 'new',
		'--initial-cluster-token'       => $c->{token},
		'--heartbeat-interval'          => $c->{heartbeat},
		'--election-timeout'            => $c->{election},
		'--logger'                      => 'zap',
		'--log-outputs'                 => 'stderr',
		'--log-level'                   => $c->{log_level},
		@{ $c->{extra} });
}

sub _launch
{
	my ($self) = @_;
	my $pid = $self->_spawn($self->_command);
	print "# etcd '$self->{name}' started, pid $pid, client $self->{client_port}, peer $self->{peer_port}\n";
	return 1;
}

# Wait until /health says true and a write through the member succeeds;
# die with the reason at $deadline or when the process exits.
sub _wait_member_ready
{
	my ($self, $deadline) = @_;
	my $why = 'no answer yet';
	my $key = "/_pg_ha_test/ready/$self->{name}";
	while (1)
	{
		die "'$self->{name}' exited with status $?" unless $self->is_running;
		my $res = $self->http('GET', '/health');
		if ($res->{status} != 200 || $res->{content} !~ /"health"\s*:\s*"true"/)
		{
			$why = "GET /health: $res->{status} $res->{content}";
		}
		else
		{
			my $put = eval { $self->kv_put($key, 'ready') };
			if ($put)
			{
				$self->{member_id} = $self->status->{header}{member_id};
				$self->kv_delete($key);
				return 1;
			}
			$why = "a write: $@";
		}
		die "'$self->{name}' not ready ($why)" if PgHaTest::_now() >= $deadline;
		Time::HiRes::sleep(0.05);
	}
}

sub start_again
{
	my ($self, %opts) = @_;
	croak "etcd '$self->{name}' is still running" if $self->is_running;
	$self->_launch;
	return $self unless $opts{wait} // 1;
	my $deadline = PgHaTest::_now() + $self->{cluster}{timeout};
	my $why = eval { $self->_wait_member_ready($deadline); '' } // $@;
	die "etcd '$self->{name}': $why; end of $self->{log_file}:\n" . $self->_log_tail(30)
	  if $why ne '';
	return $self;
}

sub http
{
	my ($self, $method, $path, $content, %opts) = @_;
	my $c = $self->{cluster};
	my %args = (headers => { 'Content-Type' => 'application/json' });
	$args{content} = $content if defined $content;
	my $http = defined $opts{timeout}
	  ? HTTP::Tiny->new(timeout => $opts{timeout}, keep_alive => 0, agent => 'pg_ha-tap/1.0')
	  : $c->{http};
	return $http->request($method, $self->client_url . $path, \%args);
}

=pod

=head2 Key-value helpers (the cluster and each member)

=over

=item PgHaTest::Etcd::b64($bytes), PgHaTest::Etcd::unb64($text)

Base64 as the gateway wants it (no line breaks), and back.

=item PgHaTest::Etcd::prefix_end($key)

The range_end that makes a range cover every key starting with $key
(its last byte plus one, after dropping trailing 0xff bytes).

=item ->call($path, \%body, %opts)

POST the body as JSON to the gateway (e.g. '/v3/kv/range'); returns the
decoded answer.  Dies, with etcd's message, unless the status is 200.
C<< timeout => $seconds >> overrides the 5 s of HTTP::Tiny.

=item ->kv_put($key, $value, %opts)

Puts the value (a string, or a reference sent as JSON); C<< lease => $id
>> binds it to a lease.  Returns the revision of the write.  Dies when it
fails (options: timeout).

=item ->kv_get($key), ->kv_get_json($key), ->kv_get_full($key)

The value, or undef when the key does not exist; the value decoded as
JSON; the whole entry as a hash ref (key, value, create_revision,
mod_revision, version, lease; zeros where the gateway left them out).

=item ->kv_range($key, %opts)

The entries (hash refs as kv_get_full) of $key, or with C<< prefix => 1 >>
of every key under it; C<< limit => $n >>.

=item ->kv_keys($prefix)

The sorted keys under $prefix.

=item ->kv_delete($key, %opts)

Deletes the key (C<< prefix => 1 >>: every key under it); returns how
many were deleted.

=item ->txn(\%body, %opts)

POST /v3/kv/txn with the body as given (keys and values already in
base64); returns the decoded answer (C<succeeded> is absent when false).

=item ->lease_grant($ttl, %opts)

Grants a lease of $ttl seconds (C<< id => $n >> to choose its ID);
returns the ID (a decimal string).

=item ->lease_keepalive($id)

Renews the lease once; returns its TTL, 0 when the lease is gone.

=item ->lease_ttl($id)

Seconds left of the lease (/v3/lease/timetolive), -1 when it is gone.

=item ->lease_revoke($id)

Revokes the lease (its keys go with it); 1, or 0 when there was none.

=item ->status

The decoded /v3/maintenance/status (header.member_id, leader, ...).

=back

=cut

package PgHaTest::Etcd::KV;

use strict;
use warnings;

use Carp;
use JSON::PP;
use MIME::Base64 ();

my $json = JSON::PP->new->utf8->canonical;

sub b64
{
	my ($s) = @_;
	utf8::encode($s) if utf8::is_utf8($s);
	return MIME::Base64::encode_base64($s, '');
}

sub unb64 { return MIME::Base64::decode_base64($_[0] // ''); }

sub prefix_end
{
	my ($key) = @_;
	utf8::encode($key) if utf8::is_utf8($key);
	$key =~ s/\xff+\z//;
	return "\0" if $key eq '';
	substr($key, -1) = chr(ord(substr($key, -1)) + 1);
	return $key;
}

sub call
{
	my ($self, $path, $body, %opts) = @_;
	my $res = $self->http('POST', $path, $json->encode($body // {}), %opts);
	if ($res->{status} != 200)
	{
		my $msg = eval { $json->decode($res->{content})->{message} } // $res->{content};
		croak "etcd: POST $path: $res->{status} $msg";
	}
	# streaming endpoints (keepalive, watch) answer {"result": {...}} lines
	my ($first) = split /\n/, $res->{content};
	return $json->decode($first);
}

sub _entry
{
	my ($kv) = @_;
	return {
		key             => unb64($kv->{key}),
		value           => unb64($kv->{value}),
		create_revision => $kv->{create_revision} // 0,
		mod_revision    => $kv->{mod_revision}    // 0,
		version         => $kv->{version}         // 0,
		lease           => $kv->{lease}           // 0,
	};
}

sub kv_put
{
	my ($self, $key, $value, %opts) = @_;
	$value = $json->encode($value) if ref $value;
	my %body = (key => b64($key), value => b64($value // ''));
	$body{lease} = "$opts{lease}" if $opts{lease};
	my $answer = $self->call('/v3/kv/put', \%body, timeout => $opts{timeout});
	return $answer->{header}{revision};
}

sub kv_range
{
	my ($self, $key, %opts) = @_;
	my %body = (key => b64($key));
	$body{range_end} = b64(prefix_end($key)) if $opts{prefix};
	$body{limit} = "$opts{limit}" if $opts{limit};
	my $answer = $self->call('/v3/kv/range', \%body, timeout => $opts{timeout});
	return map { _entry($_) } @{ $answer->{kvs} || [] };
}

sub kv_get_full
{
	my ($self, $key) = @_;
	my ($entry) = $self->kv_range($key);
	return $entry;
}

sub kv_get
{
	my ($self, $key) = @_;
	my $entry = $self->kv_get_full($key);
	return $entry ? $entry->{value} : undef;
}

sub kv_get_json
{
	my ($self, $key) = @_;
	my $raw = $self->kv_get($key);
	return defined $raw ? $json->decode($raw) : undef;
}

sub kv_keys
{
	my ($self, $prefix) = @_;
	return sort map { $_->{key} } $self->kv_range($prefix, prefix => 1);
}

sub kv_delete
{
	my ($self, $key, %opts) = @_;
	my %body = (key => b64($key));
	$body{range_end} = b64(prefix_end($key)) if $opts{prefix};
	my $answer = $self->call('/v3/kv/deleterange', \%body, timeout => $opts{timeout});
	return $answer->{deleted} // 0;
}

sub txn
{
	my ($self, $body, %opts) = @_;
	return $self->call('/v3/kv/txn', $body, %opts);
}

sub lease_grant
{
	my ($self, $ttl, %opts) = @_;
	my %body = (TTL => "$ttl");
	$body{ID} = "$opts{id}" if $opts{id};
	my $answer = $self->call('/v3/lease/grant', \%body);
	croak "etcd: lease grant: $answer->{error}" if $answer->{error};
	return $answer->{ID};
}

sub lease_keepalive
{
	my ($self, $id) = @_;
	my $answer = $self->call('/v3/lease/keepalive', { ID => "$id" });
	croak 'etcd: lease keepalive: ' . $json->encode($answer->{error}) if $answer->{error};
	return $answer->{result}{TTL} // 0;
}

sub lease_ttl
{
	my ($self, $id) = @_;
	my $answer = $self->call('/v3/lease/timetolive', { ID => "$id" });
	return $answer->{TTL} // 0;
}

sub lease_revoke
{
	my ($self, $id) = @_;
	my $res = $self->http('POST', '/v3/lease/revoke', $json->encode({ ID => "$id" }));
	return 1 if $res->{status} == 200;
	return 0 if $res->{status} == 404;
	croak "etcd: lease revoke: $res->{status} $res->{content}";
}

sub status
{
	my ($self) = @_;
	return $self->call('/v3/maintenance/status', {});
}

1;
