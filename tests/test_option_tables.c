/* The option tables (lib/model/model_options.c, trainer_options.c) against themselves, the
 * public setters and getters, and the manual: every row well formed, one row per
 * enumerator of include/dsmooth.h with the same value, the ranges and defaults the header
 * documents equal to the table's, the bounds accepted and one past them refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/config.h"
#include "model/options.h"
#include "model/trainer.h"

static const ds__option_table *const tables[] = {&ds__model_options, &ds__trainer_options};
#define N_TABLES 2

/* ---- the header as text ---- */

static char *header_text(void) {
  FILE *f = fopen(DS_HEADER_PATH, "rb");
  assert_non_null(f);
  char *text = malloc(1 << 20);
  assert_non_null(text);
  size_t n = fread(text, 1, (1 << 20) - 1, f);
  fclose(f);
  text[n] = '\0';
  return text;
}

/* The body of `typedef enum name { ... }` (a copy), or fail. */
static char *enum_body(const char *text, const char *name) {
  char open[128];
  snprintf(open, sizeof open, "typedef enum %s {", name);
  const char *b = strstr(text, open);
  if (!b) fail_msg("header: no %s", open);
  b += strlen(open);
  const char *e = strstr(b, "} ");
  assert_non_null(e);
  char *body = malloc((size_t)(e - b) + 1);
  memcpy(body, b, (size_t)(e - b));
  body[e - b] = '\0';
  return body;
}

/* Value of `NAME = v` in body (-1000 if absent) and its comment, whitespace collapsed. */
static long enumerator(const char *body, const char *name, char *comment, size_t size) {
  char key[128];
  snprintf(key, sizeof key, "%s = ", name);
  const char *p = body;
  while ((p = strstr(p, key)) && p > body && (p[-1] == '_' || (p[-1] >= 'A' && p[-1] <= 'Z')))
    p += strlen(key);
  if (!p) return -1000;
  long v = strtol(p + strlen(key), NULL, 0);
  if (comment) {
    comment[0] = '\0';
    const char *c = strstr(p, "/*"), *end = c ? strstr(c, "*/") : NULL;
    const char *next = strstr(p + strlen(key), "DS_");
    /* the enumerator's own comment: before the next enumerator (or its comment line) */
    if (c && end && (!next || c < next)) {
      size_t n = 0;
      for (const char *s = c + 2; s < end && n + 1 < size; s++)
        if (!(*s == ' ' || *s == '\n') || (n > 0 && comment[n - 1] != ' '))
          comment[n++] = *s == '\n' ? ' ' : *s;
      comment[n] = '\0';
    }
  }
  return v;
}

/* Enumerators start a line, indented by two spaces (continued comments by more). */
static int count_enumerators(const char *body) {
  int n = 0;
  for (const char *p = body; (p = strstr(p, "\n  DS_")); p += 6) n++;
  return n;
}

/* "1..2^20" -> 1048576 */
static int64_t parse_number(const char *s, char **end) {
  int64_t v = strtoll(s, end, 10);
  if (**end == '^') {
    int64_t e = strtoll(*end + 1, end, 10), base = v;
    v = 1;
    while (e-- > 0) v *= base;
  }
  return v;
}

/* ---- tests ---- */

/* Field widths the engine handles, int32 ranges that fit, stored rows with a section and
 * a format version that exists, defaults inside the range (or 0 = unset / derived). */
static void test_rows_are_well_formed(void **state) {
  (void)state;
  for (int t = 0; t < N_TABLES; t++) {
    for (int32_t i = 0; i < tables[t]->count; i++) {
      const ds__option *o = &tables[t]->rows[i];
      if (o->kind == DS__OPT_HIDDEN) continue;
      assert_true(o->size == 4 || o->size == 8);
      assert_true(o->since >= 0 && o->since <= (int32_t)DS__CHECKPOINT_VERSION);
      if (o->since > 0 && t == 0) assert_non_null(o->section);
      if (o->kind == DS__OPT_INT) {
        assert_true(o->imin <= o->imax);
        if (o->size == 4) assert_true(o->imin >= INT32_MIN && o->imax <= INT32_MAX);
        if (o->idefault < o->imin || o->idefault > o->imax)
          assert_true(o->idefault == 0); /* required size, unset until given */
      } else {
        assert_true(o->fmin <= o->fmax);
        assert_true(o->fdefault >= o->fmin && o->fdefault <= o->fmax);
      }
    }
  }
}

/* Each kind's ids are 0..n-1 once each, and the header has exactly those enumerators
 * with those values. */
