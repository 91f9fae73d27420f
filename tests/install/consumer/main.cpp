// A C++ program built against an installed libdsmooth (checks the extern "C" guards).
#include <dsmooth.h>

#include <cstdio>

int main() {
  ds_context *ctx = nullptr;
  if (ds_context_create(nullptr, &ctx) != DS_OK) return 1;
  std::printf("c++ consumer: libdsmooth %s, %d threads\n", ds_version_string(),
              static_cast<int>(ds_context_threads(ctx)));
  ds_context_free(ctx);
  return 0;
}
