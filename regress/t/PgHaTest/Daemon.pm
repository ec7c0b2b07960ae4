# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest::Daemon - a server process of pg_ha's TAP tests, in a process
group of its own: started, stopped, killed, paused and resumed

=head1 DESCRIPTION

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

This is no server harness of its own: what the server is, how it is
configured and when it is ready belong to the subclasses.  PgHaTest
loads this module.

=head1 FUNCTIONS AND METHODS

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

package PgHaTest::Daemon;

use strict;
use warnings;

use Carp;
use File::Basename qw(basename);
use POSIX qw(WNOHANG);
use Time::HiRes ();
use PostgreSQL::Test::Utils ();
use PgHaTest;

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

1;
