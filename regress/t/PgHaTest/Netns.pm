# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest::Netns - a network of namespaces for fault tests: one per
PostgreSQL node, one hub for Consul and the test's clients

=head1 SYNOPSIS

  # first thing in the test file, before PostgreSQL::Test::Utils is used
  our $lab;
  BEGIN
  {
	  require PgHaTest::Netns;
	  $lab = PgHaTest::Netns->setup(nodes => [qw(pg1 pg2 pg3)]);
  }
  use PostgreSQL::Test::Cluster;
  ...
  my $consul = PgHaTest::Consul->start(
	  extra_config => { client_addr => '127.0.0.1 ' . $lab->hub_addr('dcs') });
  my $pg1 = PgHaTest::new_node('pg1', $lab->node_opts('pg1', consul => $consul));
  $lab->start_node($pg1, 'pg1');
  $lab->link('pg1', 'dcs', 'down');    # cut pg1 off from Consul
  $lab->link('pg1', 'dcs', 'up');

=head1 DESCRIPTION

Network namespaces need root, PostgreSQL refuses to run as root.  So the
test file is started as root, and setup(), called in a BEGIN block before
PostgreSQL's test modules initialize (their INIT blocks create
tmp_check), does this:

=over

=item 1.

It creates the namespaces C<pgha-PID-hub> and C<pgha-PID-NODE> for each
node (PID: the test's process id, so names are unique to the run) and
two networks, each a bridge in the hub with one veth pair per node:

  dcs  10.250.1.0/24  Consul's network: hub 10.250.1.1, node i 10.250.1.(10+i)
  data 10.250.2.0/24  clients and replication: hub 10.250.2.1, node i 10.250.2.(10+i)

In the hub the bridges are C<pgha-brc> and C<pgha-brd> and the node ends
C<pgha-cI> and C<pgha-dI>; in a node's namespace the links are
C<pgha-dcs> and C<pgha-data>.  No interface or address is ever created
outside these namespaces, and no namespace routes between the two
networks (IP forwarding is off in a new namespace, no default route),
so a node whose dcs link is down cannot reach Consul by any path while
its clients and replicas still reach it.

=item 2.

It forks a helper that stays root (and outside the namespaces) and
serves the test through a socket pair: start a command as the test user
inside a node's namespace (pg_ctl start: the postmaster, and everything
it spawns later, pg_ha_ctl rejoin included, lives there; or spawn() a
long-running one, a Consul agent), set a link up or down, list the
processes of a namespace (pids()), and drop the packets from an address
on arrival in a namespace (block()).  Nothing else runs as root.

=item 3.

The test process itself moves into the hub namespace (setns), where
Consul and the checker run, and drops root for the test user
($ENV{PG_HA_TEST_USER}, default postgres): from then on the test is an
ordinary TAP test.  It reaches the nodes through the data network, or
through their Unix sockets (a file is no network: every namespace sees
it).

=back

Cleanup does not depend on the test ending well: when the test process
exits for whatever reason (even SIGKILL) the socket pair closes, and the
helper kills every process left in the namespaces and deletes them.  The
helper ignores INT, TERM and HUP (it runs in its own session) so that
Ctrl-C cannot make it leave namespaces behind.  scripts/test.sh removes
any C<pgha-*> namespace whose test process is gone, as a last resort.

When not run as root, setup() prints a TAP skip plan and exits.

=head1 METHODS

=cut

package PgHaTest::Netns;

use strict;
use warnings;

use Carp;
use IO::Handle;
use JSON::PP;
use POSIX ();
use Socket;

my $json = JSON::PP->new->utf8->canonical;

use constant CLONE_NEWNET => 0x40000000;

sub _setns
{
	my ($ns) = @_;
	my $syscall = eval { require 'syscall.ph'; &SYS_setns() }
	  // die "PgHaTest::Netns: no setns system call number (syscall.ph): $@";
	open(my $fh, '<', "/run/netns/$ns") or die "PgHaTest::Netns: open /run/netns/$ns: $!";
	syscall($syscall, fileno($fh), CLONE_NEWNET) == 0
	  or die "PgHaTest::Netns: setns($ns): $!";
	close $fh;
	return;
}

