/*
 * dtensor_io.h - checkpoints: dt_save, dt_load, dt_load_with,
 * dt_load_dataset, dt_list, dt_list_datasets and the generator state, with
 * the file format and both checksum recipes.
 *
 * Part of the public API: include <dtensor.h>, which includes this file
 * (it cannot be used alone). Split from dtensor.h so that each public
 * header holds one concept.
 */
#ifndef DTENSOR_IO_H
#define DTENSOR_IO_H

#include "dtensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Checkpoints (HDF5)                                                        */
/*                                                                          */
/* Save at P ranks, load at Q ranks into any layout; a save either replaces */
/* the file completely or leaves the previous one untouched.                */
/*                                                                          */
/* On-disk format "dtensor-checkpoint", version 2: one HDF5 file that any   */
/* HDF5 tool reads (h5dump, h5py), in the newest format HDF5 1.10 writes    */
/* (superblock 3, object headers 2: HDF5 checksums its own metadata), with  */
/* no time stamps (the same tensors saved twice at the same rank count give */
/* byte-identical files). Version 1 files (before the metadata checksum)    */
/* are refused with a message saying so.                                    */
/*  - Each tensor is one dataset at its name, relative to the root group    */
/*    ("model/w" is dataset "w" in group "model"), holding the global array */
/*    in C order: contiguous storage (chunked, optionally shuffled and      */
/*    deflated, when saved with dt_save_opts.chunk_bytes / deflate /        */
/*    shuffle; a tensor's filters may only be shuffle and deflate), native  */
/*    little-endian types (float32                                          */
/*    IEEE F32LE, float64 IEEE F64LE, int32 STD_I32LE, int64 STD_I64LE; bool */
/*    is h5py's bool, an enum over a signed byte {FALSE = 0, TRUE = 1}). A  */
/*    0-d tensor has a scalar dataspace; an empty one a zero-sized axis.    */
/*  - Attributes of each tensor dataset:                                    */
/*      dtensor_format  string  "dtensor-checkpoint"                        */
/*      dtensor_version int32   2                                           */
/*      dtype           string  "float32" "float64" "int32" "int64" "bool"  */
/*      ndim            int32   0 .. DT_MAX_DIMS                            */
/*      shape           int64[ndim]; an empty (null) attribute when ndim = 0 */
/*      layout          string  the layout it was saved from, for people:   */
/*                              "split axis=0 ranks=4", "replicated ranks=2",*/
/*                              "grid 2x2 ranks=4", "cuts 4x1 ranks=4",     */
/*                              "irregular ranks=3"                         */
/*      requires_grad   int32   0 or 1                                      */
/*      checksum        uint64  dt_checksum of the tensor                   */
/*      meta_checksum   uint64  a hash of the dataset name, format version, */
/*                              dtype, shape, layout, requires_grad, the    */
/*                              presence of a gradient and checksum         */
/*    Strings are fixed-length ASCII or UTF-8, NUL-terminated or padded;    */
/*    readers refuse variable-length strings and bytes after a NUL.         */
/*  - The gradient of tensor "<name>", when it has one, is the dataset      */
/*    "<name>@grad" beside it, with the same attributes (requires_grad 0).  */
/*    Names never contain '@', so this cannot collide with a tensor.        */
/*  - Root group attributes: dtensor_format, dtensor_version (as above),    */
/*    rng_seed, rng_offset (uint64): the context's generator state, and     */
/*    meta_checksum over the version and the generator state.               */
/*  - The metadata checksums, with fmix as in dt_checksum and               */
/*    mix(h, v) = fmix(h ^ (v + 0x9E3779B97F4A7C15 + (h << 6))) (mod 2^64), */
/*    bytes(h, s) = mix over s's 8-byte little-endian words, then           */
/*    mix(h, tail ^ (len(tail) << 56)) with the 0..7 remaining bytes as a   */
/*    zero-padded little-endian word (a mix of 0 when none remain):         */
/*      dataset: h = mix(0x6474656e736f72, version); h = bytes(h, name)     */
/*      (the dataset's path without a leading '/', "<name>@grad" for a      */
/*      gradient); h = mix(h, dtype code); h = mix(h, ndim); h = mix(h,     */
/*      shape[d]) for each axis; h = bytes(h, layout string); h = mix(h,    */
/*      requires_grad); h = mix(h, 1 if a gradient dataset belongs to it   */
/*      else 0); meta_checksum = mix(h, checksum).                          */
/*      root: mix(mix(mix(0x726f6f74, version), rng_seed), rng_offset).     */
/*    scripts/dtensor_checksum.py and examples/to_torch.py implement both.  */
/*  - Only hard links and data stored in the file itself: soft, external    */
/*    and user-defined links, external raw storage and virtual datasets are */
/*    DT_ERR_FORMAT (nothing outside the file is ever opened). Compact,     */
/*    contiguous or unfiltered chunked data must have the storage their     */
/*    shape needs, inside the file; every chunk of chunked data must be     */
/*    stored inside the file with all its filters (unfiltered: exactly one  */
/*    chunk's bytes); bool elements must be bytes 0 or 1.                   */
/*  - Datasets of 64 KiB and more start at a multiple of the alignment      */
/*    (1 MiB unless dt_save_opts says otherwise). Datasets without a        */
/*    dtensor_format attribute are foreign data: ignored by dt_list and     */
/*    dt_load, listed by dt_list_datasets, loaded by dt_load_dataset (any   */
/*    HDF5 file's datasets, no attributes needed; see there).               */
/*                                                                          */
/* Tensor names: 1 .. DT_NAME_MAX bytes of printable ASCII without spaces   */
/* or '@', components separated by single '/' (no leading or trailing '/', */
/* no component "." or ".."). PyTorch state-dict keys such as               */
/* "encoder.layers.0.weight" are valid names.                               */
/*                                                                          */
/* Errors of the functions below, the same on every rank: DT_ERR_IO (a      */
/* missing, unreadable or unwritable file or directory, a failed write,     */
/* flush, rename or fsync), DT_ERR_FORMAT (not an HDF5 file, a damaged or   */
/* truncated one, or a file or dataset that is not a valid checkpoint: a    */
/* missing or mistyped attribute, wrong format name or version, unknown     */
/* dtype, ndim above DT_MAX_DIMS, sizes that overflow, a dataset whose      */
/* extent or element type disagrees with its attributes), DT_ERR_CHECKSUM   */
/* (the data read do not match the recorded checksum), DT_ERR_HDF5 (the     */
/* HDF5 library failed otherwise), DT_ERR_ARG (an invalid name, or a name   */
/* not in the file). Messages name the file and the tensor. Everything is   */
/* validated before any tensor memory is allocated. HDF5's own error        */
/* printing is silenced during these calls (the caller's handler is         */
/* restored afterwards). Rank 0 alone reads and validates the metadata     */
/* (sequential HDF5 driver) and broadcasts the verdict, so a damaged file   */
/* gives every rank the same error; no HDF5 call is collective.             */
/* ------------------------------------------------------------------------ */

