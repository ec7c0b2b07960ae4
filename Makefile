# pg_ha: PGXS build of the extension, its CLI and its tests.
#
#   make && make install       build and install pg_ha and pg_ha_ctl
#   make installcheck          pg_regress + TAP tests (needs Consul: see README)
#   make unitcheck             unit tests of the pure C parts
#   make fuzz                  libFuzzer targets, FUZZ_SECONDS (10) each
#   make faultcheck            the fault suite in network namespaces (root)
#   make nemesis               the seeded fault campaign (root), NEMESIS_SECONDS
#   make setup                 install every dependency (Debian 12)
#   make deb                   Debian packages into build/deb/ (debian/, root not needed)
#   make test                  the whole test command of the README

MODULE_big = pg_ha
# the rooms of the layout (docs/architecture.md#the-layout)
OBJS_COMMON = src/common/cluster.o src/common/leader_key.o src/common/base64.o \
	src/common/lease_clock.o src/common/quote.o \
	src/common/operator_rules.o src/common/wal_check.o src/common/config_patch.o \
	src/common/json_util.o src/common/consul_parse.o src/common/member.o \
	src/common/member_tracker.o src/common/names.o src/common/iso_time.o \
	src/common/config_key.o src/common/history.o src/common/sync_key.o \
	src/common/restart_order.o
OBJS_BACKEND = src/backend/pg_ha.o src/backend/settings.o src/backend/state.o \
	src/backend/fence.o src/backend/sql_api.o src/backend/sql_actions.o
OBJS_WORKER = src/backend/worker/ha_loop.o src/backend/worker/ha_decide.o \
	src/backend/worker/sync.o src/backend/worker/node_ctl.o \
	src/backend/worker/member_record.o src/backend/worker/callbacks.o \
	src/backend/worker/timeline.o
# the HA worker's round: lease, node state, actions, promotion, restarts,
# and the pure phase and restart decision
OBJS_WORKER += src/backend/worker/lease.o src/backend/worker/node_state.o \
	src/backend/worker/actions.o src/backend/worker/promotion.o \
	src/backend/worker/restart.o src/backend/worker/phase.o \
	src/backend/worker/restart_decide.o
# the worker's local state (walsenders, WAL), pg_ha.conf, the sync plan, its wait
OBJS_WORKER += src/backend/worker/local_state.o src/backend/worker/conf_file.o \
	src/backend/worker/sync_plan.o src/backend/worker/worker_wait.o
OBJS_DCS = src/backend/dcs/dcs_consul.o
# the REST API's pure files (libc and jansson): unit tests and fuzzers link them
API_PURE = src/backend/api/api_route.c src/backend/api/api_request.c \
	src/backend/api/api_response.c src/backend/api/api_snapshot.c \
	src/backend/api/api_health.c src/backend/api/api_body.c \
	src/backend/api/api_metrics.c src/backend/api/api_write.c
OBJS_API = src/backend/api/api.o src/backend/api/api_tls.o $(API_PURE:.c=.o)
# the REST server's snapshot, write requests and waits for their outcome
OBJS_API += src/backend/api/api_collect.o src/backend/api/api_action.o \
	src/backend/api/api_wait.o
OBJS = $(OBJS_COMMON) $(OBJS_BACKEND) $(OBJS_WORKER) $(OBJS_DCS) $(OBJS_API)
PGFILEDESC = "pg_ha - high availability inside the postmaster"

EXTENSION = pg_ha
DATA = sql/pg_ha--0.1.sql sql/pg_ha--0.1--0.2.sql

SHLIB_LINK = -lcurl -ljansson -lmicrohttpd -lgnutls
# one -I per room of the layout (docs/architecture.md): the sources include
# each other's headers by plain name
SRC_DIRS = src/common src/backend src/backend/worker src/backend/dcs src/backend/api
PG_CPPFLAGS = $(addprefix -I$(srcdir)/,$(SRC_DIRS))
PG_CFLAGS = -Wall -Wmissing-prototypes

REGRESS = pg_ha_objects pg_ha_gucs pg_ha_privileges pg_ha_upgrade
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
$(OBJS): $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.h))

CTL_DIR = src/bin/pg_ha_ctl

all: ctl
ctl:
	$(MAKE) -C $(CTL_DIR) PG_CONFIG=$(PG_CONFIG)
install: install-ctl
install-ctl: ctl
	$(MAKE) -C $(CTL_DIR) PG_CONFIG=$(PG_CONFIG) install
clean: clean-ctl clean-unit clean-fuzz clean-deb
clean-ctl:
	$(MAKE) -C $(CTL_DIR) PG_CONFIG=$(PG_CONFIG) clean

# The pure part of src/common (libc and jansson only, no PostgreSQL
# headers): every unit test and fuzzer links all of it, so a file moved or
# split there changes this one line.
PURE_COMMON = src/common/cluster.c src/common/leader_key.c src/common/base64.c \
	src/common/lease_clock.c src/common/quote.c \
	src/common/operator_rules.c \
	src/common/config_patch.c src/common/json_util.c src/common/consul_parse.c \
	src/common/member.c src/common/member_tracker.c src/common/names.c \
	src/common/iso_time.c src/common/config_key.c src/common/history.c \
	src/common/sync_key.c src/common/restart_order.c src/common/etcd_json.c