# Become $user for good: groups, gid, uid, environment.
sub _drop_root
{
	my ($user) = @_;
	my ($uid, $gid, $home) = (getpwnam($user))[ 2, 3, 7 ];
	die "PgHaTest::Netns: no user '$user'" unless defined $uid;
	die "PgHaTest::Netns: refusing to run the test as root ('$user')" if $uid == 0;
	my @groups = ($gid);
	while (my @g = getgrent())
	{
		push @groups, $g[2] if grep { $_ eq $user } split ' ', ($g[3] // '');
	}
	endgrent();
	$) = join(' ', $gid, @groups);
	POSIX::setgid($gid) or die "PgHaTest::Netns: setgid($gid): $!";
	POSIX::setuid($uid) or die "PgHaTest::Netns: setuid($uid): $!";
	die "PgHaTest::Netns: still root after setuid" if $< == 0 || $> == 0;
	@ENV{qw(HOME USER LOGNAME)} = ($home, $user, $user);
	return;
}

sub _ip
{
	my (@args) = @_;
	system('ip', @args) == 0 or die 'PgHaTest::Netns: ip ' . join(' ', @args) . " failed\n";
	return;
}

=pod

=over

=item PgHaTest::Netns->setup(nodes => [names], %opts)

Creates the namespaces and networks, forks the root helper, moves the
calling process into the hub and drops root.  Options: user (default
$ENV{PG_HA_TEST_USER} or postgres).  At most 200 nodes.

=cut

sub setup
{
	my ($class, %opts) = @_;
	my @nodes = @{ $opts{nodes} || croak 'PgHaTest::Netns->setup needs nodes' };
	my $user = $opts{user} // $ENV{PG_HA_TEST_USER} // 'postgres';

	if ($> != 0)
	{
		print "1..0 # SKIP needs root to create network namespaces (run by scripts/test.sh)\n";
		exit 0;
	}

	my $tag  = "pgha-$$";
	my $self = bless {
		tag   => $tag,
		hub   => "$tag-hub",
		nodes => [@nodes],
		index => { map { $nodes[$_] => $_ + 1 } 0 .. $#nodes },
		user  => $user,
	}, $class;

	socketpair(my $mine, my $theirs, AF_UNIX, SOCK_STREAM, PF_UNSPEC)
	  or die "PgHaTest::Netns: socketpair: $!";

	# the helper exists before the first namespace, so that whatever is
	# created is also removed
	my $pid = fork();
	die "PgHaTest::Netns: fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		close $mine;
		# never return into the test: this process is not the test
		eval { $self->_helper($theirs); 1 }
		  or do { print STDERR "PgHaTest::Netns helper: $@"; eval { $self->_cleanup } };
		POSIX::_exit(0);
	}
	close $theirs;
	$mine->autoflush(1);
	$self->{sock}       = $mine;
	$self->{helper_pid} = $pid;

	my $r = $self->_request({ op => 'create' });
	die "PgHaTest::Netns: could not create the namespaces: $r->{error}\n" if $r->{error};

	_setns($self->{hub});
	_drop_root($user);
	my $dir = $ENV{TESTDIR} // '.';
	die "PgHaTest::Netns: $dir is not writable by $user (run the suite in a tree of that user)\n"
	  unless -w $dir;
	return $self;
}

# ----- the helper (root, outside the namespaces)

sub _ns { my ($self, $node) = @_; return "$self->{tag}-$node"; }

sub _create
{
	my ($self) = @_;
	my $hub = $self->{hub};
	_ip('netns', 'add', $hub);
	$self->{created} = [$hub];
	_ip('-n', $hub, 'link', 'set', 'lo', 'up');
	for my $net ([ 'pgha-brc', 1 ], [ 'pgha-brd', 2 ])
	{
		_ip('-n', $hub, 'link', 'add', $net->[0], 'type', 'bridge');
		_ip('-n', $hub, 'addr', 'add', "10.250.$net->[1].1/24", 'dev', $net->[0]);
		_ip('-n', $hub, 'link', 'set', $net->[0], 'up');
	}
	foreach my $node (@{ $self->{nodes} })
	{
		my $ns = $self->_ns($node);
		my $i  = $self->{index}{$node};
		_ip('netns', 'add', $ns);
		push @{ $self->{created} }, $ns;
		_ip('-n', $ns, 'link', 'set', 'lo', 'up');
		for my $net ([ 'c', 'pgha-dcs', 'pgha-brc', 1 ], [ 'd', 'pgha-data', 'pgha-brd', 2 ])
		{
			my ($p, $inner, $bridge, $n) = @$net;
			_ip('-n', $hub, 'link', 'add', "pgha-$p$i", 'type', 'veth',
				'peer', 'name', $inner, 'netns', $ns);
			_ip('-n', $hub, 'link', 'set', "pgha-$p$i", 'master', $bridge, 'up');
			_ip('-n', $ns, 'addr', 'add', "10.250.$n." . (10 + $i) . '/24', 'dev', $inner);
			_ip('-n', $ns, 'link', 'set', $inner, 'up');
		}
	}
	return;
}

