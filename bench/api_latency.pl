# REST API health-check latency and footprint (a benchmark, not a test).
#
# One pg_ha node (the leader) with its Consul agent, then HAProxy-like
# checks: a new TCP connection per check, "OPTIONS /primary HTTP/1.0",
# at a fixed rate for a duration.  Reports p50/p99/max latency of the
# answers and the RSS and PSS of the process that serves them (the HA
# worker) before and after.  Then write requests, which the HA worker
# carries out between its rounds: POST /switchover naming an unknown
# candidate (read from Consul, refused with 412, nothing written), one at
# a time on a kept-alive connection and on a new connection each.
#
#   bench/api_run.sh [--rate 200] [--duration 120]
use strict;
use warnings;

use Getopt::Long;
use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

use PgHaTest;

my ($rate, $duration) = (200, 120);
GetOptions('rate=i' => \$rate, 'duration=i' => \$duration) or die "bad options\n";

my $consul = PgHaTest::Consul->start();
my $api_port = PostgreSQL::Test::Cluster::get_free_port();
my $pg1 = PgHaTest::new_node('pg1', cluster => 'bench', consul => $consul,
	extra_conf => "pg_ha.api_listen = '127.0.0.1:$api_port'");
$pg1->start;
PgHaTest::poll_until('pg1 leads', 60, sub { $pg1->psql('postgres', 'SELECT 1') == 0 })
  or die "no leader\n";
my ($api_pid) = slurp_file($pg1->logfile) =~ /REST API listening on "[^"]+" \(pid (\d+)\)/
  or die "no REST API pid in the log\n";

sub memory
{
	my $status = slurp_file("/proc/$api_pid/status");
	my $rollup = -r "/proc/$api_pid/smaps_rollup" ? slurp_file("/proc/$api_pid/smaps_rollup") : '';
	my ($rss) = $status =~ /^VmRSS:\s+(\d+) kB/m;
	my ($pss) = $rollup =~ /^Pss:\s+(\d+) kB/m;
	return ($rss // 0, $pss // 0);
}

sub check
{
	my $t0 = time;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $api_port,
		Proto => 'tcp', Timeout => 2) or return (undef, 'connect failed');
	print $s "OPTIONS /primary HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	my $line = <$s>;
	close $s;
	return (undef, 'no answer') unless defined $line;
	my ($code) = $line =~ m{^HTTP/1\.\d (\d{3})};
	return ((time - $t0) * 1000, $code);
}

# warm up, then measure
check() for 1 .. 50;
my ($rss0, $pss0) = memory();
my @lat;
my %codes;
my $interval = 1 / $rate;
my $start = time;
my $next = $start;
while (time - $start < $duration)
{
	my ($ms, $code) = check();
	$codes{ $code // 'error' }++;
	push @lat, $ms if defined $ms;
	$next += $interval;
	my $wait = $next - time;
	sleep($wait) if $wait > 0;
}
my $elapsed = time - $start;
my ($rss1, $pss1) = memory();

# write requests: $writes of them, one after the other, each sent in one
# write (PgHaTest::http_exchange)
my $writes = 200;
my %write_lat;
my $body = '{"leader":"pg1","candidate":"pg9"}';
for my $keep_alive (1, 0)
{
	my @w;
	my $s;
	for (1 .. $writes)
	{
		my $t0 = time;
		$s //= IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $api_port,
			Proto => 'tcp', Timeout => 10) or die "connect: $!\n";
		my ($code, $content) = PgHaTest::http_exchange($s, 'POST', '/switchover', $body,
			'Content-Type' => 'application/json', $keep_alive ? () : (Connection => 'close'));
		die "POST /switchover: $code $content\n" unless $code == 412;
		push @w, (time - $t0) * 1000;
		undef $s unless $keep_alive;
	}
	$write_lat{$keep_alive} = [ sort { $a <=> $b } @w ];
}
@lat = sort { $a <=> $b } @lat;
sub pct { my ($p) = @_; return @lat ? $lat[ int($p / 100 * $#lat + 0.5) ] : 0 }
# PostgreSQL::Test::Utils sends STDOUT to the test log; the table goes to
# the terminal through Test::More's own handle.
my $out = Test::More->builder->output;
print $out sprintf("| rate (req/s) | duration (s) | requests | p50 (ms) | p99 (ms) | max (ms) | status codes | HA worker RSS before/after (kB) | PSS before/after (kB) |\n");
print $out sprintf("|---|---|---|---|---|---|---|---|---|\n");
print $out sprintf("| %.0f | %.0f | %d | %.2f | %.2f | %.2f | %s | %d / %d | %d / %d |\n",
  scalar(@lat) / $elapsed, $elapsed, scalar(@lat), pct(50), pct(99), $lat[-1] // 0,
  join(' ', map { "$_: $codes{$_}" } sort keys %codes), $rss0, $rss1, $pss0, $pss1);
print $out "\n| write requests (POST /switchover, 412) | requests | p50 (ms) | p99 (ms) | max (ms) |\n";
print $out "|---|---|---|---|---|\n";
for my $keep_alive (1, 0)
{
	my $w = $write_lat{$keep_alive};
	my $p = sub { $w->[ int($_[0] / 100 * $#$w + 0.5) ] };
	print $out sprintf("| %s | %d | %.2f | %.2f | %.2f |\n",
		$keep_alive ? 'one kept-alive connection' : 'a new connection each',
		scalar(@$w), $p->(50), $p->(99), $w->[-1]);
}
$pg1->stop;
done_testing();