static void test_one_row_per_enumerator(void **state) {
  (void)state;
  char *text = header_text();
  for (int t = 0; t < N_TABLES; t++) {
    for (int32_t kind = DS__OPT_INT; kind <= DS__OPT_FLOAT; kind++) {
      const char *enum_name = kind == DS__OPT_INT ? tables[t]->int_enum : tables[t]->float_enum;
      char *body = enum_body(text, enum_name);
      int n = 0;
      for (int32_t i = 0; i < tables[t]->count; i++) {
        const ds__option *o = &tables[t]->rows[i];
        if (o->kind != kind) continue;
        n++;
        assert_ptr_equal(ds__option_find(tables[t], kind, o->id), o);
        long v = enumerator(body, o->name, NULL, 0);
        if (v != o->id) fail_msg("%s: header %ld, table %d", o->name, v, (int)o->id);
      }
      for (int32_t id = 0; id < n; id++) assert_non_null(ds__option_find(tables[t], kind, id));
      if (count_enumerators(body) != n)
        fail_msg("%s: %d enumerators in the header, %d rows", enum_name,
                 count_enumerators(body), n);
      free(body);
    }
  }
  free(text);
}

/* The default in brackets at the end of each enumerator's comment, and any "a..b",
 * ">= a" or float interval it gives, are the table's. */
static void test_header_documents_the_table(void **state) {
  (void)state;
  char *text = header_text();
  int checked_ranges = 0;
  for (int t = 0; t < N_TABLES; t++) {
    for (int32_t i = 0; i < tables[t]->count; i++) {
      const ds__option *o = &tables[t]->rows[i];
      if (o->kind == DS__OPT_HIDDEN) continue;
      char *body = enum_body(text, o->kind == DS__OPT_INT ? tables[t]->int_enum
                                                          : tables[t]->float_enum);
      char doc[4096];
      enumerator(body, o->name, doc, sizeof doc);
      free(body);
      /* default: the last "(...)" */
      char *open = strrchr(doc, '('), *close = open ? strchr(open, ')') : NULL;
      if (!open || !close) fail_msg("%s: no (default) in its comment: %s", o->name, doc);
      *close = '\0';
      const char *dflt = open + 1;
      if (!strcmp(dflt, "none") || !strcmp(dflt, "unset") || !strcmp(dflt, "derived")) {
        assert_true(o->kind == DS__OPT_INT && (o->idefault == 0 || o->has_flag));
      } else if (o->kind == DS__OPT_FLOAT) {
        if (strtod(dflt, NULL) != o->fdefault)
          fail_msg("%s: header default %s, table %g", o->name, dflt, o->fdefault);
      } else if (o->enum_type) { /* an enumerator of its enum, by its last word */
        char *eb = enum_body(text, o->enum_type), key[64];
        snprintf(key, sizeof key, "_%s", dflt);
        char *hit = strstr(eb, key);
        if (!hit || strtol(strstr(hit, "=") + 1, NULL, 0) != o->idefault)
          fail_msg("%s: header default %s is not %lld", o->name, dflt, (long long)o->idefault);
        free(eb);
      } else if (strtoll(dflt, NULL, 10) != o->idefault) {
        fail_msg("%s: header default %s, table %lld", o->name, dflt, (long long)o->idefault);
      }
      *close = ')';
      /* ranges */
      if (o->kind == DS__OPT_INT) {
        for (char *p = doc; (p = strstr(p, "..")); p += 2) {
          char *s = p;
          while (s > doc && s[-1] >= '0' && s[-1] <= '9') s--;
          char *end;
          int64_t lo = parse_number(s, &end), hi = parse_number(p + 2, &end);
          if (end == p + 2) continue; /* not "a..b" */
          checked_ranges++;
          if (lo != o->imin || hi != o->imax)
            fail_msg("%s: header %lld..%lld, table %lld..%lld", o->name, (long long)lo,
                     (long long)hi, (long long)o->imin, (long long)o->imax);
        }
        char *ge = strstr(doc, ">= ");
        if (ge && ge < doc + 8) { /* the option's own bound leads its comment: "D >= 1" */
          checked_ranges++;
          if (strtoll(ge + 3, NULL, 10) != o->imin)
            fail_msg("%s: header %s, table min %lld", o->name, ge, (long long)o->imin);
        }
      } else {
        for (char *p = doc; *p; p++) {
          if (*p != '[' && *p != '(') continue;
          char *end, *end2;
          double lo = strtod(p + 1, &end);
          if (end == p + 1 || strncmp(end, ", ", 2) != 0) continue;
          double hi = strtod(end + 2, &end2);
          if (end2 == end + 2 || (*end2 != ']' && *end2 != ')')) continue;
          checked_ranges++;
          int bounds = (*p == '(' ? DS__LO_OPEN : 0) | (*end2 == ')' ? DS__HI_OPEN : 0);
          if (lo != o->fmin || hi != o->fmax || bounds != (o->bounds & ~DS__HI_AS_FLOAT))
            fail_msg("%s: header %.*s, table %g..%g bounds %d", o->name, (int)(end2 - p + 1),
                     p, o->fmin, o->fmax, o->bounds);
          int as_float = strstr(doc, "as a float") || strstr(doc, "rounded to float");
          assert_int_equal(as_float, (o->bounds & DS__HI_AS_FLOAT) != 0);
        }
      }
    }
  }
  assert_true(checked_ranges >= 15);
  free(text);
}

