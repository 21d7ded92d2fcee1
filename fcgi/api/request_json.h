/*
 * request_json.h — the JSON pieces of request.c that the other body parsers
 * (request_drops.c) share, so that every body is held to the same rules:
 * strict UTF-8 JSON, one object, integers as JSON integers, buyers checked
 * the one way. Pure, like request.h.
 */
#ifndef LI_REQUEST_JSON_H
#define LI_REQUEST_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "problem.h"

/*
 * Writes the detail sentence (when a buffer is given) and returns code: how
 * every parser refuses.
 */
enum problem_code request_fail(enum problem_code code, char *detail,
    size_t size, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Parses body as one JSON object. Returns PROBLEM_NONE and *obj (the
 * caller's to json_object_put), or a 400 with a detail.
 */
enum problem_code request_parse_object(const char *body, size_t len,
    struct json_object **obj, char *detail, size_t size);

/*
 * Reads an integer field from min to max into *out when present. Returns
 * PROBLEM_NONE (with *present set) or a 400 naming the field and its range.
 */
enum problem_code request_int_field(struct json_object *obj, const char *name,
    long long min, long long max, int *out, int *present, char *detail,
    size_t size);

/* Checks a buyer name: 1 … 64 characters, none a control character. */
enum problem_code request_buyer_valid(const char *s, size_t len, char *detail,
    size_t size);

#endif