PURE_COMMON_DEPS = $(PURE_COMMON) $(wildcard src/common/*.h) regress/unit/unit_check.h
UNIT_CFLAGS = -std=c99 -Wall -Wextra -Werror -O1 -g $(addprefix -I,$(SRC_DIRS))
UNIT_TESTS = regress/unit/test_cluster regress/unit/test_ha_decide regress/unit/test_api_route
regress/unit/test_cluster: regress/unit/test_cluster.c $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_cluster.c $(PURE_COMMON) -ljansson
regress/unit/test_ha_decide: regress/unit/test_ha_decide.c src/backend/worker/ha_decide.c src/backend/worker/ha_decide.h $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_ha_decide.c src/backend/worker/ha_decide.c $(PURE_COMMON) -ljansson
regress/unit/test_api_route: regress/unit/test_api_route.c regress/unit/metrics_text.h $(API_PURE) $(wildcard src/backend/api/api_*.h) $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_api_route.c $(API_PURE) $(PURE_COMMON) -ljansson
# the REST API's requests as they arrive, and its write requests
UNIT_TESTS += regress/unit/test_api_request regress/unit/test_api_write
regress/unit/test_api_request regress/unit/test_api_write: regress/unit/%: regress/unit/%.c $(API_PURE) $(wildcard src/backend/api/api_*.h) $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(API_PURE) $(PURE_COMMON) -ljansson
# the operator's rules of a switchover or failover (SQL, REST and pg_ha_ctl)
UNIT_TESTS += regress/unit/test_operator_rules
regress/unit/test_operator_rules: regress/unit/test_operator_rules.c $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_operator_rules.c $(PURE_COMMON) -ljansson
# etcd v3's JSON gateway: its answers and pg_ha's request bodies
UNIT_TESTS += regress/unit/test_etcd_json
regress/unit/test_etcd_json: regress/unit/test_etcd_json.c $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_etcd_json.c $(PURE_COMMON) -ljansson
# src/common's Consul answers, member records and tags, restart order, quoting
UNIT_TESTS += regress/unit/test_consul_parse regress/unit/test_member regress/unit/test_restart_order regress/unit/test_quote
regress/unit/test_consul_parse regress/unit/test_member regress/unit/test_restart_order regress/unit/test_quote: regress/unit/%: regress/unit/%.c $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(PURE_COMMON) -ljansson
# the callbacks' rule is inline in its header
UNIT_TESTS += regress/unit/test_callbacks
regress/unit/test_callbacks: regress/unit/test_callbacks.c regress/unit/unit_check.h src/backend/worker/callbacks.h src/backend/settings.h
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_callbacks.c
# the sync plan: the order of the sync key and synchronous_standby_names
UNIT_TESTS += regress/unit/test_sync_plan
regress/unit/test_sync_plan: regress/unit/test_sync_plan.c src/backend/worker/sync_plan.c src/backend/worker/sync_plan.h $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_sync_plan.c src/backend/worker/sync_plan.c $(PURE_COMMON) -ljansson
# the HA worker's phase and its restart decision
UNIT_TESTS += regress/unit/test_phase regress/unit/test_restart_decide
regress/unit/test_phase: regress/unit/test_phase.c src/backend/worker/phase.c src/backend/worker/phase.h src/backend/worker/ha_decide.h $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_phase.c src/backend/worker/phase.c $(PURE_COMMON) -ljansson
regress/unit/test_restart_decide: regress/unit/test_restart_decide.c src/backend/worker/restart_decide.c src/backend/worker/restart_decide.h src/backend/worker/phase.c src/backend/worker/phase.h $(PURE_COMMON_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ regress/unit/test_restart_decide.c src/backend/worker/restart_decide.c src/backend/worker/phase.c $(PURE_COMMON) -ljansson
# pg_ha_ctl's YAML is frontend code: PostgreSQL's headers, libpq, libpgcommon
UNIT_TESTS += regress/unit/test_ctl_yaml
CTL_YAML_FLAGS = -Isrc/common -I$(CTL_DIR) -I$(includedir_server) -I$(includedir_internal) -I$(includedir)
CTL_YAML_LIBS = -L$(pkglibdir) -lpgcommon -lpgport -L$(libdir) -lpq -ljansson -lyaml
regress/unit/test_ctl_yaml: regress/unit/test_ctl_yaml.c regress/unit/unit_check.h $(CTL_DIR)/yaml.c $(CTL_DIR)/yaml_read.c $(CTL_DIR)/pg_ha_ctl.h src/common/cluster.h
	$(CC) -std=gnu99 -Wall -Werror -O1 -g $(CTL_YAML_FLAGS) -o $@ regress/unit/test_ctl_yaml.c $(CTL_DIR)/yaml.c $(CTL_DIR)/yaml_read.c $(CTL_YAML_LIBS)
unitcheck: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "--- $$t"; ./$$t || exit 1; done
# the layout's rules (docs/architecture.md): no include circles among the
# files of src/common and src/backend, and src/common includes nothing of
# src/backend or src/bin
checklayout:
	scripts/check_layout.sh
unitcheck: checklayout
.PHONY: checklayout
clean-unit:
	rm -f $(UNIT_TESTS)

# libFuzzer targets of the parsers of outside data (see docs/testing.md).
# Built with clang into fuzz/build/, apart from the PGXS objects; run each
# for FUZZ_SECONDS on a scratch copy of its corpus in fuzz/corpus/<name>/.
FUZZ_CC = clang
FUZZ_SECONDS = 10
FUZZ_TARGETS = fuzz_cluster_json fuzz_consul_response fuzz_api_request
FUZZ_TARGETS += fuzz_etcd_json
FUZZ_BINS = $(addprefix fuzz/build/,$(FUZZ_TARGETS))
FUZZ_SRCS = $(PURE_COMMON) $(API_PURE) src/backend/worker/ha_decide.c
FUZZ_CFLAGS = -std=c99 -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(addprefix -I,$(SRC_DIRS))
$(FUZZ_BINS): fuzz/build/%: fuzz/%.c fuzz/fuzz_common.h regress/unit/metrics_text.h $(FUZZ_SRCS) $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.h))
	@mkdir -p fuzz/build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS) -ljansson
# pg_ha_ctl's YAML is frontend code: libpq's PQExpBuffer and libpgcommon
FUZZ_TARGETS += fuzz_ctl_yaml
fuzz/build/fuzz_ctl_yaml: fuzz/fuzz_ctl_yaml.c $(CTL_DIR)/yaml.c $(CTL_DIR)/yaml_read.c $(CTL_DIR)/pg_ha_ctl.h src/common/cluster.h
	@mkdir -p fuzz/build
	$(FUZZ_CC) -std=gnu99 -Wall -Werror -Wno-ignored-attributes -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(CTL_YAML_FLAGS) -o $@ fuzz/fuzz_ctl_yaml.c $(CTL_DIR)/yaml.c $(CTL_DIR)/yaml_read.c $(CTL_YAML_LIBS)
fuzz-build: $(FUZZ_BINS) fuzz/build/fuzz_ctl_yaml
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_TARGETS)
clean-fuzz:
	rm -rf fuzz/build

# The fault suite (regress/faults) runs as root: it creates network
# namespaces, then each test drops root for $PG_HA_TEST_USER (postgres).
# Run it in a tree that user may write to, as scripts/test.sh does.
FAULT_TESTS = regress/faults/*.pl
faultcheck:
	TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" \
	PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
	$(PROVE) $(PG_PROVE_FLAGS) $(PROVE_FLAGS) $(FAULT_TESTS)

# The nemesis (regress/nemesis): a seeded, randomized fault campaign with
# a checker of the invariants, root like the fault suite (docs/testing.md).
#   make nemesis NEMESIS_SECONDS=1800 NEMESIS_MODE=sync|async [NEMESIS_SEED=n]
NEMESIS_SECONDS ?= 180
NEMESIS_MODE ?=
NEMESIS_SEED ?=
nemesis:
	TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" \
	PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
	NEMESIS_SECONDS='$(NEMESIS_SECONDS)' NEMESIS_MODE='$(NEMESIS_MODE)' NEMESIS_SEED='$(NEMESIS_SEED)' \
	$(PROVE) $(PG_PROVE_FLAGS) $(PROVE_FLAGS) -I regress/nemesis --verbose regress/nemesis/nemesis.pl

setup:
	scripts/setup.sh
test:
	scripts/test.sh
# pg_ha against Patroni (bench/README.md); not part of the tests
bench:
	$(MAKE) -C bench bench BENCH_ARGS='$(BENCH_ARGS)'

# Debian packages postgresql-15-pg-ha and pg-ha-ctl (debian/, see
# docs/deployment.md).  pg_buildext builds, installs and cleans in the
# source tree, so dpkg-buildpackage runs in a copy of this one (the files
# git knows or would add, as they are now) in $(DEB_DIR)/pg-ha; the .debs,
# .buildinfo and .changes land in $(DEB_DIR), then lintian checks them and
# fails on an error.
DEB_DIR = build/deb
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/pg-ha
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			xargs -0 -r sh -c 'for f do [ -f "$$f" ] && printf "%s\0" "$$f"; done; true' sh | \
			tar --null -T - -cf - | tar -C $(DEB_DIR)/pg-ha -xf -; \
	else \
		tar --exclude=./.git --exclude=./build --exclude=./tools -cf - . | tar -C $(DEB_DIR)/pg-ha -xf -; \
	fi
	cd $(DEB_DIR)/pg-ha && dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_DIR)/pg-ha
	lintian --fail-on error $(DEB_DIR)/*.changes
	@echo "deb: packages in $(DEB_DIR):"; ls -1 $(DEB_DIR)/*.deb
clean-deb:
	rm -rf $(DEB_DIR)

.PHONY: ctl install-ctl clean-ctl unitcheck clean-unit fuzz fuzz-build clean-fuzz setup test bench faultcheck nemesis deb clean-deb
