# Copyright (c) pg_ha contributors

=pod

=head1 NAME

PgHaTest::Checker - a client that writes to every node and remembers
every write it saw acknowledged

=head1 SYNOPSIS

  use PgHaTest::Checker;

  PgHaTest::Checker::create_table($leader);    # once, on the leader
  my $checker = PgHaTest::Checker->start(
	  nodes => { pg1 => $pg1->connstr('postgres'), pg2 => ..., pg3 => ... });
  ... faults ...
  ok($checker->poll_acked('pg2', 30), 'pg2 takes writes');
  $checker->stop;
  my ($ok, $why) = $checker->no_overlap;
  ok($ok, "never two nodes accepting writes: $why");
  is_deeply([ $checker->missing_on($new_leader) ], [], 'nothing lost');

=head1 DESCRIPTION

A forked child process, one DBD::Pg connection per node, that writes in
rounds: each round tries one INSERT on every node, one after the other,
then waits for the next tick (default every 50 ms).  Every INSERT carries
a sequence number unique across all nodes.  Every attempt is appended to
a log file (one JSON object per line, flushed at once) with its sequence
number, node, start and end time on the monotonic clock (the clock of
PgHaTest::_now, Time::HiRes CLOCK_MONOTONIC), and its outcome:

=over

=item ok

The server acknowledged the commit.

=item fenced

pg_ha refused it: "pg_ha: node ... is fenced and accepts no connections"
or "pg_ha: cannot commit, node ... does not hold the leader lease".

=item readonly

The node is a replica ("read-only transaction").

=item unknown

No answer within the query timeout (default 2 s; the query is cancelled):
it may or may not have committed.

=item error

Anything else (connection refused, connection terminated, ...); the
message is kept.

=back

Because the checker is one process writing one row at a time, the order
of the sequence numbers is the order of the commits: if the acknowledged
writes, in sequence order, go to pg1, then pg2, then pg1 again, both pg1
and pg2 accepted writes in the same interval.  no_overlap() checks that
every node's acknowledged writes form one block.

Asynchronous replication may lose acknowledged writes in a failover; with
synchronous mode none may be lost.  missing_on() counts them either way,
and the test decides what it asserts.

The checker process exits when its parent exits (it polls getppid), so
it never outlives a test that dies.

=cut

package PgHaTest::Checker;

use strict;
use warnings;

use Carp;
use DBI;
use File::Basename ();
use DBD::Pg qw(:async);
use IO::Handle;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes ();

use PostgreSQL::Test::Utils ();
use PgHaTest;

my $json = JSON::PP->new->utf8->canonical;

our $TABLE = 'pgha_checker';

=pod

=head1 FUNCTIONS AND METHODS

=over

=item PgHaTest::Checker::create_table($node)

Creates the checker's table on $node (the leader):
C<pgha_checker (seq bigint PRIMARY KEY, node text, at timestamptz)>.

=cut

sub create_table
{
	my ($node) = @_;
	$node->safe_psql('postgres',
		"CREATE TABLE $TABLE (seq bigint PRIMARY KEY, node text NOT NULL, "
		  . 'at timestamptz NOT NULL DEFAULT clock_timestamp())');
	return;
}

=pod

=item PgHaTest::Checker->start(nodes => { name => conninfo, ... }, %opts)

Forks the checker.  conninfo is a libpq connection string (e.g.
C<< $node->connstr('postgres') >>, or C<host=10.250.2.11 port=5432
dbname=postgres>).  Options: interval (seconds between rounds, default
0.05), query_timeout (seconds, default 2), connect_timeout (whole
seconds, default 1), log (the log file, default
C<< <tmp_check/log>/<test>_checker.jsonl >>), seq_base (default 0: the
first sequence number is seq_base + 1; several checkers writing to the
same table at once each take a range of their own), node_value (an SQL
expression for the row's node column instead of the checker's name for
the node, e.g. C<current_setting('pg_ha.node_name')> for a checker that
writes through HAProxy and must learn which node took each row),
cancel (default 1: a query without an answer in time is cancelled; 0:
its connection is only dropped, since a cancel request opens a new
connection that a partition can hold up for long).
Returns once the child runs.

