/* parms.h — what every module's parameter section shares: the key-table
 * row, the size limits of string values, and the checking context.
 *
 * Each module owns the rows of its input sections (bf_X_keys in
 * src/MODULE/parms.c) and the verbs bf_print_X_parms and bf_check_X_parms;
 * input.c assembles the full table from the modules' tables.  The section
 * structs live in small headers (run_parms.h, nn_parms.h, ...) rather than
 * in the module headers because input.h nests them all into bf_params, and
 * the module headers include input.h: declaring them there would be
 * circular. */
#ifndef BRGFLOW_PARMS_H
#define BRGFLOW_PARMS_H

#include <stddef.h>
#include <stdio.h>

#define BF_PATH_MAX 1024
#define BF_NAME_MAX 32

typedef struct bf_params bf_params; /* input.h */

typedef enum { BF_KEY_U64, BF_KEY_INT, BF_KEY_REAL, BF_KEY_STR, BF_KEY_ENUM } bf_key_type;

/* NO_RESULT keys: output names the file, the checkpoint intervals and
 * save_theta change only what is written, the rank groups and block size
 * only the distribution (theory.md (f)). */
enum { BF_NO_RESULT = 0, BF_RESULTS = 1 };

/* One key: its type, where it lives in bf_params, default, unit, range
 * and meaning; parsing, validation, the effective text and docs/inputs.md
 * all read these rows, so a new key is one row in its module. */
typedef struct bf_key {
  const char *section, *key;
  bf_key_type type;
  size_t offset; /* offsetof(bf_params, section.field) */
  const char *deflt;
  const char *unit;
  double lo, hi; /* inclusive range for numbers */
  int lo_open;   /* 1: value must be > lo */
  const char *choices; /* "a|b|c" for BF_KEY_ENUM */
  const char *doc;
  int changes; /* BF_RESULTS, or BF_NO_RESULT: a restart may change the key */
} bf_key;

/* A module's rows, in the order of the effective text and the docs. */
typedef struct bf_key_table {
  const bf_key *keys;
  int n;
} bf_key_table;

/* The rows of `table` as `key = value` lines under their [section]
 * headers: the body of every bf_print_X_parms (input.c). */
void bf_print_keys(FILE *out, const bf_params *p, const bf_key_table *table);

/* Checking context: input.c's parse state, which knows where each key came
 * from (file line, --set, default).  The bf_check_X_parms verbs refuse
 * through it, so every message names the key and its origin; each returns
 * 1 if the section is fine, else 0 with the first message kept. */
typedef struct bf_check bf_check;
/* [section] key, with its effective value, refused for `why`. */
int bf_check_fail(bf_check *c, const char *section, const char *key, const char *why);
/* Refuse one of two keys: the one given (the first when both are). */
int bf_check_pair_fail(bf_check *c, const char *s1, const char *k1, const char *s2,
                       const char *k2, const char *why);
/* Whether [section] key was given with a value other than its default. */
int bf_check_changed(bf_check *c, const char *section, const char *key);
/* Up to max comma-separated numbers of s: the count, or -1. */
int bf_parse_list(const char *s, double *out, int max);
/* Copy [b,e) into out (n bytes), trimmed of blanks. */
void bf_trim_copy(const char *b, const char *e, char *out, size_t n);

#endif
