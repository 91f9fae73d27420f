/* libdsmooth version. CMake reads the three numbers below to set VERSION and SOVERSION;
 * keep each on its own line in this exact form. */
#ifndef DSMOOTH_VERSION_H
#define DSMOOTH_VERSION_H

#define DS_VERSION_MAJOR 0
#define DS_VERSION_MINOR 4
#define DS_VERSION_PATCH 0

#define DS__STR_(x) #x
#define DS__STR(x) DS__STR_(x)
/* "MAJOR.MINOR.PATCH" */
#define DS_VERSION_STRING \
  DS__STR(DS_VERSION_MAJOR) "." DS__STR(DS_VERSION_MINOR) "." DS__STR(DS_VERSION_PATCH)
/* MAJOR*10000 + MINOR*100 + PATCH, the value ds_version() returns. */
#define DS_VERSION_NUMBER \
  (DS_VERSION_MAJOR * 10000 + DS_VERSION_MINOR * 100 + DS_VERSION_PATCH)

#endif /* DSMOOTH_VERSION_H */
