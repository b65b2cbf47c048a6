/*
 * main.c - the `dtensor` command: MPI start-up, dispatch, usage, messages.
 */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

static const char usage_head[] =
    "usage: mpirun -np N dtensor COMMAND [OPTIONS]\n"
    "\n"
    "Distributed tensors with PyTorch's creation semantics.\n"
    "Same seed, same tensor, same checksum at any rank and thread count.\n"
    "\n"
    "commands ('dtensor COMMAND --help' shows one):\n";

static const char usage_tour[] =
    "  tour\n"
    "            walk through PyTorch's creation functions live across the\n"
    "            ranks, showing each tensor and how it is split\n";

static const char usage_make[] =
    "  make FACTORY [options]\n"
    "            create one tensor and print its layout-invariant checksum\n"
    "            FACTORY: empty zeros ones full rand randn randint arange\n"
    "                     linspace logspace eye tensor\n"
    "              --shape 1000,64   global shape (default 10; eye: n or n,m)\n"
    "              --dtype NAME      float32 float64 int32 int64 bool\n"
    "              --split AXIS|none split axis (default 0); none = "
    "replicated\n"
    "              --seed S          torch.manual_seed(S) first\n"
    "              --start X --end X --step X   arange (default 0, 10, 1),\n"
    "                                linspace/logspace bounds (default 0, 1)\n"
    "              --steps N         linspace/logspace points (default 5)\n"
    "              --base B          logspace base (default 10)\n"
    "              --value V         full's fill value (default 0)\n"
    "              --low L --high H  randint range [L, H) (default 0, 10)\n"
    "              --data LITERAL    tensor: e.g. \"[[1, 2], [3, 4]]\"\n"
    "              --print           also print the tensor (PyTorch repr)\n"
    "              --out FILE        save it to the checkpoint FILE (HDF5)\n"
    "              --name NAME       its name there (default: tensor)\n"
    "              --deflate N       compress it there (zlib level 1..9;\n"
    "                                chunked, 1 MiB chunks by default)\n"
    "              --chunk BYTES     chunked storage, chunks of at most BYTES\n"
    "                                (1 KiB .. 1 GiB)\n"
    "              --shuffle         byte-shuffle before deflate (chunked)\n"
    "            scalars follow Python: 2 is an int, 2.0 / 2e0 / inf a float\n";

static const char usage_bench[] =
    "  bench [FAMILY...] [--ops a,b] [--size BYTES] [--scaling weak|strong]\n"
    "        [--reps N] [--dtype a,b] [--dir DIR] [--json FILE] [--csv FILE]\n"
    "        [--quiet]\n"
    "            time operations against limits measured in the same run\n"
    "            (FAMILY: factories copy compute io latency; default all);\n"
    "            rows: median/min/max of the slowest rank, GB/s or us,\n"
    "            the limit, ratio, target, ok/below ('dtensor bench --help')\n";

static const char usage_inspect[] =
    "  inspect FILE [--dataset NAME]\n"
    "            list the tensors of a checkpoint (name, dtype, shape, saved\n"
    "            layout, requires_grad, gradient) and verify every checksum;\n"
    "            exits non-zero when one does not match; then list any HDF5\n"
    "            file's other datasets (type, shape, chunks, filters);\n"
    "            --dataset NAME: load that dataset (dt_load_dataset) and\n"
    "            print its checksum\n";

static const char usage_tail[] =
    "  help      this text\n"
    "\n"
    "  --version print the version (dtensor X.Y.Z, commit, HDF5, MPI, "
    "kernels)\n"
    "\n"
    "example: mpirun -np 4 dtensor make randn --shape 37,5 --seed 7 --print\n";

void cli_usage(const cli_env *env, FILE *f) {
  if (env->rank != 0)
    return;
  fputs(usage_head, f);
  fputs(usage_tour, f);
  fputs(usage_make, f);
  fputs(usage_bench, f);
  fputs(usage_inspect, f);
  fputs(usage_tail, f);
}

bool cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return true;
  return false;
}

int cli_fail(const cli_env *env, const char *fmt, ...) {
  if (env->rank != 0)
    return 1;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", env->name);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int cli_fail_lib(const cli_env *env, dt_err err) {
  const char *msg = dt_last_error();
  if (!msg || !msg[0])
    msg = dt_strerror(err);
  return cli_fail(env, "%s (%s)", msg, dt_err_name(err));
}

typedef struct command {
  const char *name;
  int (*run)(const cli_env *env, int argc, char **argv);
  const char *label; /* for messages */
  const char *usage; /* its --help text; NULL: the command prints its own */
} command;

static const command commands[] = {
    {"tour", cli_tour, "dtensor tour", usage_tour},
    {"make", cli_make, "dtensor make", usage_make},
    {"bench", cli_bench, "dtensor bench", NULL},
    {"inspect", cli_inspect, "dtensor inspect", usage_inspect},
};

static int dispatch(cli_env *env, int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "help") == 0 ||
      strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    cli_usage(env, stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    if (env->rank == 0) {
      char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "unknown";
      int len = 0;
      MPI_Get_library_version(mpi, &len);
      mpi[strcspn(mpi, "\n,")] = '\0';
      printf("dtensor %s\ncommit %s\nHDF5 %s\nMPI %s\nkernels %s\n",
             dt_version(), dt_build_info("git_commit"), dt_build_info("hdf5"),
             mpi, dt_build_info("kernels"));
    }
    return 0;
  }
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (strcmp(argv[1], commands[k].name) == 0) {
      env->name = commands[k].label;
      /* `dtensor make --help`: that command's usage, not everything */
      if (commands[k].usage && cli_wants_help(argc - 1, argv + 1)) {
        if (env->rank == 0)
          printf("usage: mpirun -np N dtensor %s\n", commands[k].usage + 2);
        return 0;
      }
      return commands[k].run(env, argc - 1, argv + 1);
    }
  return cli_fail(env, "unknown command '%s' (try 'dtensor help')", argv[1]);
}

int main(int argc, char **argv) {
  /* FUNNELED: OpenMP threads compute inside the library, only the main thread
   * talks to MPI. */
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS) {
    fprintf(stderr, "dtensor: MPI_Init_thread failed\n");
    return 1;
  }
  cli_env env = {0, 1, "dtensor"};
  MPI_Comm_rank(MPI_COMM_WORLD, &env.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &env.size);

  int status = dispatch(&env, argc, argv);

  /* Rank 0's output must be out before the launcher tears the job down. */
  fflush(stdout);
  fflush(stderr);
  MPI_Finalize();
  return status;
}
