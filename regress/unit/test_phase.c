/*
 * Unit tests of the HA worker's phase (src/backend/worker/phase.c): each
 * transition, one event at a time from each phase, and what each phase
 * lets a round do.  The phase replaced the worker's flags (a demotion, a
 * promotion, a restart, a WAL repair started); the expectations are what
 * those flags did.
 */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "phase.h"
#include "unit_check.h"

#define NPHASES		(HA_PHASE_DEMOTING + 1)
#define NEVENTS		(HA_EV_PROMOTION_KEY_KEPT + 1)

static HaPhaseState
in_phase(HaPhase p)
{
	HaPhaseState s = ha_phase_initial();

	s.phase = p;
	return s;
}

static HaPhase
after(HaPhase p, HaPhaseEvent ev)
{
	return ha_phase_next(in_phase(p), ev, 0).phase;
}

static void
test_initial(void)
{
	HaPhaseState s = ha_phase_initial();

	CHECK(s.phase == HA_PHASE_IDLE);
	CHECK(s.restart_since_ms == 0);
	CHECK(s.claimed_timeline == 0);
	CHECK(!ha_phase_restarting(&s));
	CHECK_STR(ha_phase_name(HA_PHASE_IDLE), "idle");
	CHECK_STR(ha_phase_name(HA_PHASE_DEMOTING), "demoting");
	CHECK_STR(ha_phase_name(HA_PHASE_REPAIRING_WAL), "repairing WAL");
}

/*
 * Every transition: each phase, each event.  The events with an argument
 * (a restart, a claim) change no phase; their data is tested below.
 */
#define IDLE		HA_PHASE_IDLE
#define PROMOTING	HA_PHASE_PROMOTING
#define PROMOTED	HA_PHASE_PROMOTED
#define LEADING		HA_PHASE_PROMOTED_LEADING
#define REPAIRING	HA_PHASE_REPAIRING_WAL
#define DEMOTING	HA_PHASE_DEMOTING

static const HaPhase transitions[NPHASES][NEVENTS] = {
	/*
	 * asked, waited, led, WAL repair, demotion, restart started, restart
	 * ended, timeline claimed, promotion key kept
	 */
	[IDLE] = {PROMOTING, IDLE, IDLE, REPAIRING, DEMOTING, IDLE, IDLE, IDLE, IDLE},
	/* asked: the wait's look and the checkpoint owed, in either order */
	[PROMOTING] = {PROMOTING, PROMOTED, LEADING, PROMOTING, DEMOTING,
	PROMOTING, PROMOTING, PROMOTING, PROMOTING},
	/* waited for: the checkpoint owed */
	[PROMOTED] = {PROMOTING, PROMOTED, IDLE, PROMOTED, DEMOTING,
	PROMOTED, PROMOTED, PROMOTED, PROMOTED},
	/* led first: the wait owed, and only one checkpoint */
	[LEADING] = {PROMOTING, IDLE, LEADING, LEADING, DEMOTING,
	LEADING, LEADING, LEADING, LEADING},
	/* the standby restarts without the segment: only a demotion follows */
	[REPAIRING] = {REPAIRING, REPAIRING, REPAIRING, REPAIRING, DEMOTING,
	REPAIRING, REPAIRING, REPAIRING, REPAIRING},
	/* the server stops as a standby: nothing leaves it */
	[DEMOTING] = {DEMOTING, DEMOTING, DEMOTING, DEMOTING, DEMOTING,
	DEMOTING, DEMOTING, DEMOTING, DEMOTING},
};

static void
test_transitions(void)
{
	for (int p = 0; p < NPHASES; p++)
		for (int ev = 0; ev < NEVENTS; ev++)
		{
			HaPhase		got = after((HaPhase) p, (HaPhaseEvent) ev);

			CHECK(got == transitions[p][ev]);
			if (got != transitions[p][ev])
				printf("  from %s, event %d: %s, expected %s\n",
					   ha_phase_name((HaPhase) p), ev, ha_phase_name(got),
					   ha_phase_name(transitions[p][ev]));
		}
}