static ds_status set_int(int t, void *cfg, int32_t arch, const ds__option *o, int64_t v) {
  return ds__option_set_int(tables[t], cfg, arch, o->id, v, "test");
}

/* Fresh configurations hold the defaults; every architecture that has an int option
 * takes its bounds (the max only where no check narrows it) and refuses one past them,
 * and the getter reads back what was set; float options likewise at closed bounds. */
static void test_bounds_defaults_and_getters(void **state) {
  (void)state;
  const int32_t archs[] = {DS_ARCH_MADE, DS_ARCH_PIXELCNNPP, DS_ARCH_PIXELCNN};
  for (int t = 0; t < N_TABLES; t++) {
    for (size_t a = 0; a < (t == 0 ? 3u : 1u); a++) {
      ds_model_config mc;
      ds_trainer_config tc;
      void *cfg = t == 0 ? (void *)&mc : (void *)&tc;
      int32_t arch = t == 0 ? archs[a] : 0;
      for (int32_t i = 0; i < tables[t]->count; i++) {
        const ds__option *o = &tables[t]->rows[i];
        if (o->kind == DS__OPT_HIDDEN || !ds__option_applies(o, arch)) continue;
        if (t == 0) ds__model_config_defaults(&mc, arch);
        else ds__trainer_config_defaults(&tc);
        int64_t iv = 0;
        double fv = 0;
        if (o->kind == DS__OPT_INT) {
          assert_int_equal(ds__option_get_int(tables[t], cfg, arch, o->id, &iv, "t"), DS_OK);
          assert_int_equal(iv, o->idefault);
          assert_int_equal(set_int(t, cfg, arch, o, o->imin), DS_OK);
          assert_int_equal(ds__option_get_int(tables[t], cfg, arch, o->id, &iv, "t"), DS_OK);
          assert_int_equal(iv, o->imin);
          if (!o->check) assert_int_equal(set_int(t, cfg, arch, o, o->imax), DS_OK);
          if (o->imin > INT64_MIN) {
            assert_int_equal(set_int(t, cfg, arch, o, o->imin - 1), DS_ERR_INVALID_ARGUMENT);
            assert_non_null(strstr(ds_context_last_error(NULL), o->name));
          }
          if (o->imax < INT64_MAX) {
            assert_int_equal(set_int(t, cfg, arch, o, o->imax + 1), DS_ERR_INVALID_ARGUMENT);
            assert_non_null(strstr(ds_context_last_error(NULL), o->name));
          }
        } else {
          assert_int_equal(ds__option_get_float(tables[t], cfg, arch, o->id, &fv, "t"), DS_OK);
          assert_true(fv == (o->size == 4 ? (double)(float)o->fdefault : o->fdefault));
          ds_status lo = ds__option_set_float(tables[t], cfg, arch, o->id, o->fmin, "t");
          assert_int_equal(lo, o->bounds & DS__LO_OPEN ? DS_ERR_INVALID_ARGUMENT : DS_OK);
          if (isfinite(o->fmax)) {
            ds_status hi = ds__option_set_float(tables[t], cfg, arch, o->id, o->fmax, "t");
            assert_int_equal(hi, o->bounds & DS__HI_OPEN ? DS_ERR_INVALID_ARGUMENT : DS_OK);
          }
          assert_int_equal(ds__option_set_float(tables[t], cfg, arch, o->id, NAN, "t"),
                           DS_ERR_INVALID_ARGUMENT);
          assert_non_null(strstr(ds_context_last_error(NULL), o->name));
        }
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_are_well_formed),
      cmocka_unit_test(test_one_row_per_enumerator),
      cmocka_unit_test(test_header_documents_the_table),
      cmocka_unit_test(test_bounds_defaults_and_getters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
