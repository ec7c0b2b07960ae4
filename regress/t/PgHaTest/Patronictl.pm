# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest::Patronictl - Debian's patronictl as a client of a pg_ha test
cluster

=head1 SYNOPSIS

  use PgHaTest;    # loads this module

  my $patronictl = PgHaTest::Patronictl->new(consul => $consul,
	  scope => 'otus', auth => 'admin:s3cret');
  my ($ok, $out, $err) = $patronictl->run('list', 'otus');

=head1 DESCRIPTION

Debian's patronictl (package patroni, 3.0.2) as a client of a test's
cluster: its own configuration file names the test's Consul and Patroni's
namespace C</service/>, where pg_ha writes its keys.  Finding the binary
is PgHaTest::patronictl_binary()'s; reading its tables is
PgHaTest::table_row()'s.

=head1 METHODS

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

package PgHaTest::Patronictl;

use strict;
use warnings;
use Carp;
use IPC::Run;
use Test::More;
use PostgreSQL::Test::Utils;
use PgHaTest;

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
