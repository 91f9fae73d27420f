/* Data files for the command line: read .npy, IDX (gzip'd or not, any file name) and CSV
 * into float rows; write .npy. The format is recognised by the content, not the name:
 * "\x93NUMPY" is NumPy, two zero bytes then a type code is IDX, anything else is CSV (each
 * possibly gzip'd: the files are read through zlib, which passes plain files through).
 *
 * Shapes: an array (n, ...) is n rows of the trailing dimensions. Rows of images keep
 * their shape (height, width[, channels]) so a grid can be drawn; everything is stored in
 * the library's layout, x[(i * width + j) * channels + c]. 8-bit data (IDX ubyte, NumPy
 * uint8) is mapped to [-1, 1] as (v / 255 - 0.5) * 2, what the image models expect. */
#ifndef DS_EXAMPLE_ARRAYS_H
#define DS_EXAMPLE_ARRAYS_H

#include <stddef.h>
#include <stdint.h>

typedef enum data_format { DATA_NPY, DATA_IDX, DATA_CSV } data_format;

typedef struct data_array {
  float *x;          /* (n, dim)                                                      */
  int64_t n, dim;
  int ndim;          /* dimensions of one row: 1 (a vector) or 2..3 (an image)          */
  int64_t shape[3];  /* shape of one row: (dim) or (height, width[, channels])         */
  int from_bytes;    /* 1 if 8-bit values were mapped to [-1, 1]                        */
  data_format format;
} data_array;

/* Read at most `limit` rows (limit <= 0: all). Returns 0, or -1 with a sentence naming
 * the file and what is wrong in err. */
int data_load(const char *path, int64_t limit, data_array *out, char *err, size_t err_size);
void data_free(data_array *a);
const char *data_format_name(data_format f);

/* Write a C-order float32 .npy file of shape (shape[0], ..., shape[ndim-1]), ndim 1..4.
 * Returns 0, or -1 with errno set. */
int npy_write_f32(const char *path, const float *x, int ndim, const int64_t *shape);

/* A float64 .npy vector (n,): 0, or -1 with errno set. */
int npy_write_f64(const char *path, const double *v, int64_t n);

#endif
