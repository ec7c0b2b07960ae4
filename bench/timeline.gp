# Timeline of bench/compare.pl: acknowledged writes per 100 ms around each
# fault (the run with the median outage), pg_ha against Patroni.
#   gnuplot -e "dir='RESULTS'; profile='fast'; out='x.png'" bench/timeline.gp
# reads RESULTS/timeline_<tool>_<profile>_<scenario>.dat (compare.pl).

fexists(f) = int(system("[ -f '" . f . "' ] && echo 1 || echo 0"))
dat(tool, s) = sprintf("%s/timeline_%s_%s_%s.dat", dir, tool, profile, s)
# the right end of a panel: the longer of the two runs' data
last_t(f) = fexists(f) ? real(system("tail -n 1 '" . f . "' | cut -d' ' -f1")) : 0
xmax(s) = (last_t(dat('pg_ha', s)) > last_t(dat('patroni', s))) ? last_t(dat('pg_ha', s)) : last_t(dat('patroni', s))

set terminal pngcairo size 1100,1250 font ",10" noenhanced
set output out
set multiplot layout 4,1 title sprintf("Acknowledged writes per 100 ms (one INSERT every 20 ms through HAProxy), %s profiles; fault at t = 0", profile)
set xlabel "seconds from the fault"
set ylabel "writes / 100 ms"
set yrange [0:7]
set ytics 0,1,6
set grid
set key top right
set style line 1 lc rgb "#1f77b4" lw 2
set style line 2 lc rgb "#d62728" lw 2

scenarios = "kill9 kill9ha stop switchover"
array titles[4]
titles[1] = "kill -9 of the leader's postmaster"
titles[2] = "kill -9 of the leader's patroni daemon (Patroni only: pg_ha has no daemon apart from postgres)"
titles[3] = "graceful stop of the leader (pg_ha: pg_ctl stop -m fast; Patroni: SIGTERM to the daemon)"
titles[4] = "switchover (pg_ha_ctl switchover --force; patronictl switchover --force)"

do for [i=1:4] {
	s = word(scenarios, i)
	set title titles[i]
	set xrange [-1:xmax(s)]
	if (fexists(dat('pg_ha', s)) && fexists(dat('patroni', s))) {
		plot dat('pg_ha', s) using 1:2 with steps ls 1 title 'pg_ha', \
		     dat('patroni', s) using 1:2 with steps ls 2 title 'Patroni'
	} else {
		if (fexists(dat('patroni', s))) {
			plot dat('patroni', s) using 1:2 with steps ls 2 title 'Patroni'
		} else {
			if (fexists(dat('pg_ha', s))) {
				plot dat('pg_ha', s) using 1:2 with steps ls 1 title 'pg_ha'
			} else {
				set label 1 "no data" at graph 0.5, 0.5 center
				plot NaN notitle
				unset label 1
			}
		}
	}
}
unset multiplot
