/*-------------------------------------------------------------------------
 *
 * worker_wait.c
 *	  The HA worker's wait (see worker_wait.h).
 *
 * The HA worker serves the REST API from its own process (api.c), so every
 * wait of it watches the API's descriptor beside its latch: between rounds,
 * in a round's short pauses (sync.c), and, through the DCS client's own
 * hook, while a Consul request is under way.  A health check is answered
 * within milliseconds whatever the worker waits for.
 *
 * What this file is not for: the HTTP server itself, which only offers
 * its descriptor and a turn to serve what is pending (api.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/latch.h"

#include "api.h"
#include "state.h"
#include "worker_wait.h"

int
pgha_worker_wait(int events, long timeout_ms, uint32 wait_event_info)
{
	WaitEventSet *set;
	int64		deadline = pgha_monotonic_ms() + Max(timeout_ms, 0);
	int			api_fd = pgha_api_socket();
	int			rc = 0;

	if (api_fd < 0)
		return WaitLatch((events & WL_LATCH_SET) ? MyLatch : NULL, events,
						 timeout_ms, wait_event_info);

	set = CreateWaitEventSet(CurrentMemoryContext, 3);
	if (events & WL_LATCH_SET)
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	if (events & WL_EXIT_ON_PM_DEATH)
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	else if (events & WL_POSTMASTER_DEATH)
		AddWaitEventToSet(set, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(set, WL_SOCKET_READABLE, api_fd, NULL, NULL);

	while (rc == 0)
	{
		long		wait = pgha_api_timeout_ms();
		WaitEvent	event;

		if (events & WL_TIMEOUT)
		{
			int64		left = deadline - pgha_monotonic_ms();

			if (left <= 0)
			{
				rc = WL_TIMEOUT;
				break;
			}
			wait = Min(wait, (long) left);
		}

		if (WaitEventSetWait(set, wait, &event, 1, wait_event_info) == 1 &&
			!(event.events & WL_SOCKET_READABLE))
			rc = event.events;
		else if (pgha_api_serve_pending() && (events & WL_LATCH_SET))
		{
			/* a write request queued: the wait ends, as by the latch */
			rc = WL_LATCH_SET;
		}
	}
	FreeWaitEventSet(set);
	return rc;
}
