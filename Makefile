# pg_ha: PGXS build of the extension, its CLI and its tests.
#
#   make && make install       build and install pg_ha and pg_ha_ctl
#   make installcheck          pg_regress + TAP tests (needs Consul: see README)
#   make unitcheck             unit tests of the pure C parts
#   make setup                 install every dependency (Debian 12)
#   make test                  the whole test command of the README

MODULE_big = pg_ha
OBJS = \
	src/pg_ha.o \
	src/state.o \
	src/ha_loop.o \
	src/ha_decide.o \
	src/dcs_consul.o \
	src/cluster.o \
	src/fence.o \
	src/node_ctl.o \
	src/sql_api.o \
	src/sql_actions.o \
	src/api.o \
	src/api_route.o \
	src/sync.o
PGFILEDESC = "pg_ha - high availability inside the postmaster"

EXTENSION = pg_ha
DATA = sql/pg_ha--0.1.sql

SHLIB_LINK = -lcurl -ljansson -lmicrohttpd
PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wmissing-prototypes

REGRESS = pg_ha_objects pg_ha_gucs
REGRESS_OPTS = --inputdir=regress --outputdir=regress \
	--temp-config=regress/pg_ha_regress.conf --temp-instance=regress/tmp_instance

TAP_TESTS = 1
PROVE_TESTS = regress/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# after the include: Makefile.global sets PROVE_FLAGS too
PROVE_FLAGS += -I regress/t

# PGXS tracks no header dependencies: a changed struct must rebuild all
$(OBJS): $(wildcard src/*.h)

CTL_DIR = src/bin/pg_ha_ctl

all: ctl
ctl:
	$(MAKE) -C $(CTL_DIR) PG_CONFIG=$(PG_CONFIG)
install: install-ctl
install-ctl: ctl
	$(MAKE) -C $(CTL_DIR) PG_CONFIG=$(PG_CONFIG) install
clean: clean-ctl clean-unit
clean-ctl:
	$(MAKE) -C $(CTL_DIR) PG_CONFIG=$(PG_CONFIG) clean

UNIT_TESTS = regress/unit/test_cluster regress/unit/test_ha_decide regress/unit/test_api_route
UNIT_CFLAGS = -std=c99 -Wall -Wextra -Werror -O1 -g -Isrc
regress/unit/test_cluster: regress/unit/test_cluster.c src/cluster.c src/cluster.h
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_cluster.c src/cluster.c -ljansson
regress/unit/test_ha_decide: regress/unit/test_ha_decide.c src/ha_decide.c src/ha_decide.h src/cluster.c src/cluster.h
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_ha_decide.c src/ha_decide.c src/cluster.c -ljansson
regress/unit/test_api_route: regress/unit/test_api_route.c src/api_route.c src/api_route.h src/cluster.c src/cluster.h
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_api_route.c src/api_route.c src/cluster.c -ljansson
unitcheck: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "--- $$t"; ./$$t || exit 1; done
clean-unit:
	rm -f $(UNIT_TESTS)

setup:
	scripts/setup.sh
test:
	scripts/test.sh

.PHONY: ctl install-ctl clean-ctl unitcheck clean-unit setup test