/** Longest tensor name in a checkpoint, in bytes. */
#define DT_NAME_MAX 255

/** Options of dt_save; NULL or a zeroed struct means the defaults. */
typedef struct dt_save_opts {
  bool skip_grads;  /* do not store gradients */
  size_t alignment; /* file alignment of datasets of 64 KiB and more, a power
                       of two up to 1 GiB; 0 means 1 MiB */
  /* Chunked, compressed storage (see "Chunked checkpoints" at dt_save).
   * All three zero: contiguous, as always. */
  size_t chunk_bytes; /* chunked layout with chunks of at most this many
                         bytes, 1 KiB .. 1 GiB; 0: contiguous, or 1 MiB
                         chunks when deflate or shuffle is set */
  int deflate;        /* 0: no compression; 1..9: zlib level of HDF5's
                         deflate (gzip) filter; implies chunked */
  bool shuffle;       /* HDF5's byte-shuffle filter before deflate (often
                         compresses floats better); implies chunked */
} dt_save_opts;

/**
 * Write tensors[0..n-1] under names[0..n-1], their gradients (unless
 * opts->skip_grads) and ctx's generator state to one HDF5 file at `path`.
 * Collective over ctx: every rank passes the same path, names and tensors
 * (tensors of ctx, any layout or dtype, views included). n may be 0 (the
 * file then holds only the generator state).
 *
 * Rank 0 alone creates the file with the sequential HDF5 driver (every
 * dataset contiguous, allocated at creation, never filled, unless chunked:
 * see "Chunked checkpoints" below; every attribute;
 * the file's space reserved with posix_fallocate where the file system
 * supports it), then every rank writes its own box of each tensor with
 * pwrite (pieces of at most 1 GiB; a strided shard is packed through
 * buffers of the context's chunk budget; a replicated tensor is written 1/P
 * by each rank) and fsyncs, the rank's other OpenMP threads computing the
 * checksums meanwhile; rank 0 then writes the checksums. No HDF5 call is
 * collective, so a failure on one rank (a full disk, a file size limit,
 * an I/O error) is reported by every rank and strands none.
 *
 * Atomic: the file is written as "<dir>/.<file>.tmp.<pid>.<ns>" in the
 * target's directory (pid: rank 0's process), fsynced on every rank; only
 * when every rank has succeeded does rank 0 rename it over `path` and
 * fsync the directory. On any failure every rank returns the same code,
 * the temporary is removed before any rank returns, and a previous file at
 * `path` is untouched (except when only the final directory fsync fails:
 * the complete new file is then in place, but the rename may not survive
 * a power loss). A process killed during a save leaves the previous file
 * intact and may leave the temporary behind; the next successful save to
 * the same path removes temporaries whose process no longer exists on
 * rank 0's node, and `dtensor inspect` lists them. Two jobs saving to the
 * same path at once: the last rename wins, whole.
 *
 * A program running under a file size limit (RLIMIT_FSIZE) must ignore
 * SIGXFSZ, or the kernel kills it when a write passes the limit; ignored,
 * the write fails and dt_save returns DT_ERR_IO.
 *
 * Testing hooks (environment, read at every call): DT_FAULT_SAVE_RANK=r
 * makes rank r fail at the point named by DT_FAULT_SAVE_POINT: "write"
 * (default: after the first dataset's data are written), "close" (before
 * the fsync) or "rename" (the rename fails; rank 0 only, it renames).
 * DT_FAULT_SAVE_STALL=s makes every rank where it is set sleep s seconds at
 * the "write" point, so a test can kill a save midway. DT_FAULT_ALLOC=site
 * with DT_FAULT_RANK=r fails rank r's system call at a site: save_create,
 * save_finish, save_rename (rank 0's), save_open, save_write, save_fsync
 * (any rank's), load_meta (rank 0's), load_open, load_read (any rank's).
 *
 * Chunked checkpoints (opts->chunk_bytes, deflate, shuffle): every tensor
 * with at least one element and one axis is stored chunked instead of
 * contiguous (0-d and empty tensors stay contiguous). A chunk keeps the
 * trailing axes whole: its shape is [1, .., 1, r, n[k+1], .., n[nd-1]] for
 * the first axis k whose trailing axes fit in chunk_bytes, r the most
 * indices of axis k that fit (so with rows of at most chunk_bytes, chunks
 * are runs of whole rows of axis 0). The filters are shuffle (when set),
 * then deflate (when deflate > 0). The chunks are dealt out in blocks over
 * the ranks; each chunk's owner gathers its pieces from the ranks that hold
 * them (point-to-point messages computed from the layouts), applies the
 * filters itself (zlib's compress2: the owners compress in parallel) and
 * sends the result to rank 0, which writes it into the temporary with
 * H5Dwrite_chunk (sequential driver; no HDF5 call is collective), one round
 * of at most one chunk per rank at a time, the round's outcome agreed
 * before the next. Memory per rank: about three chunks, plus the pieces it
 * sends in a round. The checksums are the contiguous save's (over element
 * values), the atomic replace and every failure rule above hold, and the
 * file loads with dt_load at any rank count and layout, and with h5py or
 * h5dump (h5dump -p shows the filters). dt_load refuses a tensor with
 * filters other than deflate and shuffle, or with fewer stored bytes than
 * 1/1100 of its size, and a compressed chunk that does not decode, with
 * DT_ERR_FORMAT (one that decodes to other values: DT_ERR_CHECKSUM).
 * Fault sites of this path:
 * save_chunk (any rank's compression), save_chunk_write (rank 0's write).
 *
 * Errors: DT_ERR_NULL, DT_ERR_ARG (bad or duplicate names, a name that is
 * also the group of another, bad alignment, deflate outside 0..9,
 * chunk_bytes outside 1 KiB .. 1 GiB, path naming a directory),
 * DT_ERR_CONTEXT (a tensor of another context), DT_ERR_MISMATCH (arguments
 * differ between ranks), DT_ERR_IO, DT_ERR_HDF5, DT_ERR_NOMEM.
 */
