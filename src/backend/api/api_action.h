/*-------------------------------------------------------------------------
 *
 * api_action.h
 *	  The REST API's write requests, carried out by the HA worker between
 *	  rounds (api_action.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_ACTION_H
#define PG_HA_API_ACTION_H

#include "api_conn.h"

/*
 * Carry out an authorized write request: the answer in resp, or, for an
 * immediate switchover, failover or restart, what its client waits for in
 * wait (wait->kind != WAIT_NONE; api_wait.h).  Errors become a 500 for
 * this request alone.  Outside any MHD callback.
 */
extern void pgha_api_handle_write(const PgHaApiRequest *req, const char *body,
								  size_t len, PgHaApiResponse *resp,
								  ApiWait *wait);

#endif							/* PG_HA_API_ACTION_H */
