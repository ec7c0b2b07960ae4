/*-------------------------------------------------------------------------
 *
 * api_response.c
 *	  Building and freeing the REST API's answers.
 *
 * The few ways an answer is filled in: an error as Patroni's JSON, a text
 * or JSON body copied from a string.  The documents themselves are built
 * elsewhere (api_body.c, api_metrics.c).
 *
 * Pure: libc only.  What this file is not for: choosing a status or a
 * body.
 *
 *-------------------------------------------------------------------------
 */
#include "api_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pgha_api_response_reset(PgHaApiResponse *resp)
{
	resp->status = 500;
	resp->content_type = NULL;
	resp->body = NULL;
	resp->body_len = 0;
	resp->allow = false;
	resp->allow_methods = NULL;
}

void
pgha_api_set_body(PgHaApiResponse *resp, const char *content_type,
				  const char *text)
{
	size_t		n = strlen(text);

	resp->body = malloc(n + 1);
	if (resp->body == NULL)
	{
		resp->body_len = 0;
		resp->content_type = NULL;
		return;
	}
	memcpy(resp->body, text, n + 1);
	resp->body_len = n;
	resp->content_type = content_type;
}

void
pgha_api_error_response(PgHaApiResponse *resp, int status, const char *message)
{
	char		buf[512];

	pgha_api_response_reset(resp);
	resp->status = status;
	/* messages are constants without quotes or backslashes */
	snprintf(buf, sizeof(buf), "{\"error\": \"%s\"}", message);
	pgha_api_set_body(resp, PGHA_API_CT_JSON, buf);
}

void
pgha_api_text_response(PgHaApiResponse *resp, int status, const char *text)
{
	pgha_api_response_reset(resp);
	resp->status = status;
	pgha_api_set_body(resp, "text/plain; charset=utf-8", text);
}

void
pgha_api_json_response(PgHaApiResponse *resp, int status, const char *json)
{
	pgha_api_response_reset(resp);
	resp->status = status;
	pgha_api_set_body(resp, PGHA_API_CT_JSON, json);
}

void
pgha_api_response_free(PgHaApiResponse *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->content_type = NULL;
}