dt_err dt_save(dt_ctx *ctx, const char *path, int n, const char *const *names,
               const dt_tensor *const *tensors, const dt_save_opts *opts);

/**
 * Read tensor `name` from the checkpoint at `path` into a new tensor on
 * ctx, at any rank count. Collective over ctx. The layout comes from opts
 * as for dt_empty (NULL: split on axis 0; any split axis, replicated, grid
 * or cuts); each rank reads only its own box, straight into its new
 * contiguous shard, through its own sequential HDF5 handle, in pieces of
 * at most 64 MiB. Every attribute is checked against the dataset and the
 * metadata checksum (by rank 0, verdict broadcast) before anything is
 * allocated, bool data must be 0 or 1, and the data
 * are verified against the recorded checksum (also the gradient's), each
 * piece hashed by the rank's other threads while the next one is read.
 * The result requires grad when it was saved so (or opts->requires_grad),
 * and gets the saved gradient, in the same layout, when there is one.
 * opts->dtype must be 0 or the saved dtype (DT_ERR_DTYPE otherwise: convert
 * after loading).
 * On error *out is NULL on every rank and nothing is left allocated.
 * Errors: those listed above, DT_ERR_LAYOUT, DT_ERR_NOMEM.
 */
dt_err dt_load(dt_ctx *ctx, const char *path, const char *name,
               const dt_opts *opts, dt_tensor **out);

