! Module `veloc`: VeloC's Fortran interface (VeloC's `fortran` branch, module veloc) over
! cairn's VeloC C API (include/veloc.h), so that Fortran programs written for VeloC compile
! unchanged against cairn.
!
! Contract
! - The subroutines, their argument lists and the constants are VeloC's: every subroutine
!   ends with `err`, which receives VELOC_SCES (= VELOC_SUCCESS = 0) or VELOC_NSCS
!   (= VELOC_FAILURE = -1); VELOC_Restart_test returns the version (VELOC_FAILURE: none).
!   Failures are logged with their reason (stderr, or CAIRN_LOG_FILE); nothing stops the
!   program, prints to stdout or aborts MPI.
! - VELOC_Init takes an `mpi` integer communicator or an `mpi_f08` type(MPI_Comm).
! - VELOC_Mem_protect(id, data, err) protects a scalar or array of any intrinsic (or
!   pointer-free derived) type, kind and rank, given as a pointer (as VeloC requires) or as
!   a TARGET variable; it must be contiguous (a non-contiguous one fails). The form
!   VELOC_Mem_protect(id, c_loc(x), count, base_size, err) protects raw memory.
! - Names are used without their trailing blanks.
! - cairn extensions (not in VeloC's Fortran interface): VELOC_Init_single,
!   VELOC_Need_checkpoint, VELOC_Should_exit, VELOC_Checkpoint_selective,
!   VELOC_Recover_selective, VELOC_Recover_size, VELOC_Mem_clear, VELOC_Cleanup,
!   VELOC_Checkpoint_finished, and the constants of veloc/defs.h.
module veloc
  use, intrinsic :: iso_c_binding
  use mpi_f08, only: MPI_Comm
  implicit none
  private

  integer, parameter, public :: VELOC_SCES = 0
  integer, parameter, public :: VELOC_NSCS = -1
  integer, parameter, public :: VELOC_SUCCESS = 0
  integer, parameter, public :: VELOC_FAILURE = -1
  ! Element sizes in bytes of VeloC's Fortran interface.
  integer, parameter, public :: VELOC_CHARACTER1 = 1
  integer, parameter, public :: VELOC_COMPLEX4 = 4
  integer, parameter, public :: VELOC_COMPLEX8 = 8
  integer, parameter, public :: VELOC_INTEGER1 = 1
  integer, parameter, public :: VELOC_INTEGER2 = 2
  integer, parameter, public :: VELOC_INTEGER4 = 4
  integer, parameter, public :: VELOC_INTEGER8 = 8
  integer, parameter, public :: VELOC_LOGICAL1 = 1
  integer, parameter, public :: VELOC_REAL4 = 4
  integer, parameter, public :: VELOC_REAL8 = 8
  ! veloc/defs.h
  integer, parameter, public :: VELOC_MAX_NAME = 1024
  integer, parameter, public :: VELOC_CKPT_ALL = 0, VELOC_CKPT_SOME = 1, VELOC_CKPT_REST = 2
  integer, parameter, public :: VELOC_RECOVER_ALL = 0, VELOC_RECOVER_SOME = 1
  integer, parameter, public :: VELOC_RECOVER_REST = 2

  public :: VELOC_Init, VELOC_Init_single, VELOC_Finalize
  public :: VELOC_Mem_protect, VELOC_Mem_unprotect, VELOC_Mem_clear
  public :: VELOC_Checkpoint_begin, VELOC_Checkpoint_mem, VELOC_Checkpoint_selective
  public :: VELOC_Checkpoint_end, VELOC_Checkpoint_wait, VELOC_Checkpoint_finished
  public :: VELOC_Checkpoint, VELOC_Need_checkpoint, VELOC_Should_exit
  public :: VELOC_Restart_test, VELOC_Restart_begin, VELOC_Recover_mem
  public :: VELOC_Recover_selective, VELOC_Recover_size, VELOC_Restart_end, VELOC_Restart
  public :: VELOC_Route_file, VELOC_Cleanup

  !> VELOC_Init(comm, config_file, err): collective over comm (`mpi` integer or `mpi_f08`).
  interface VELOC_Init
    subroutine init_int(comm, config_file, err) bind(c, name='cairn_f_veloc_init')
      import :: c_int, c_char
      integer(c_int), intent(in) :: comm
      character(len=*, kind=c_char), intent(in) :: config_file
      integer(c_int), intent(out) :: err
    end subroutine init_int
    module procedure init_f08
  end interface VELOC_Init

  !> VELOC_Mem_protect(id_F, data, err) for any type/kind/rank, or
  !> VELOC_Mem_protect(id_F, ptr, count_F, base_size_F, err) for raw memory.
  interface VELOC_Mem_protect
    subroutine mem_protect_any(id_F, data, err) bind(c, name='cairn_f_veloc_mem_protect')
      import :: c_int
      integer(c_int), intent(in) :: id_F
      type(*), dimension(..), intent(inout) :: data
      integer(c_int), intent(out) :: err
    end subroutine mem_protect_any
    module procedure mem_protect_ptr
  end interface VELOC_Mem_protect

  interface
    !> Independent mode under `id` (>= 0); no MPI calls.
    subroutine VELOC_Init_single(id, config_file, err) bind(c, name='cairn_f_veloc_init_single')
      import :: c_int, c_char
      integer(c_int), intent(in) :: id
      character(len=*, kind=c_char), intent(in) :: config_file
      integer(c_int), intent(out) :: err
    end subroutine VELOC_Init_single
    subroutine VELOC_Checkpoint_begin(name_ckpt, version, err) &
        bind(c, name='cairn_f_veloc_checkpoint_begin')
      import :: c_int, c_char
      character(len=*, kind=c_char), intent(in) :: name_ckpt
      integer(c_int), intent(in) :: version
      integer(c_int), intent(out) :: err
    end subroutine VELOC_Checkpoint_begin
    subroutine VELOC_Checkpoint(name_ckpt, version, err) bind(c, name='cairn_f_veloc_checkpoint')
      import :: c_int, c_char
      character(len=*, kind=c_char), intent(in) :: name_ckpt
      integer(c_int), intent(in) :: version
      integer(c_int), intent(out) :: err
    end subroutine VELOC_Checkpoint
    !> version: the newest restorable version <= needed_version_F (0: any), or VELOC_FAILURE.
    subroutine VELOC_Restart_test(name_F, needed_version_F, version) &
        bind(c, name='cairn_f_veloc_restart_test')
      import :: c_int, c_char
      character(len=*, kind=c_char), intent(in) :: name_F
      integer(c_int), intent(in) :: needed_version_F
      integer(c_int), intent(out) :: version
    end subroutine VELOC_Restart_test
    subroutine VELOC_Restart_begin(name_F, version_F, err) &
        bind(c, name='cairn_f_veloc_restart_begin')
      import :: c_int, c_char
      character(len=*, kind=c_char), intent(in) :: name_F
      integer(c_int), intent(in) :: version_F
      integer(c_int), intent(out) :: err
    end subroutine VELOC_Restart_begin
    subroutine VELOC_Restart(name_F, version_F, err) bind(c, name='cairn_f_veloc_restart')
      import :: c_int, c_char
      character(len=*, kind=c_char), intent(in) :: name_F
      integer(c_int), intent(in) :: version_F
      integer(c_int), intent(out) :: err
    end subroutine VELOC_Restart
    !> routed: the path to write (checkpoint) or read (restart) ckpt_file_name at.
    subroutine VELOC_Route_file(ckpt_file_name, routed, err) &
        bind(c, name='cairn_f_veloc_route_file')
      import :: c_int, c_char
      character(len=*, kind=c_char), intent(in) :: ckpt_file_name
      character(len=*, kind=c_char), intent(out) :: routed
      integer(c_int), intent(out) :: err
    end subroutine VELOC_Route_file
    subroutine VELOC_Cleanup(name_F, err) bind(c, name='cairn_f_veloc_cleanup')
      import :: c_int, c_char
      character(len=*, kind=c_char), intent(in) :: name_F
      integer(c_int), intent(out) :: err
    end subroutine VELOC_Cleanup
  end interface

  ! The VeloC C API (veloc.h).
  interface
    integer(c_int) function c_finalize(drain) bind(c, name='VELOC_Finalize')
      import :: c_int
      integer(c_int), value :: drain
    end function c_finalize
    integer(c_int) function c_mem_protect(id, ptr, count, base_size) &
        bind(c, name='VELOC_Mem_protect')
      import :: c_int, c_ptr, c_size_t
      integer(c_int), value :: id
      type(c_ptr), value :: ptr
      integer(c_size_t), value :: count, base_size
    end function c_mem_protect
    integer(c_int) function c_mem_unprotect(id) bind(c, name='VELOC_Mem_unprotect')
      import :: c_int
      integer(c_int), value :: id
    end function c_mem_unprotect
    integer(c_int) function c_mem_clear() bind(c, name='VELOC_Mem_clear')
      import :: c_int
    end function c_mem_clear
    integer(c_int) function c_checkpoint_mem() bind(c, name='VELOC_Checkpoint_mem')
      import :: c_int
    end function c_checkpoint_mem
    integer(c_int) function c_checkpoint_selective(mode, ids, n) &
        bind(c, name='VELOC_Checkpoint_selective')
      import :: c_int
      integer(c_int), value :: mode, n
      integer(c_int), intent(in) :: ids(*)
    end function c_checkpoint_selective
    integer(c_int) function c_checkpoint_end(success) bind(c, name='VELOC_Checkpoint_end')
      import :: c_int
      integer(c_int), value :: success
    end function c_checkpoint_end
    integer(c_int) function c_checkpoint_wait() bind(c, name='VELOC_Checkpoint_wait')
      import :: c_int
    end function c_checkpoint_wait
    integer(c_int) function c_checkpoint_finished() bind(c, name='VELOC_Checkpoint_finished')
      import :: c_int
    end function c_checkpoint_finished
    integer(c_int) function c_recover_mem() bind(c, name='VELOC_Recover_mem')
      import :: c_int
    end function c_recover_mem
    integer(c_int) function c_recover_selective(mode, ids, n) &
        bind(c, name='VELOC_Recover_selective')
      import :: c_int
      integer(c_int), value :: mode, n
      integer(c_int), intent(in) :: ids(*)
    end function c_recover_selective
    integer(c_int) function c_recover_size(id) bind(c, name='VELOC_Recover_size')
      import :: c_int
      integer(c_int), value :: id
    end function c_recover_size
    integer(c_int) function c_restart_end(success) bind(c, name='VELOC_Restart_end')
      import :: c_int
      integer(c_int), value :: success
    end function c_restart_end
    integer(c_int) function c_need_checkpoint(flag) bind(c, name='VELOC_Need_checkpoint')
      import :: c_int
      integer(c_int), intent(out) :: flag
    end function c_need_checkpoint
    integer(c_int) function c_should_exit(flag) bind(c, name='VELOC_Should_exit')
      import :: c_int
      integer(c_int), intent(out) :: flag
    end function c_should_exit
    ! The glue's log (glue.h, cf_log_error): fn and msg NUL-terminated.
    subroutine c_log_error(fn, msg) bind(c, name='cf_log_error')
      import :: c_char
      character(kind=c_char), intent(in) :: fn(*), msg(*)
    end subroutine c_log_error
  end interface

contains

  subroutine init_f08(comm, config_file, err)
    type(MPI_Comm), intent(in) :: comm
    character(len=*), intent(in) :: config_file
    integer, intent(out) :: err
    call init_int(int(comm%MPI_VAL, c_int), config_file, err)
  end subroutine init_f08

  !> count_F elements of base_size_F bytes at ptr (both >= 0).
  subroutine mem_protect_ptr(id_F, ptr, count_F, base_size_F, err)
    integer, intent(in) :: id_F
    type(c_ptr), value :: ptr
    integer, intent(in) :: count_F
    integer, intent(in) :: base_size_F
    integer, intent(out) :: err
    if (count_F < 0 .or. base_size_F < 0) then
      err = VELOC_FAILURE
      call c_log_error('VELOC_Mem_protect'//c_null_char, &
                       'count and base size must be >= 0'//c_null_char)
      return
    end if
    err = c_mem_protect(id_F, ptr, int(count_F, c_size_t), int(base_size_F, c_size_t))
  end subroutine mem_protect_ptr

  !> cleanup_F /= 0 waits for pending asynchronous work first; 0 abandons it.
  subroutine VELOC_Finalize(cleanup_F, err)
    integer, intent(in) :: cleanup_F
    integer, intent(out) :: err
    err = c_finalize(int(cleanup_F, c_int))
  end subroutine VELOC_Finalize

  subroutine VELOC_Mem_unprotect(id_F, err)
    integer, intent(in) :: id_F
    integer, intent(out) :: err
    err = c_mem_unprotect(id_F)
  end subroutine VELOC_Mem_unprotect

  subroutine VELOC_Mem_clear(err)
    integer, intent(out) :: err
    err = c_mem_clear()
  end subroutine VELOC_Mem_clear

  subroutine VELOC_Checkpoint_mem(err)
    integer, intent(out) :: err
    err = c_checkpoint_mem()
  end subroutine VELOC_Checkpoint_mem

  !> mode VELOC_CKPT_ALL / SOME / REST with the ids of `ids`.
  subroutine VELOC_Checkpoint_selective(mode, ids, err)
    integer, intent(in) :: mode
    integer, intent(in) :: ids(:)
    integer, intent(out) :: err
    err = c_checkpoint_selective(mode, ids, size(ids))
  end subroutine VELOC_Checkpoint_selective

  !> success /= 0 commits the checkpoint; 0 discards it (err = VELOC_NSCS).
  subroutine VELOC_Checkpoint_end(success, err)
    integer, intent(in) :: success
    integer, intent(out) :: err
    err = c_checkpoint_end(int(success, c_int))
  end subroutine VELOC_Checkpoint_end

  subroutine VELOC_Checkpoint_wait(err)
    integer, intent(out) :: err
    err = c_checkpoint_wait()
  end subroutine VELOC_Checkpoint_wait

  !> err = VELOC_SCES when no asynchronous work is pending (non-blocking).
  subroutine VELOC_Checkpoint_finished(err)
    integer, intent(out) :: err
    err = c_checkpoint_finished()
  end subroutine VELOC_Checkpoint_finished

  subroutine VELOC_Recover_mem(err)
    integer, intent(out) :: err
    err = c_recover_mem()
  end subroutine VELOC_Recover_mem

  subroutine VELOC_Recover_selective(mode, ids, err)
    integer, intent(in) :: mode
    integer, intent(in) :: ids(:)
    integer, intent(out) :: err
    err = c_recover_selective(mode, ids, size(ids))
  end subroutine VELOC_Recover_selective

  !> size: bytes saved under id in the checkpoint being restarted, or -1.
  subroutine VELOC_Recover_size(id_F, size)
    integer, intent(in) :: id_F
    integer, intent(out) :: size
    size = c_recover_size(id_F)
  end subroutine VELOC_Recover_size

  subroutine VELOC_Restart_end(success, err)
    integer, intent(in) :: success
    integer, intent(out) :: err
    err = c_restart_end(int(success, c_int))
  end subroutine VELOC_Restart_end

  !> flag = .true. when a checkpoint should be taken now (collective in MPI mode).
  subroutine VELOC_Need_checkpoint(flag, err)
    logical, intent(out) :: flag
    integer, intent(out) :: err
    integer(c_int) :: f
    f = 0
    err = c_need_checkpoint(f)
    flag = f /= 0
  end subroutine VELOC_Need_checkpoint

  !> flag = .true. once a final checkpoint is committed: VELOC_Finalize(1, err) and end.
  subroutine VELOC_Should_exit(flag, err)
    logical, intent(out) :: flag
    integer, intent(out) :: err
    integer(c_int) :: f
    f = 0
    err = c_should_exit(f)
    flag = f /= 0
  end subroutine VELOC_Should_exit

end module veloc