/* what each phase of a promotion owes, and the paths through them */
static void
test_promotion(void)
{
	HaPhaseState s;

	s = in_phase(HA_PHASE_PROMOTING);
	CHECK(ha_phase_checkpoint_due(&s) && ha_phase_polls_promotion(&s));
	s = in_phase(HA_PHASE_PROMOTED);
	CHECK(ha_phase_checkpoint_due(&s) && !ha_phase_polls_promotion(&s));
	s = in_phase(HA_PHASE_PROMOTED_LEADING);
	CHECK(!ha_phase_checkpoint_due(&s) && ha_phase_polls_promotion(&s));
	for (int p = 0; p < NPHASES; p++)
	{
		if (p == HA_PHASE_PROMOTING || p == HA_PHASE_PROMOTED ||
			p == HA_PHASE_PROMOTED_LEADING)
			continue;
		s = in_phase((HaPhase) p);
		CHECK(!ha_phase_checkpoint_due(&s) && !ha_phase_polls_promotion(&s));
	}

	/* the usual path: ask, wait, lead */
	s = ha_phase_initial();
	s = ha_phase_next(s, HA_EV_PROMOTE_ASKED, 0);
	s = ha_phase_next(s, HA_EV_PROMOTE_WAITED, 0);
	CHECK(ha_phase_checkpoint_due(&s));
	s = ha_phase_next(s, HA_EV_LED, 0);
	CHECK(s.phase == HA_PHASE_IDLE && !ha_phase_checkpoint_due(&s));

	/* the key given up and taken again before a wait: lead, then wait */
	s = ha_phase_initial();
	s = ha_phase_next(s, HA_EV_PROMOTE_ASKED, 0);
	s = ha_phase_next(s, HA_EV_LED, 0);
	CHECK(!ha_phase_checkpoint_due(&s) && ha_phase_polls_promotion(&s));
	s = ha_phase_next(s, HA_EV_LED, 0);
	CHECK(!ha_phase_checkpoint_due(&s));
	s = ha_phase_next(s, HA_EV_PROMOTE_WAITED, 0);
	CHECK(s.phase == HA_PHASE_IDLE);
}

/* a restart runs beside any phase, and changes none */
static void
test_restart(void)
{
	for (int p = 0; p < NPHASES; p++)
	{
		HaPhaseState s = ha_phase_next(in_phase((HaPhase) p),
									   HA_EV_RESTART_STARTED, 5000);

		CHECK(s.phase == (HaPhase) p);
		CHECK(ha_phase_restarting(&s) && s.restart_since_ms == 5000);
		CHECK(ha_phase_keeps_session(&s));
		s = ha_phase_next(s, HA_EV_RESTART_ENDED, 0);
		CHECK(s.phase == (HaPhase) p && !ha_phase_restarting(&s));
		CHECK(!ha_phase_keeps_session(&s));
	}
	/* the other events leave the restart alone */
	for (int ev = 0; ev < NEVENTS; ev++)
	{
		HaPhaseState s = ha_phase_initial();

		if (ev == HA_EV_RESTART_STARTED || ev == HA_EV_RESTART_ENDED)
			continue;
		s.restart_since_ms = 7000;
		s = ha_phase_next(s, (HaPhaseEvent) ev, 42);
		CHECK(s.restart_since_ms == 7000);
	}
}