sub _cleanup
{
	my ($self) = @_;
	foreach my $ns (reverse @{ $self->{created} || [] })
	{
		# every process left inside (servers of a test that died)
		for my $try (1 .. 50)
		{
			my @pids = grep { /^\d+$/ } split /\s+/, `ip netns pids $ns 2>/dev/null`;
			last unless @pids;
			kill 'KILL', @pids;
			select(undef, undef, undef, 0.1);
		}
		system('ip', 'netns', 'del', $ns) == 0
		  or print STDERR "PgHaTest::Netns: could not delete namespace $ns\n";
	}
	$self->{created} = [];
	return;
}

sub _run_in
{
	my ($self, $node, $argv, $env, $log) = @_;
	my $pid = fork();
	return { error => "fork: $!" } unless defined $pid;
	if ($pid == 0)
	{
		eval {
			_setns($self->_ns($node));
			_drop_root($self->{user});
			%ENV = %$env;
			# the helper's STDOUT is the TAP stream: keep it clean
			open(STDOUT, '>>', $log // '/dev/null') && open(STDERR, '>&', \*STDOUT)
			  or die "redirect: $!";
			exec { $argv->[0] } @$argv;
			die "exec $argv->[0]: $!";
		};
		print STDERR "PgHaTest::Netns: $@";
		POSIX::_exit(127);
	}
	waitpid($pid, 0);
	return { status => $? >> 8 };
}

# A long-running command as the test user inside a node's namespace, in
# a session of its own (so that its process group can be signalled), not
# waited for: returns its pid at once.  It stays the helper's child, and
# the helper reaps it (_reap) before each request.
sub _spawn_in
{
	my ($self, $node, $argv, $env, $log) = @_;
	my $pid = fork();
	return { error => "fork: $!" } unless defined $pid;
	if ($pid == 0)
	{
		eval {
			_setns($self->_ns($node));
			_drop_root($self->{user});
			POSIX::setsid();
			$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP PIPE);
			%ENV = %$env;
			open(STDIN, '<', '/dev/null')
			  && open(STDOUT, '>>', $log // '/dev/null')
			  && open(STDERR, '>&', \*STDOUT)
			  or die "redirect: $!";
			exec { $argv->[0] } @$argv;
			die "exec $argv->[0]: $!";
		};
		print STDERR "PgHaTest::Netns: $@";
		POSIX::_exit(127);
	}
	$self->{spawned}{$pid} = 1;
	return { pid => $pid };
}

sub _reap
{
	my ($self) = @_;
	foreach my $pid (keys %{ $self->{spawned} || {} })
	{
		delete $self->{spawned}{$pid} if waitpid($pid, POSIX::WNOHANG()) != 0;
	}
	return;
}

# The namespace of a node, or the hub's for 'hub'.
sub _ns_of
{
	my ($self, $name) = @_;
	return $self->{hub} if ($name // '') eq 'hub';
	die "unknown node\n" unless $self->{index}{ $name // '' };
	return $self->_ns($name);
}

# Packets from an address dropped on arrival in a namespace (or let
# through again): a policy rule of type blackhole, before the local
# table's rule (moved from priority 0 to 100 the first time), so that
# even packets for a local address are dropped, silently, as a partition
# drops them.
sub _block
{
	my ($self, $name, $from, $state) = @_;
	my $ns = $self->_ns_of($name);
	$from =~ /^10\.250\.[12]\.\d{1,3}$/ or die "not an address of the test's networks\n";
	if (!$self->{rules_moved}{$ns})
	{
		_ip('-n', $ns, 'rule', 'add', 'pref', '100', 'lookup', 'local');
		_ip('-n', $ns, 'rule', 'del', 'pref', '0');
		$self->{rules_moved}{$ns} = 1;
	}
	my $have = `ip -n $ns rule show pref 10 from $from 2>/dev/null` =~ /blackhole/;
	if ($state eq 'on')
	{
		_ip('-n', $ns, 'rule', 'add', 'pref', '10', 'from', "$from/32", 'blackhole') unless $have;
	}
	elsif ($have)
	{
		_ip('-n', $ns, 'rule', 'del', 'pref', '10', 'from', "$from/32", 'blackhole');
	}
	return;
}

sub _handle
{
	my ($self, $req) = @_;
	my $op = $req->{op} // '';
	$self->_reap;
	if ($op eq 'spawn')
	{
		die "unknown node\n" unless $self->{index}{ $req->{node} // '' };
		return $self->_spawn_in($req->{node}, $req->{argv}, $req->{env} || {}, $req->{log});
	}
	if ($op eq 'pids')
	{
		my $ns = $self->_ns_of($req->{node});
		return { pids => [ grep { /^\d+$/ } split /\s+/, `ip netns pids $ns 2>/dev/null` ] };
	}
	if ($op eq 'block')
	{
		my ($state) = ($req->{state} // '') =~ /^(on|off)$/ or die "on or off\n";
		$self->_block($req->{node}, $req->{from} // '', $state);
		return { ok => 1 };
	}
	if ($op eq 'create')
	{
		$self->_create;
		return { ok => 1 };
	}
	if ($op eq 'run')
	{
		die "unknown node\n" unless $self->{index}{ $req->{node} // '' };
		return $self->_run_in($req->{node}, $req->{argv}, $req->{env} || {}, $req->{log});
	}
	if ($op eq 'link')
	{
		my $i = $self->{index}{ $req->{node} // '' } or die "unknown node\n";
		my $p = { dcs => 'c', data => 'd' }->{ $req->{net} // '' } or die "unknown network\n";
		my ($state) = ($req->{state} // '') =~ /^(up|down)$/ or die "up or down\n";
		# the hub's end: for the node, as if its switch port died
		_ip('-n', $self->{hub}, 'link', 'set', "pgha-$p$i", $state);
		return { ok => 1 };
	}
	die "unknown request\n";
}

sub _helper
{
	my ($self, $sock) = @_;
	POSIX::setsid();
	$SIG{$_} = 'IGNORE' for qw(INT TERM HUP PIPE);
	$sock->autoflush(1);
	while (my $line = <$sock>)
	{
		my $req = eval { $json->decode($line) } || {};
		my $res = eval { $self->_handle($req) } || { error => ($@ || 'failed') };
		print $sock $json->encode($res), "\n";
	}
	# the test is gone: leave nothing behind
	$self->_cleanup;
	return;
}

# ----- the test's side

sub _request
{
	my ($self, $req) = @_;
	my $sock = $self->{sock};
	print $sock $json->encode($req), "\n" or die "PgHaTest::Netns: helper gone: $!";
	my $line = <$sock>;
	die "PgHaTest::Netns: the helper did not answer\n" unless defined $line;
	return $json->decode($line);
}

=pod

=item ->addr($node, 'dcs'|'data'), ->hub_addr('dcs'|'data')

A node's address on a network, the hub's.

=cut

sub addr
{
	my ($self, $node, $net) = @_;
	my $i = $self->{index}{$node} // croak "unknown node $node";
	return '10.250.' . ($net eq 'dcs' ? 1 : 2) . '.' . (10 + $i);
}

sub hub_addr
{
	my ($self, $net) = @_;
	return '10.250.' . ($net eq 'dcs' ? 1 : 2) . '.1';
}

=pod

=item ->node_opts($node, consul => $consul, %opts)

Options for PgHaTest::new_node / new_replica that place $node in its
namespace: pg_ha.consul_url to the hub's dcs address, listen_addresses,
pg_ha.connect_address and pg_ha.api_listen on the node's data address,
pg_hba lines trusting the data network (appended by start_node), plus
%opts.

=cut

sub node_opts
{
	my ($self, $node, %opts) = @_;
	my $consul = delete $opts{consul} or croak 'node_opts needs consul';
	my $data   = $self->addr($node, 'data');
	my @extra  = (
		"listen_addresses = '$data'",
		"pg_ha.api_listen = '$data:" . PostgreSQL::Test::Cluster::get_free_port() . "'");
	push @extra, ref $opts{extra_conf} ? @{ $opts{extra_conf} } : ($opts{extra_conf})
	  if defined $opts{extra_conf};
	delete $opts{extra_conf};
	return (
		consul_url => 'http://' . $self->hub_addr('dcs') . ':' . $consul->http_port,
		extra_conf => \@extra,
		%opts);
}

=pod

=item ->start_node($node_object, $name)

pg_ctl start of the node inside its namespace, as PostgreSQL::Test::Cluster's
start() would run it; sets pg_ha.connect_address (the port is known now)
and the pg_hba lines first.  Returns 1, or 0 when pg_ctl failed.

=cut

sub start_node
{
	my ($self, $node, $name) = @_;
	my $data = $self->addr($name, 'data');
	my $conf = PostgreSQL::Test::Utils::slurp_file($node->data_dir . '/postgresql.conf');
	if ($conf !~ /^# PgHaTest::Netns \Q$name\E$/m)
	{
		# before the include of pg_ha.conf, which comes last
		$conf =~ s/\A(.*)^(include_if_exists = 'pg_ha\.conf')$/$1# PgHaTest::Netns $name\npg_ha.connect_address = '$data:@{[ $node->port ]}'\n$2/ms
		  or croak 'no include of pg_ha.conf in ' . $node->data_dir . '/postgresql.conf';
		open my $fh, '>', $node->data_dir . '/postgresql.conf' or die $!;
		print $fh $conf;
		close $fh;
		$node->append_conf('pg_hba.conf',
			"host all all 10.250.2.0/24 trust\nhost replication all 10.250.2.0/24 trust\n");
	}
	my %env = %ENV;
	delete $env{PGAPPNAME};
	no warnings 'once';
	my $r = $self->_request({
		op   => 'run',
		node => $name,
		env  => \%env,
		log  => $PostgreSQL::Test::Utils::test_logfile,
		argv => [ 'pg_ctl', '-w', '-D', $node->data_dir, '-l', $node->logfile,
			'-o', '--cluster-name=' . $node->name, 'start' ] });
	croak "PgHaTest::Netns: $r->{error}" if $r->{error};
	if ($r->{status} != 0)
	{
		print "# pg_ctl start of $name in its namespace failed\n";
		$node->_update_pid(-1);
		return 0;
	}
	$node->_update_pid(1);
	return 1;
}

=pod

=item ->link($node, 'dcs'|'data', 'up'|'down')

Sets the hub's end of the node's link down or up: for the node, the
cable was pulled at the switch (it loses the carrier, packets go
nowhere).

=cut

sub link
{
	my ($self, $node, $net, $state) = @_;
	my $r = $self->_request({ op => 'link', node => $node, net => $net, state => $state });
	croak "PgHaTest::Netns: link $node $net $state: $r->{error}" if $r->{error};
	return 1;
}

=pod

=item ->spawn($node, [argv], log => $file)

Starts a long-running command (a Consul agent) as the test user inside
the node's namespace, in a session of its own, and returns its pid at
once (0 on failure).  Its process group can be signalled by the test
(same user); the helper reaps it.  Its standard output and error go to
$file.

=cut

sub spawn
{
	my ($self, $node, $argv, %opts) = @_;
	my %env = %ENV;
	my $r = $self->_request({ op => 'spawn', node => $node, env => \%env,
		log => $opts{log}, argv => $argv });
	croak "PgHaTest::Netns: spawn in $node: $r->{error}" if $r->{error};
	return $r->{pid} // 0;
}

=pod

=item ->pids($node)

The pids of every process inside the node's namespace (C<ip netns
pids>; 'hub' for the hub), as the helper sees them now.

=cut

sub pids
{
	my ($self, $node) = @_;
	my $r = $self->_request({ op => 'pids', node => $node });
	croak "PgHaTest::Netns: pids of $node: $r->{error}" if $r->{error};
	return @{ $r->{pids} || [] };
}

=pod

=item ->block($node, $from_addr, 'on'|'off')

Drops (on) every packet from $from_addr (an address of the dcs or data
network) that arrives in the node's namespace ('hub' for the hub), or
lets them through again (off).  Silent, like a partition: the sender's
packets go out and are lost.  Block both directions for a symmetric
cut, e.g. pg1 from pg2: C<< ->block('pg1', addr(pg2), 'on') >> and
C<< ->block('pg2', addr(pg1), 'on') >>.

=cut

sub block
{
	my ($self, $node, $from, $state) = @_;
	my $r = $self->_request({ op => 'block', node => $node, from => $from, state => $state });
	croak "PgHaTest::Netns: block $node $from $state: $r->{error}" if $r->{error};
	return 1;
}

=pod

=item ->namespace($node), ->hub

Names of the namespaces (for diagnostics).

=back

=cut

sub namespace { my ($self, $node) = @_; return $self->_ns($node); }
sub hub       { return $_[0]->{hub}; }

1;