=cut

sub start
{
	my ($class, %opts) = @_;
	my $nodes = $opts{nodes};
	croak 'PgHaTest::Checker->start needs nodes => { name => conninfo }'
	  unless ref $nodes eq 'HASH' && %$nodes;

	my $testname = File::Basename::basename($0);
	$testname =~ s/\.[^.]+$//;
	my $self = bless {
		nodes           => {%$nodes},
		order           => [ sort keys %$nodes ],
		interval        => $opts{interval} // 0.05,
		seq_base        => $opts{seq_base} // 0,
		node_value      => $opts{node_value},
		cancel          => $opts{cancel} // 1,
		query_timeout   => $opts{query_timeout} // 2,
		connect_timeout => $opts{connect_timeout} // 1,
		log             => $opts{log}
		  // "$PostgreSQL::Test::Utils::log_path/${testname}_checker.jsonl",
		attempts => [],
		read_pos => 0,
		partial  => '',
		parent   => $$,
	}, $class;

	open my $fh, '>', $self->{log} or die "could not create $self->{log}: $!";
	close $fh;

	my $pid = fork();
	die "fork failed: $!" unless defined $pid;
	if ($pid == 0)
	{
		# never return into the test, never run its END blocks
		my $status = eval { $self->_run; 0 } // do { print STDERR "checker: $@"; 1 };
		POSIX::_exit($status);
	}
	$self->{pid} = $pid;
	print "# checker started, pid $pid, log $self->{log}\n";
	return $self;
}

# ----- the child

sub _connect
{
	my ($self, $name) = @_;
	my $dsn = "dbi:Pg:$self->{nodes}{$name} connect_timeout=$self->{connect_timeout}";
	$dsn =~ s/^dbi:Pg:\s*/dbi:Pg:/;
	my $dbh = DBI->connect($dsn, '', '',
		{ AutoCommit => 1, RaiseError => 0, PrintError => 0, PrintWarn => 0 });
	return ($dbh, $dbh ? undef : $DBI::errstr);
}

sub _classify
{
	my ($err) = @_;
	return 'fenced'
	  if $err =~ /pg_ha: node "[^"]*" is fenced|pg_ha: cannot commit, node "[^"]*" does not hold the leader lease/;
	return 'readonly' if $err =~ /read-only transaction/;
	return 'error';
}