/** Options of dt_load_with; NULL or a zeroed struct means the defaults
 *  (everything verified, as dt_load does). */
typedef struct dt_load_opts {
  bool skip_checksums; /* do not compare the data with the recorded
                          "checksum" attributes, nor the attributes with
                          their "meta_checksum" (both must still be present
                          as uint64): for a checkpoint written by another
                          tool that could not compute them. Every other
                          check (attributes, extent, type, storage, links,
                          bool bytes) still applies. */
} dt_load_opts;

/**
 * dt_load with load options (lopts may be NULL: dt_load itself). Collective
 * over ctx; every rank passes the same lopts. With lopts->skip_checksums a
 * file whose tensor data or metadata checksum do not match loads anyway
 * (dt_load refuses it with DT_ERR_CHECKSUM or DT_ERR_FORMAT); the loaded
 * tensor is then exactly what the file holds. Errors: as dt_load.
 */
dt_err dt_load_with(dt_ctx *ctx, const char *path, const char *name,
                    const dt_opts *opts, const dt_load_opts *lopts,
                    dt_tensor **out);

/**
 * Restore ctx's generator state (seed, offset) from a checkpoint, so that
 * random tensors drawn afterwards equal those an uninterrupted run would
 * have drawn after the save. Collective over ctx.
 */
dt_err dt_load_rng_state(dt_ctx *ctx, const char *path);

/** One tensor of a checkpoint, as dt_list reports it. */
typedef struct dt_file_entry {
  char name[DT_NAME_MAX + 1];
  dt_dtype dtype;
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  bool requires_grad;
  bool has_grad;     /* a "<name>@grad" dataset is stored */
  uint64_t checksum; /* as recorded; dt_load verifies it */
  char layout[64];   /* the layout it was saved from, e.g. "split axis=0
                        ranks=4" */
} dt_file_entry;

/**
 * List the tensors of a checkpoint (gradients appear as has_grad), in the
 * order of a depth-first walk by name. Every listed tensor's attributes are
 * validated (the data are not read; load a tensor to verify its checksum).
 * Collective over ctx; every rank gets the same list in *entries, allocated
 * with malloc (release with free; NULL when *n is 0 or on error).
 */
dt_err dt_list(dt_ctx *ctx, const char *path, int *n, dt_file_entry **entries);

