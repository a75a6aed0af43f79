/*
 * The REST API's handlers, one file per resource; the route table
 * (http/routes.c) says which permission and body limit each one has.
 */
#ifndef PB_API_API_H
#define PB_API_API_H

struct pb_request;

/* GET /healthz: {"status":"ok"}, or 503 when the control store does not answer. */
void
pb_api_healthz(struct pb_request *req);

#endif
