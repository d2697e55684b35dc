/* share.c: the data, one copy per node (see run_int.h).
 *
 * The master reads the data once. Every worker needs the train and dev
 * splits, read-only, for its whole life; a copy per rank would cost 64
 * copies on a 64-core node (Fashion-MNIST is 188 MB as float32). So the
 * ranks of each node share one MPI-3 shared-memory window: the node's first
 * rank (its leader) allocates it, the master broadcasts the splits to the
 * leaders, each leader fills its window, and every rank of the node points
 * its cv_data into it. On the master's node the master is the leader, and
 * its own copy of the splits is released once the window holds them.
 *
 * The window's layout: train X (n_train, d), dev X (n_dev, d), then train y
 * and dev y, all 4-byte values. */
#include <stdlib.h>
#include <string.h>

#include "run_int.h"

/* Broadcasts n bytes from root in pieces MPI's int counts hold. */
static void bcast_bytes(void *buf, size_t n, MPI_Comm comm)
{
    const size_t piece = (size_t)1 << 30;
    for (size_t off = 0; off < n; off += piece) {
        size_t k = n - off < piece ? n - off : piece;
        MPI_Bcast((char *)buf + off, (int)k, MPI_BYTE, 0, comm);
    }
}

/* The splits' arrays in the window at base. */
static void point_into(cv_data *data, char *base)
{
    const size_t d = (size_t)data->d, nt = (size_t)data->train.n, nd = (size_t)data->dev.n;
    float *X = (float *)base;
    int32_t *y = (int32_t *)(X + (nt + nd) * d);
    data->train = (cv_dataset){.n = data->train.n, .d = data->d, .X = X, .y = y};
    data->dev = (cv_dataset){.n = data->dev.n, .d = data->d, .X = X + nt * d, .y = y + nt};
}

int cv_data_share(cv_data *data, MPI_Comm comm, cv_shared *sh, cv_error *err)
{
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    *sh = (cv_shared){.win = MPI_WIN_NULL, .node = MPI_COMM_NULL, .leaders = MPI_COMM_NULL};

    /* the shape, from the master to everyone */
    int64_t hdr[4] = {data->d, data->classes, data->train.n, data->dev.n};
    MPI_Bcast(hdr, 4, MPI_INT64_T, 0, comm);
    if (rank != 0) {
        data->d = (int)hdr[0];
        data->classes = (int)hdr[1];
        data->train.n = hdr[2];
        data->dev.n = hdr[3];
    }
    const size_t rows = (size_t)(hdr[2] + hdr[3]);
    const size_t bytes = rows * (size_t)hdr[0] * sizeof(float) + rows * sizeof(int32_t);

    /* a node's ranks, and its leaders (world rank 0 leads the master's node) */
    int node_rank = 0;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &sh->node);
    MPI_Comm_rank(sh->node, &node_rank);
    MPI_Comm_split(comm, node_rank == 0 ? 0 : MPI_UNDEFINED, rank, &sh->leaders);

    char *base = NULL;
    int ok = MPI_Win_allocate_shared(node_rank == 0 ? (MPI_Aint)bytes : 0, 1, MPI_INFO_NULL,
                                     sh->node, &base, &sh->win) == MPI_SUCCESS;
    if (ok && node_rank != 0) {
        MPI_Aint size = 0;
        int unit = 0;
        ok = MPI_Win_shared_query(sh->win, 0, &size, &unit, &base) == MPI_SUCCESS &&
             (size_t)size >= bytes;
    }
    /* every rank must have its window for the broadcast to make sense */
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_LAND, comm);
    if (!ok) {
        cv_shared_free(sh);
        return cv_fail(err, CV_ERR_NOMEM,
                       "runner: cannot allocate a shared window of %zu bytes for the data "
                       "on every node",
                       bytes);
    }

    if (node_rank == 0) {
        if (rank == 0) {
            /* the master's splits into its window, its own copy released */
            const size_t xt = (size_t)data->train.n * (size_t)data->d;
            const size_t xd = (size_t)data->dev.n * (size_t)data->d;
            cv_data window = *data;
            point_into(&window, base);
            memcpy(window.train.X, data->train.X, xt * sizeof(float));
            memcpy(window.dev.X, data->dev.X, xd * sizeof(float));
            memcpy(window.train.y, data->train.y, (size_t)data->train.n * sizeof(int32_t));
            memcpy(window.dev.y, data->dev.y, (size_t)data->dev.n * sizeof(int32_t));
            cv_dataset_free(&data->train);
            cv_dataset_free(&data->dev);
        }
        bcast_bytes(base, bytes, sh->leaders);
        MPI_Comm_size(sh->leaders, &sh->nodes);
    }
    sh->bytes = bytes;
    /* what the leader wrote is seen by the node's ranks after the fence */
    MPI_Win_fence(0, sh->win);
    data->train.n = hdr[2]; /* the master's were cleared with its copy */
    data->dev.n = hdr[3];
    point_into(data, base);
    return 0;
}

void cv_shared_free(cv_shared *sh)
{
    if (sh->win != MPI_WIN_NULL)
        MPI_Win_free(&sh->win);
    if (sh->leaders != MPI_COMM_NULL)
        MPI_Comm_free(&sh->leaders);
    if (sh->node != MPI_COMM_NULL)
        MPI_Comm_free(&sh->node);
}

void cv_data_unshare(cv_data *data, cv_shared *sh, bool collective)
{
    /* the splits live in the window: not the data's to free */
    data->train = (cv_dataset){0};
    data->dev = (cv_dataset){0};
    if (collective)
        cv_shared_free(sh);
}