/**
 * Load any HDF5 dataset (written by h5py, Heat, netCDF-4 or any HDF5 tool;
 * no dtensor attribute needed, none read) into a new tensor on ctx, at any
 * rank count, in the layout opts chooses as for dt_empty (NULL: split on
 * axis 0). Collective over ctx. `dataset` is its path in the file ("x",
 * "group/x" or "/group/x"). Each rank reads only its own box, through its
 * own sequential HDF5 handle, as dt_load does; rank 0 alone validates the
 * metadata first and broadcasts the verdict.
 *
 * The dtype comes from the file's element type (either byte order; HDF5
 * converts): IEEE float32/float64 -> DT_FLOAT32/DT_FLOAT64; int32/int64 ->
 * DT_INT32/DT_INT64; int8, uint8, int16, uint16 are widened exactly to
 * DT_INT32 and uint32 to DT_INT64; an enum over one byte with the values 0
 * and 1 (h5py's bool) -> DT_BOOL, whose bytes must be 0 or 1. Every other
 * type (uint64, float16, strings, compounds, other enums...) is refused
 * with DT_ERR_DTYPE. opts->dtype must be 0 or the dtype the dataset loads
 * as (DT_ERR_DTYPE otherwise: convert after loading). opts->requires_grad
 * is honoured (float dtypes only).
 *
 * Contiguous, compact or chunked storage; chunked data may be filtered
 * (deflate/gzip, shuffle, fletcher32, or any filter this HDF5 build can
 * decode: a filter it cannot is DT_ERR_FORMAT naming the filter, checked
 * before anything is read). A scalar dataset gives a 0-d tensor, a
 * zero-sized extent an empty one; a null dataspace (h5py's Empty) is
 * DT_ERR_FORMAT. As for checkpoints: only hard links are followed, and
 * external storage and virtual datasets are refused; unfiltered data must
 * have the storage their extent needs inside the file (unwritten chunks or
 * an unwritten contiguous dataset are refused, not read as fill values),
 * every chunk must be stored inside the file with all its filters applied
 * (unfiltered: exactly a chunk's bytes; rank 0 checks each chunk's index
 * entry, in time proportional to the number of chunks), and filtered data
 * may not declare more than 1100 times their stored bytes. There is no checksum
 * to verify: the data are loaded as stored (for a dtensor checkpoint's tensor
 * with verification, use dt_load).
 *
 * On error *out is NULL on every rank. Errors: DT_ERR_NULL, DT_ERR_ARG (an
 * empty name, an empty, "." or ".." component, no such dataset, a group),
 * DT_ERR_DTYPE, DT_ERR_FORMAT, DT_ERR_IO, DT_ERR_HDF5, DT_ERR_LAYOUT,
 * DT_ERR_MISMATCH (arguments differ between ranks), DT_ERR_NOMEM.
 */
dt_err dt_load_dataset(dt_ctx *ctx, const char *path, const char *dataset,
                       const dt_opts *opts, dt_tensor **out);

/** One dataset of any HDF5 file, as dt_list_datasets reports it. */
typedef struct dt_dataset_info {
  char name[DT_NAME_MAX + 1]; /* path from the root group, no leading '/' */
  char type[48];  /* the file's element type: "float64LE", "int32BE",
                     "uint16LE", "bool", "string", "compound"...; for a
                     link that is not followed "soft link", "external
                     link" or "user-defined link" */
  dt_dtype dtype; /* what dt_load_dataset loads it as; DT_DTYPE_DEFAULT
                     (0) when it refuses the type (or for a link) */
  int ndim;       /* -1: a null dataspace, a rank above DT_MAX_DIMS, a link */
  int64_t shape[DT_MAX_DIMS];
  bool chunked;
  int64_t chunk[DT_MAX_DIMS]; /* chunk dimensions when chunked */
  char filters[64]; /* the filter pipeline, comma-separated: "deflate",
                       "shuffle", "fletcher32", "szip", "nbit",
                       "scaleoffset", "lzf" or "filter<id>", each marked
                       "(unavailable)" when this HDF5 cannot decode it;
                       "" for none (truncated if very long) */
  bool is_tensor;   /* has a dtensor_format attribute: a checkpoint tensor or
                       gradient (dt_list and dt_load read those) */
} dt_dataset_info;

/**
 * List every dataset of any HDF5 file (a dtensor checkpoint or not), in the
 * order of a depth-first walk by name, with its element type, extent,
 * chunking and filters; soft, external and user-defined links are listed
 * as such and never followed; names longer than DT_NAME_MAX are left out.
 * Nothing is validated beyond what describing needs (dt_load_dataset
 * validates before loading). Collective over ctx: rank 0 reads the file
 * with the sequential driver and broadcasts the list, so every rank gets
 * the same one in *entries, allocated with malloc (release with free; NULL
 * when *n is 0 or on error). *is_checkpoint (when not NULL) tells whether
 * the root group carries a dtensor_format attribute.
 * Errors: DT_ERR_NULL, DT_ERR_IO (missing or unreadable), DT_ERR_FORMAT
 * (not an HDF5 file, damaged), DT_ERR_HDF5, DT_ERR_MISMATCH, DT_ERR_NOMEM.
 */
dt_err dt_list_datasets(dt_ctx *ctx, const char *path, int *n,
                        dt_dataset_info **entries, bool *is_checkpoint);

#ifdef __cplusplus
}
#endif
#endif /* DTENSOR_IO_H */
