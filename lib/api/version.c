/* Version and status names. */
#include "dsmooth.h"

uint32_t ds_version(void) { return DS_VERSION_NUMBER; }

const char *ds_version_string(void) { return DS_VERSION_STRING; }

const char *ds_status_str(int32_t status) {
  switch (status) {
    case DS_OK: return "DS_OK";
    case DS_ERR_INVALID_ARGUMENT: return "DS_ERR_INVALID_ARGUMENT";
    case DS_ERR_OUT_OF_MEMORY: return "DS_ERR_OUT_OF_MEMORY";
    case DS_ERR_IO: return "DS_ERR_IO";
    case DS_ERR_BAD_FORMAT: return "DS_ERR_BAD_FORMAT";
    case DS_ERR_UNSUPPORTED_VERSION: return "DS_ERR_UNSUPPORTED_VERSION";
    case DS_ERR_SHAPE_MISMATCH: return "DS_ERR_SHAPE_MISMATCH";
    case DS_ERR_NUMERIC: return "DS_ERR_NUMERIC";
    case DS_ERR_BAD_STATE: return "DS_ERR_BAD_STATE";
    case DS_ERR_CANCELLED: return "DS_ERR_CANCELLED";
    case DS_ERR_UNSUPPORTED: return "DS_ERR_UNSUPPORTED";
    case DS_ERR_THREAD: return "DS_ERR_THREAD";
    case DS_ERR_INTERNAL: return "DS_ERR_INTERNAL";
    default: return "DS_ERR_UNKNOWN";
  }
}
