/* A program built against an installed libdsmooth: smooth a few points and check the
 * version of the library it actually loaded matches the headers it compiled with. */
#include <dsmooth.h>
#include <stdio.h>

int main(void) {
  ds_context *ctx = NULL;
  ds_smoother *sm = NULL;
  float x[4] = {0, 1, 2, 3}, xt[4];
  if (ds_version() != DS_VERSION_NUMBER) {
    fprintf(stderr, "header %s but library %s\n", DS_VERSION_STRING, ds_version_string());
    return 1;
  }
  if (ds_context_create(NULL, &ctx) != DS_OK) return 1;
  if (ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm) != DS_OK) return 1;
  if (ds_smoother_apply(sm, x, 2, 2, 0, xt) != DS_OK) return 1;
  printf("consumer: libdsmooth %s, x~[0] = %.4f\n", ds_version_string(), xt[0]);
  ds_smoother_free(sm);
  ds_context_free(ctx);
  return 0;
}