static void
test_promote_step(void)
{
	HaPhaseState s;

	s = in_phase(HA_PHASE_IDLE);
	CHECK(ha_phase_promote_step(&s) == HA_PROMOTE_CHECK);
	s = in_phase(HA_PHASE_PROMOTING);
	CHECK(ha_phase_promote_step(&s) == HA_PROMOTE_ASK_AGAIN);
	s = in_phase(HA_PHASE_PROMOTED);
	CHECK(ha_phase_promote_step(&s) == HA_PROMOTE_ASK_AGAIN);
	s = in_phase(HA_PHASE_PROMOTED_LEADING);
	CHECK(ha_phase_promote_step(&s) == HA_PROMOTE_ASK_AGAIN);
	s = in_phase(HA_PHASE_REPAIRING_WAL);
	CHECK(ha_phase_promote_step(&s) == HA_PROMOTE_HOLD);
	s = in_phase(HA_PHASE_DEMOTING);
	CHECK(ha_phase_promote_step(&s) == HA_PROMOTE_HOLD);
	/* a restart under way does not hold a promotion back */
	s = ha_phase_next(in_phase(HA_PHASE_IDLE), HA_EV_RESTART_STARTED, 1);
	CHECK(ha_phase_promote_step(&s) == HA_PROMOTE_CHECK);
}

static void
test_claim(void)
{
	PgHaCluster c;
	HaPhaseState s = ha_phase_initial();

	memset(&c, 0, sizeof(c));
	c.has_promotion = true;
	c.promotion_timeline = 5;
	strcpy(c.promotion_member, "pg2");

	/* nothing claimed */
	CHECK(ha_phase_claim_reuse(&s, &c, "pg2", 3) == 0);
	s = ha_phase_next(s, HA_EV_TIMELINE_CLAIMED, 5);
	CHECK(s.claimed_timeline == 5 && s.phase == HA_PHASE_IDLE);
	/* ours, still recorded, not passed by PostgreSQL: taken again */
	CHECK(ha_phase_claim_reuse(&s, &c, "pg2", 3) == 5);
	CHECK(ha_phase_claim_reuse(&s, &c, "pg2", 5) == 5);
	/* PostgreSQL would go past it */
	CHECK(ha_phase_claim_reuse(&s, &c, "pg2", 6) == 0);
	/* another member's claim, or another ID, or no key */
	CHECK(ha_phase_claim_reuse(&s, &c, "pg3", 3) == 0);
	c.promotion_timeline = 6;
	CHECK(ha_phase_claim_reuse(&s, &c, "pg2", 3) == 0);
	c.promotion_timeline = 5;
	c.has_promotion = false;
	CHECK(ha_phase_claim_reuse(&s, &c, "pg2", 3) == 0);
	c.has_promotion = true;
	/* the leader keeps the key: the claim is forgotten */
	s = ha_phase_next(s, HA_EV_PROMOTION_KEY_KEPT, 0);
	CHECK(s.claimed_timeline == 0);
	CHECK(ha_phase_claim_reuse(&s, &c, "pg2", 3) == 0);
	/* the claim rides along the promotion's phases */
	s = ha_phase_next(s, HA_EV_TIMELINE_CLAIMED, 5);
	s = ha_phase_next(s, HA_EV_PROMOTE_ASKED, 0);
	s = ha_phase_next(s, HA_EV_PROMOTE_WAITED, 0);
	s = ha_phase_next(s, HA_EV_LED, 0);
	CHECK(s.claimed_timeline == 5);
}

static void
test_demote_and_end(void)
{
	HaPhaseState s;

	for (int p = 0; p < NPHASES; p++)
	{
		s = in_phase((HaPhase) p);
		CHECK(ha_phase_may_demote(&s) == (p != HA_PHASE_DEMOTING));
		CHECK(ha_phase_end(&s) == (p == HA_PHASE_DEMOTING ? HA_END_DEMOTION : HA_END_STOP));
		CHECK(!ha_phase_keeps_session(&s));
	}
	/* a demotion after a restart: told as a demotion, the session kept */
	s = ha_phase_next(ha_phase_initial(), HA_EV_RESTART_STARTED, 1);
	CHECK(ha_phase_end(&s) == HA_END_RESTART);
	CHECK(ha_phase_may_demote(&s));
	s = ha_phase_next(s, HA_EV_DEMOTION_STARTED, 0);
	CHECK(ha_phase_end(&s) == HA_END_DEMOTION);
	CHECK(ha_phase_keeps_session(&s));
}

