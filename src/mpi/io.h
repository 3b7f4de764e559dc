// MPI-IO across a restart (io.cc): files the program has open are virtual handles that a
// restart reopens, with their view, atomicity and file pointers, on the new library.
//
// Contract:
//   - MPI_File handles the program holds are virtual (Files(), kind 8). MPI_File_open records
//     what a reopen needs: the communicator (virtual), the name made absolute (a ROMIO prefix
//     such as "ufs:" kept), the access mode, the hints of its info. MPI_File_set_view keeps
//     its own duplicates of the etype and filetype, so the program may free its datatypes.
//   - Collective I/O is counted per file, on a key of the file's own (FileKey), so a checkpoint
//     runs every rank of a file forward to the same collective I/O count as it does for a
//     communicator's collectives. Nonblocking I/O requests are completed by the drain.
//   - SaveFiles (on the checkpoint thread after the drain, MPI frozen, inside the lower half):
//     refuses while a split collective (_begin without _end) is open; records each file's
//     individual pointer, its shared pointer when the program used it, and its size; fsyncs
//     the file so the bytes written before the checkpoint are as durable as the image.
//   - ReplayFiles (restart, after the communicators and datatypes): reopens every file in the
//     order it was opened, without MPI_MODE_CREATE / MPI_MODE_EXCL (a file gone since the
//     checkpoint fails the restart, naming it), cuts a file longer than at the checkpoint back
//     to that size (what the job wrote past the checkpoint is undone), refuses a shorter one,
//     sets the view, the atomicity and the file pointers again.
#pragma once

#include <mpi.h>

#include <cstddef>

#include "mpi/handles.h"
#include "mpi/protocol_state.h"

namespace cairn::mpi {

using FileTable = Table<MPI_File, 8, kMaxFiles>;
FileTable& Files();

// The collective-count key of a file (a never-counted key for an unknown handle).
size_t FileKey(MPI_File v);
// The program used the file's shared pointer (its position is saved and restored).
void FileUsesSharedPointer(MPI_File v);
// A split collective began (true) or ended (false) on the file.
void FileSplit(MPI_File v, bool begin);

bool SaveFiles(char* err, size_t err_len);
bool ReplayFiles(char* err, size_t err_len);

}  // namespace cairn::mpi
