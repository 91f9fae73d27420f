/* Atomic replacement of a file's contents: through symbolic links to their target,
 * keeping the replaced file's mode (0666 minus the umask for a new file), via a locked
 * `<target>.tmp.XXXXXX` in the target's directory that is fsync'd and renamed; stale
 * temporaries of the same target (unlocked, over a minute old) are removed first. */
#ifndef DS_MODEL_FILE_REPLACE_H
#define DS_MODEL_FILE_REPLACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/context.h"

/* Replace `path` (or its symlinks' final target) by data[0, len). DS_ERR_IO with errno's
 * text or DS_ERR_OUT_OF_MEMORY; on failure the destination is untouched. */
ds_status ds__file_replace(ds_context *ctx, const char *fn, const char *path,
                           const uint8_t *data, size_t len);

#endif