# One INSERT, waiting at most query_timeout.  Returns (outcome, message).
sub _insert
{
	my ($self, $dbh, $seq, $name) = @_;
	my $value = $self->{node_value} // "'$name'";
	my $ok = $dbh->do("INSERT INTO $TABLE (seq, node) VALUES ($seq, $value)",
		{ pg_async => PG_ASYNC });
	return ('error', $dbh->errstr // 'could not send the INSERT') unless $ok;
	my $deadline = PgHaTest::_now() + $self->{query_timeout};
	until ($dbh->pg_ready)
	{
		if (PgHaTest::_now() >= $deadline)
		{
			# a cancel request is a new connection, with no timeout of its
			# own: cancel => 0 only drops the connection, for servers that
			# a partition may hide for long
			$dbh->pg_cancel if $self->{cancel};
			return ('unknown', "no answer within $self->{query_timeout} s");
		}
		# the connection may have died: pg_ready is then true with an error
		Time::HiRes::sleep(0.002);
	}
	my $rows = $dbh->pg_result;
	return ('ok', '') if defined $rows && $rows == 1;
	my $err = $dbh->errstr // 'no result';
	return (_classify($err), $err);
}

sub _run
{
	my ($self) = @_;
	$SIG{$_} = 'DEFAULT' for qw(INT HUP);
	my $stop = 0;
	$SIG{TERM} = sub { $stop = 1 };
	open my $log, '>>', $self->{log} or die "could not open $self->{log}: $!";
	$log->autoflush(1);

	my %dbh;
	my $seq  = $self->{seq_base};
	my $tick = PgHaTest::_now();
	while (!$stop && getppid() == $self->{parent})
	{
		foreach my $name (@{ $self->{order} })
		{
			last if $stop;
			my %a = (seq => ++$seq, node => $name, t0 => PgHaTest::_now());
			my ($outcome, $msg);
			if (!$dbh{$name})
			{
				($dbh{$name}, $msg) = $self->_connect($name);
				$outcome = _classify($msg) unless $dbh{$name};
			}
			($outcome, $msg) = $self->_insert($dbh{$name}, $seq, $name)
			  if $dbh{$name};
			if ($outcome ne 'ok' && $dbh{$name})
			{
				# start afresh: the session may be gone or mid-query
				eval { $dbh{$name}->disconnect };
				delete $dbh{$name};
			}
			$msg //= '';
			$msg =~ s/\s+/ /g;
			$a{t1}      = PgHaTest::_now();
			$a{outcome} = $outcome;
			$a{error}   = $msg if $msg ne '';
			print $log $json->encode(\%a), "\n";
		}
		$tick += $self->{interval};
		my $now = PgHaTest::_now();
		$tick = $now if $tick < $now;
		Time::HiRes::sleep($tick - $now) if $tick > $now && !$stop;
	}
	eval { $_->disconnect } for values %dbh;
	close $log;
	return;
}

# ----- the parent

=pod

=item ->attempts

Every attempt logged so far (hash refs with seq, node, t0, t1, outcome
and error), in sequence order.  Reads what the child appended since the
last call.

=cut

sub attempts
{
	my ($self) = @_;
	open my $fh, '<', $self->{log} or die "could not read $self->{log}: $!";
	seek($fh, $self->{read_pos}, 0);
	local $/;
	my $new = <$fh> // '';
	$self->{read_pos} = tell($fh);
	close $fh;
	$new = $self->{partial} . $new;
	# keep a line the child has not finished writing for the next call
	$self->{partial} = $new =~ s/([^\n]*)\z// ? $1 : '';
	push @{ $self->{attempts} }, map { $json->decode($_) } grep { $_ ne '' } split /\n/, $new;
	return @{ $self->{attempts} };
}

=pod

=item ->acked([$node, [$since]])

The acknowledged attempts (of $node only, if given; started at or after
the monotonic time $since, if given).

=cut

sub acked
{
	my ($self, $node, $since) = @_;
	return grep {
		$_->{outcome} eq 'ok'
		  && (!defined $node || $_->{node} eq $node)
		  && (!defined $since || $_->{t0} >= $since)
	} $self->attempts;
}

=pod

=item ->poll_acked($node, $seconds, [$since])

Waits (polling, with a deadline) until $node has acknowledged a write
started at or after $since (default: now).  Returns that attempt, or 0.

=item ->poll_outcome($node, $outcome, $seconds, [$since])

The same for any outcome ('fenced', 'readonly', ...).

=cut

sub poll_acked
{
	my ($self, $node, $seconds, $since) = @_;
	return $self->poll_outcome($node, 'ok', $seconds, $since);
}

sub poll_outcome
{
	my ($self, $node, $outcome, $seconds, $since) = @_;
	$since //= PgHaTest::_now();
	croak 'the checker is not running' unless $self->is_running;
	return PgHaTest::poll_until("checker: $outcome on $node", $seconds,
		sub {
			my @hits = grep { $_->{node} eq $node && $_->{outcome} eq $outcome && $_->{t0} >= $since }
			  $self->attempts;
			return @hits ? $hits[0] : 0;
		});
}

=pod

=item ->is_running, ->stop

stop() sends SIGTERM, waits for the child (it finishes the attempt under
way) and reads the rest of the log.

=cut

sub is_running
{
	my ($self) = @_;
	return 0 unless $self->{pid};
	local $?;
	return 0 if waitpid($self->{pid}, WNOHANG) == $self->{pid};
	return 1;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	local $?;
	kill 'TERM', $self->{pid};
	my $deadline = PgHaTest::_now() + 30;
	while (waitpid($self->{pid}, WNOHANG) == 0)
	{
		if (PgHaTest::_now() > $deadline)
		{
			kill 'KILL', $self->{pid};
			waitpid($self->{pid}, 0);
			last;
		}
		Time::HiRes::sleep(0.02);
	}
	$self->{pid} = undef;
	$self->attempts;
	return;
}

=pod

=item ->runs

The acknowledged writes grouped into runs of one node, in order: a list
of hash refs { node, first, last, count, t_first, t_last } (sequence
numbers and monotonic times of the first and last write of the run).

=item ->no_overlap

(1, summary) when every node's acknowledged writes form a single run: no
node accepted a write after another node had accepted one and then went
on accepting (e.g. "pg1 #1-#300 (100), pg2 #310-#450 (47)");
(0, summary) otherwise.

=cut

sub runs
{
	my ($self) = @_;
	my @runs;
	foreach my $a ($self->acked)
	{
		if (@runs && $runs[-1]{node} eq $a->{node})
		{
			$runs[-1]{last}   = $a->{seq};
			$runs[-1]{t_last} = $a->{t1};
			$runs[-1]{count}++;
		}
		else
		{
			push @runs, { node => $a->{node}, first => $a->{seq}, last => $a->{seq},
				count => 1, t_first => $a->{t0}, t_last => $a->{t1} };
		}
	}
	return @runs;
}

=pod

=item ->no_overlap_in_time

Like C<no_overlap>, for a history in which a node may lead more than
once: (1, summary) when no run of acknowledged writes on one node started
before the previous run's last acknowledgement (on another node);
(0, summary) otherwise.

=cut

sub no_overlap_in_time
{
	my ($self) = @_;
	my @runs = $self->runs;
	my $bad = grep { $runs[ $_ - 1 ]{t_last} > $runs[$_]{t_first} } 1 .. $#runs;
	my $summary = join(', ',
		map { sprintf('%s #%d-#%d (%d)', $_->{node}, $_->{first}, $_->{last}, $_->{count}) } @runs);
	return ($bad ? 0 : 1, $summary || 'no acknowledged write');
}

sub no_overlap
{
	my ($self) = @_;
	my @runs = $self->runs;
	my %seen;
	my $ok = 1;
	$ok = 0 if grep { $seen{ $_->{node} }++ } @runs;
	my $summary = join(', ',
		map { sprintf('%s #%d-#%d (%d)', $_->{node}, $_->{first}, $_->{last}, $_->{count}) } @runs);
	return ($ok, $summary || 'no acknowledged write');
}

=pod

=item ->missing_on($node, [$from_node])

The sequence numbers of acknowledged writes (of $from_node only, if
given) that the table on $node does not have: the acknowledged writes
lost.  Empty when none is.

=cut

sub missing_on
{
	my ($self, $node, $from_node) = @_;
	my %have = map { $_ => 1 } split /\n/,
	  $node->safe_psql('postgres', "SELECT seq FROM $TABLE");
	return map { $_->{seq} } grep { !$have{ $_->{seq} } } $self->acked($from_node);
}

=pod

=item ->summary

One line per outcome and node, e.g. "pg1: ok 120, fenced 30", for note().

=back

=cut

sub summary
{
	my ($self) = @_;
	my %count;
	$count{ $_->{node} }{ $_->{outcome} }++ for $self->attempts;
	return join('; ',
		map {
			my $n = $_;
			"$n: " . join(', ', map { "$_ $count{$n}{$_}" } sort keys %{ $count{$n} })
		} sort keys %count);
}

sub DESTROY
{
	my ($self) = @_;
	return unless $self->{pid} && $$ == $self->{parent};
	local ($@, $?);
	kill 'KILL', $self->{pid};
	waitpid($self->{pid}, 0);
	return;
}

1;