static void
test_reinit(void)
{
	HaPhaseState s = ha_phase_initial();
	HaDecision	d;

	CHECK(ha_phase_reinit(&s, false) == HA_REINIT_NO_LEADER);
	CHECK(ha_phase_reinit(&s, true) == HA_REINIT_START);
	s = in_phase(HA_PHASE_PROMOTED);
	CHECK(ha_phase_reinit(&s, true) == HA_REINIT_START);
	s = in_phase(HA_PHASE_REPAIRING_WAL);
	CHECK(ha_phase_reinit(&s, true) == HA_REINIT_START);
	s = ha_phase_next(ha_phase_initial(), HA_EV_RESTART_STARTED, 1);
	CHECK(ha_phase_reinit(&s, true) == HA_REINIT_RESTARTING);
	CHECK(ha_phase_reinit(&s, false) == HA_REINIT_NO_LEADER);
	/* a demotion is named before a restart */
	s = ha_phase_next(s, HA_EV_DEMOTION_STARTED, 0);
	CHECK(ha_phase_reinit(&s, true) == HA_REINIT_DEMOTING);

	/* while it runs, nothing that would make this node lead */
	for (int a = HA_NOTHING; a <= HA_CLEAR_FAILOVER; a++)
	{
		bool		leads = a == HA_ACQUIRE || a == HA_PROMOTE || a == HA_INITIALIZE;

		memset(&d, 0, sizeof(d));
		d.action = (HaAction) a;
		strcpy(d.reason, "before");
		d.recheck_soon = true;
		d.wake_in_ms = 77;
		CHECK(ha_reinit_holds(&d) == leads);
		CHECK(d.action == (leads ? HA_NOTHING : (HaAction) a));
		CHECK_STR(d.reason, leads ? "this node is being reinitialized" : "before");
		/* the rest of the decision stays */
		CHECK(d.recheck_soon && d.wake_in_ms == 77);
	}
}

static void
test_unfit(void)
{
	int			ttl = 30000;

	/* not the holder, or leading: the time is forgotten */
	CHECK(ha_unfit_holder(false, HA_FENCE, 1000, 99000, ttl) == HA_UNFIT_NONE);
	CHECK(ha_unfit_holder(true, HA_KEEP_LEADER, 1000, 99000, ttl) == HA_UNFIT_NONE);
	CHECK(ha_unfit_holder(true, HA_CLEAR_FAILOVER, 1000, 99000, ttl) == HA_UNFIT_NONE);
	CHECK(ha_unfit_holder(true, HA_INITIALIZE, 1000, 99000, ttl) == HA_UNFIT_NONE);
	/* the holder that cannot lead: from now, then a ttl of it */
	CHECK(ha_unfit_holder(true, HA_FENCE, 0, 99000, ttl) == HA_UNFIT_SINCE_NOW);
	CHECK(ha_unfit_holder(true, HA_PROMOTE, 99000, 99000, ttl) == HA_UNFIT_WAIT);
	CHECK(ha_unfit_holder(true, HA_PROMOTE, 99000, 99000 + ttl - 1, ttl) == HA_UNFIT_WAIT);
	CHECK(ha_unfit_holder(true, HA_PROMOTE, 99000, 99000 + ttl, ttl) == HA_UNFIT_GIVE_UP);
	CHECK(ha_unfit_holder(true, HA_DEMOTE, 99000, 99000 + 2 * ttl, ttl) == HA_UNFIT_GIVE_UP);
	CHECK(ha_unfit_holder(true, HA_NOTHING, 99000, 99000 + ttl, ttl) == HA_UNFIT_GIVE_UP);
}

int
main(void)
{
	test_initial();
	test_transitions();
	test_promotion();
	test_restart();
	test_promote_step();
	test_claim();
	test_demote_and_end();
	test_reinit();
	test_unfit();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
