# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest::HAProxy - a real HAProxy in front of a test's pg_ha nodes, with
the documented configuration (docs/haproxy.cfg)

=head1 SYNOPSIS

  use PgHaTest;    # loads this module

  plan skip_all => 'haproxy is not installed'
	unless PgHaTest::haproxy_binary();
  my $haproxy = PgHaTest::HAProxy->start(pg1 => $pg1, pg2 => $pg2, pg3 => $pg3);
  ok(PgHaTest::poll_until('pg1 is the primary behind HAProxy', 30,
		  sub { $haproxy->up('primary') eq 'pg1' }), 'HAProxy routes to pg1');
  is($haproxy->via('primary', 'SELECT pg_is_in_recovery()'), 'f', 'writable');

=head1 DESCRIPTION

HAProxy checks the nodes' REST APIs, as docs/haproxy.cfg shows a
deployment doing it; this module renders that file for the test's ports
and runs it.  Every HAProxy a test started is stopped (SIGTERM) when the
test exits.  Finding the binary is PgHaTest::haproxy_binary()'s; what
the checks are answered with is the REST API's, not this module's.

=head1 METHODS

=over

=item PgHaTest::HAProxy->start([\%opts], %nodes)

A real HAProxy with the documented configuration (docs/haproxy.cfg), its
ports replaced: the nodes pg1, pg2, pg3 given as name => node (each node's
REST API port is read from its postgresql.conf), and free ports for the
primary, replica and stats sections.  A node the test does not have is no
server at all.  Stopped at exit.  A hash ref before the nodes holds
options: C<check_opts>, words appended to every server line, e.g.
C<< { check_opts => 'check-ssl verify required ca-file /x/ca.crt' } >>
for checks over HTTPS; C<addr>, a hash ref of node name => the address
HAProxy reaches that node and its REST API at (default 127.0.0.1), e.g. a
node's data address in a network namespace of PgHaTest::Netns.

=item ->port('primary'|'replicas'|'stats')

The port HAProxy listens on for that section.

=item ->config

The rendered configuration file's text.

=item ->via($section, $sql)

psql through HAProxy's $section: its output, chomped ('' when psql
fails; its stderr is logged with note()).

=item ->up($section)

The servers HAProxy has UP in $section, from its stats page, sorted and
joined by commas ('' when the stats page does not answer).

=back

=cut

package PgHaTest::HAProxy;

use strict;
use warnings;
use Carp;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use HTTP::Tiny;
use IPC::Run;
use Test::More ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use PgHaTest;

# The tree's docs/ directory, resolved once at load time.
my $docs_dir = dirname(abs_path(__FILE__)) . '/../../../docs';

my @haproxy_pids;

sub start
{
	my $class = shift;
	my $opts = ref $_[0] eq 'HASH' ? shift : {};
	my %nodes = @_;
	my $bin = PgHaTest::haproxy_binary() or croak 'haproxy is not installed';
	my %port = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } qw(primary replicas stats);
	my $cfg = slurp_file("$docs_dir/haproxy.cfg");

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

1;
