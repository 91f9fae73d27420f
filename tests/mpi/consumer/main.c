/* A program built against an installed libdsmooth_mpi (CMake package and pkg-config). */
#include <dsmooth_mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  ds_mpi *mpi = NULL;
  if (ds_mpi_create(MPI_COMM_WORLD, NULL, &mpi) != DS_OK) return 1;
  int ok = ds_mpi_agree(mpi, DS_OK) == DS_OK;
  printf("consumer: rank %d of %d, libdsmooth %s%s\n", (int)ds_mpi_rank(mpi),
         (int)ds_mpi_size(mpi), ds_version_string(), ok ? "" : " (agree failed)");
  ds_mpi_free(mpi);
  MPI_Finalize();
  return ok ? 0 : 1;
}
