# A bad config key changes nothing it should not (issue 14, path 5;
# invariant 7, "unreadable is not off").
#
# Before: one mixed-case name (TimeZone), one value of 256 bytes or more
# (a long archive_command) or a config key over 8 KB made every node
# rewrite pg_ha.conf without any cluster-wide parameter and reload; a key
# turned to garbage or gone did the same, and a store that lost its data
# got a default config.  Now a bad entry is skipped alone, and a config
# key that cannot be used leaves the last good one (kept in
# pg_ha.config.json) in force.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use PgHaTest;

my $consul = PgHaTest::Consul->start();
my $prefix = 'service/otus';
my %common = (cluster => 'otus', consul => $consul);

my ($pg1, $pg2) = PgHaTest::start_cluster(names => [qw(pg1 pg2)], options => \%common);
my %node = (pg1 => $pg1, pg2 => $pg2);

# a long value in a parameter SHOW shows as it is (archive_command shows
# "(disabled)" without archive_mode)
my $long = '%m [%p] ' . ('x' x 300) . ' ';
my %want = (work_mem => '9MB', TimeZone => 'Asia/Tokyo', log_line_prefix => $long);
for my $name (sort keys %want)
{
	like($pg1->safe_psql('postgres', "SELECT pg_ha_set_config('$name', '$want{$name}')"),
		qr/set/, "$name set cluster-wide");
}

sub all_applied
{
	my ($n) = @_;
	my %now = map { $_ => $node{$n}->safe_psql('postgres', "SHOW $_") } keys %want;
	my @off = grep { $now{$_} ne $want{$_} } sort keys %want;
	note("$n: $_ is '$now{$_}'") for @off;
	return !@off;
}
for my $n (sort keys %node)
{
	ok(PgHaTest::poll_until("$n applies all three", 30, sub { all_applied($n) }),
		"$n applies work_mem, a mixed-case TimeZone and a 300-byte log_line_prefix");
}

# Each bad state of the key, for a few rounds: nothing may change.
my $good = $consul->kv_get("$prefix/config");
my @bad = (
	[ 'garbage', qr/config key cannot be used \(it is not a JSON object\)/,
		sub { $consul->kv_put("$prefix/config", '{not json') } ],
	[ 'larger than 8 KB', qr/config key cannot be used \(it is too large\)/, sub {
			my $big = $good;
			$big =~ s/^\{/{"padding":"@{[ 'p' x 9000 ]}",/;
			$consul->kv_put("$prefix/config", $big) } ],
	[ 'gone', qr/config key cannot be used \(it is gone\)/,
		sub { $consul->kv_delete("$prefix/config") } ],
	[ 'with one bad entry', qr/"bad name" is not a parameter name, ignored/, sub {
			my $one = $good;
			$one =~ s/"parameters":\{/"parameters":{"bad name":"1",/;
			$consul->kv_put("$prefix/config", $one) } ],
	# written by patronictl edit-config, which checks nothing: the server
	# would only log them at a reload, and refuse to start with them
	[ 'with a value the server refuses', qr/parameter "maintenance_work_mem" ignored: the server refuses its value/, sub {
			my $one = $good;
			$one =~ s/"parameters":\{/"parameters":{"maintenance_work_mem":"lots",/;
			$consul->kv_put("$prefix/config", $one) } ],
	[ 'with a parameter the server does not know', qr/parameter "no_such_setting" ignored: the server refuses/, sub {
			my $one = $good;
			$one =~ s/"parameters":\{/"parameters":{"no_such_setting":"1",/;
			$consul->kv_put("$prefix/config", $one) } ],
);
for my $case (@bad)
{
	my ($what, $said, $do) = @$case;
	my %offset = map { $_ => -s $node{$_}->logfile } keys %node;
	ok($do->(), "config key $what");
	for my $n (sort keys %node)
	{
		# the worker has seen the key once it says what it makes of it
		ok($node{$n}->wait_for_log($said, $offset{$n}), "$n reports the config key $what");
		ok(all_applied($n), "$n: every parameter still in force with the config key $what");
	}
	ok($consul->kv_put("$prefix/config", $good), 'the good config back');
}
like(slurp_file($pg1->data_dir . '/pg_ha.config.json'), qr/Asia\/Tokyo/,
	'the last good config is kept in pg_ha.config.json');

# A bad value left in the key: the node still restarts.
my $offset = -s $pg2->logfile;
my $bad = $good;
$bad =~ s/"parameters":\{/"parameters":{"shared_buffers":"lots","maintenance_work_mem":"lots",/;
ok($consul->kv_put("$prefix/config", $bad), 'config key with two values the server refuses');
ok($pg2->wait_for_log(qr/parameter "(shared_buffers|maintenance_work_mem)" ignored: the server refuses/, $offset),
	'pg2 reports a refused value');
unlike(slurp_file($pg2->data_dir . '/pg_ha.conf'), qr/lots/, 'pg2\'s pg_ha.conf holds neither');
$pg2->restart;
ok(PgHaTest::poll_until('pg2 streams again', 60, sub { PgHaTest::streaming($pg1) eq 'pg2' }),
	'pg2 restarts and streams again with the refused values in the config key');
ok(all_applied('pg2'), 'pg2: the good parameters still in force');
ok($consul->kv_put("$prefix/config", $good), 'the good config back');

done_testing();
