! Module `cairn`: cairn's own checkpoint/restart API for Fortran, over libcairn's C API
! (include/cairn/cairn.h documents every call; this module follows it one to one).
!
!   use cairn
!   type(cairn_client) :: c
!   call cairn_open(c, MPI_COMM_WORLD, 'heat.cfg', st)   ! `mpi` integer or `mpi_f08` handle
!   call cairn_protect(c, 0, u, st)                      ! any type, kind and rank
!   call cairn_restart_latest(c, 'heat', v, st)          ! CAIRN_E_NOT_FOUND: fresh start
!   call cairn_checkpoint(c, 'heat', iter, st)
!   call cairn_close(c, st)
!
! Contract
! - Every subroutine returns a cairn_status_t value in `status` (CAIRN_OK = 0 on success) and,
!   when the optional `errmsg` is present, the failure's message (blank-padded; blanks on
!   success). cairn_last_error(client) returns the message of the client's last failure in
!   the calling thread. Nothing stops the program, prints, or aborts MPI.
! - Names (checkpoint, group, configuration file) are used without their trailing blanks.
! - cairn_protect registers the memory of its actual argument, which must stay allocated
!   and must be contiguous (a non-contiguous section or pointer is refused with
!   CAIRN_E_INVALID). Give protected variables the TARGET (or POINTER) attribute, so that the
!   compiler keeps them in memory across checkpoint and restart calls. Derived types are
!   saved byte for byte: only types without pointer or allocatable components make sense.
! - Versions may be default integers or integer(8); a version that does not fit the
!   variable's kind is an error (CAIRN_E_INVALID).
module cairn
  use, intrinsic :: iso_c_binding
  use mpi_f08, only: MPI_Comm
  implicit none
  private

  !> An open client (cairn_client_t*). Default-initialized to "not open".
  type, bind(c), public :: cairn_client
    type(c_ptr) :: handle = c_null_ptr
  end type cairn_client

  ! cairn_status_t (values are part of the ABI).
  integer, parameter, public :: CAIRN_OK = 0
  integer, parameter, public :: CAIRN_E_INVALID = 1
  integer, parameter, public :: CAIRN_E_NOT_FOUND = 2
  integer, parameter, public :: CAIRN_E_CORRUPT = 3
  integer, parameter, public :: CAIRN_E_IO = 4
  integer, parameter, public :: CAIRN_E_NO_SPACE = 5
  integer, parameter, public :: CAIRN_E_ORDER = 6
  integer, parameter, public :: CAIRN_E_UNAVAILABLE = 7
  integer, parameter, public :: CAIRN_E_INTERNAL = 8
  !> max_version of cairn_restart_latest / cairn_restart_test: no upper bound.
  integer, parameter, public :: CAIRN_ANY_VERSION = 0
  ! Room for a message passed through a module procedure (cairn_last_error has it whole).
  integer, parameter :: ERRMSG_LEN = 4200

  public :: cairn_open, cairn_open_single, cairn_close, cairn_is_open, cairn_rank, cairn_size
  public :: cairn_protect, cairn_protect_ptr, cairn_unprotect
  public :: cairn_checkpoint, cairn_wait, cairn_need_checkpoint, cairn_should_exit
  public :: cairn_restart_latest, cairn_restart_test, cairn_restart
  public :: cairn_last_error, cairn_status_string, cairn_version

  !> cairn_open(client, comm, cfg, status [, errmsg]): collective over `comm`, an `mpi`
  !> integer handle or an `mpi_f08` type(MPI_Comm). cfg blank: configuration from the
  !> environment only.
  interface cairn_open
    module procedure open_mpi_int, open_mpi_f08
  end interface cairn_open

  interface
    !> Independent mode as `rank` (>= 0); no MPI calls.
    subroutine cairn_open_single(client, rank, cfg, status, errmsg) &
        bind(c, name='cairn_f_open_single')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(inout) :: client
      integer(c_int), intent(in) :: rank
      character(len=*, kind=c_char), intent(in) :: cfg
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine cairn_open_single

    !> Registers the memory of `data` (scalar or array of any type, kind and rank;
    !> contiguous) under `id` in `group` (absent or blank: the default group).
    subroutine cairn_protect(client, id, data, status, group, errmsg) &
        bind(c, name='cairn_f_protect')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      integer(c_int), intent(in) :: id
      type(*), dimension(..), intent(inout) :: data
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(in), optional :: group
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine cairn_protect

    subroutine cairn_unprotect(client, id, status, group, errmsg) &
        bind(c, name='cairn_f_unprotect')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      integer(c_int), intent(in) :: id
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(in), optional :: group
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine cairn_unprotect

    subroutine cairn_wait(client, status, errmsg) bind(c, name='cairn_f_wait')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine cairn_wait

    !> This process's rank (1 process: its id); -1 when the client is not open.
    pure integer(c_int) function cairn_rank(client) bind(c, name='cairn_f_rank')
      import :: cairn_client, c_int
      type(cairn_client), intent(in) :: client
    end function cairn_rank

    !> The number of ranks (1 in independent mode); -1 when the client is not open.
    pure integer(c_int) function cairn_size(client) bind(c, name='cairn_f_size')
      import :: cairn_client, c_int
      type(cairn_client), intent(in) :: client
    end function cairn_size
  end interface

  !> cairn_protect_ptr(client, id, ptr, bytes, status [, group, errmsg]): `bytes` bytes at
  !> the C address `ptr` (e.g. c_loc(x)); bytes a default integer or integer(8).
  interface cairn_protect_ptr
    module procedure protect_ptr4, protect_ptr8
  end interface cairn_protect_ptr

  !> cairn_checkpoint(client, name, version, status [, errmsg]): a complete checkpoint.
  interface cairn_checkpoint
    subroutine checkpoint4(client, name, version, status, errmsg) &
        bind(c, name='cairn_f_checkpoint4')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      character(len=*, kind=c_char), intent(in) :: name
      integer(c_int), intent(in) :: version
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine checkpoint4
    subroutine checkpoint8(client, name, version, status, errmsg) &
        bind(c, name='cairn_f_checkpoint8')
      import :: cairn_client, c_int, c_long_long, c_char
      type(cairn_client), intent(in) :: client
      character(len=*, kind=c_char), intent(in) :: name
      integer(c_long_long), intent(in) :: version
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine checkpoint8
  end interface cairn_checkpoint

  !> cairn_restart(client, name, version, status [, errmsg]): restores exactly `version`.
  interface cairn_restart
    subroutine restart4(client, name, version, status, errmsg) bind(c, name='cairn_f_restart4')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      character(len=*, kind=c_char), intent(in) :: name
      integer(c_int), intent(in) :: version
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine restart4
    subroutine restart8(client, name, version, status, errmsg) bind(c, name='cairn_f_restart8')
      import :: cairn_client, c_int, c_long_long, c_char
      type(cairn_client), intent(in) :: client
      character(len=*, kind=c_char), intent(in) :: name
      integer(c_long_long), intent(in) :: version
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine restart8
  end interface cairn_restart

  !> cairn_restart_latest(client, name, version, status [, max_version, errmsg]): restores the
  !> newest restorable version <= max_version (absent or CAIRN_ANY_VERSION: any) and returns
  !> it in `version`; CAIRN_E_NOT_FOUND when there is none (a fresh start).
  interface cairn_restart_latest
    subroutine restart_latest4(client, name, version, status, max_version, errmsg) &
        bind(c, name='cairn_f_restart_latest4')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      character(len=*, kind=c_char), intent(in) :: name
      integer(c_int), intent(out) :: version
      integer(c_int), intent(out) :: status
      integer(c_int), intent(in), optional :: max_version
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine restart_latest4
    subroutine restart_latest8(client, name, version, status, max_version, errmsg) &
        bind(c, name='cairn_f_restart_latest8')
      import :: cairn_client, c_int, c_long_long, c_char
      type(cairn_client), intent(in) :: client
      character(len=*, kind=c_char), intent(in) :: name
      integer(c_long_long), intent(out) :: version
      integer(c_int), intent(out) :: status
      integer(c_long_long), intent(in), optional :: max_version
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine restart_latest8
  end interface cairn_restart_latest

  !> cairn_restart_test(client, name, version, status [, max_version, errmsg]): the version
  !> cairn_restart_latest would try first, without restoring it.
  interface cairn_restart_test
    subroutine restart_test4(client, name, version, status, max_version, errmsg) &
        bind(c, name='cairn_f_restart_test4')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      character(len=*, kind=c_char), intent(in) :: name
      integer(c_int), intent(out) :: version
      integer(c_int), intent(out) :: status
      integer(c_int), intent(in), optional :: max_version
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine restart_test4
    subroutine restart_test8(client, name, version, status, max_version, errmsg) &
        bind(c, name='cairn_f_restart_test8')
      import :: cairn_client, c_int, c_long_long, c_char
      type(cairn_client), intent(in) :: client
      character(len=*, kind=c_char), intent(in) :: name
      integer(c_long_long), intent(out) :: version
      integer(c_int), intent(out) :: status
      integer(c_long_long), intent(in), optional :: max_version
      character(len=*, kind=c_char), intent(out), optional :: errmsg
    end subroutine restart_test8
  end interface cairn_restart_test

  ! The glue and libcairn calls behind the module procedures below. Their errmsg and group
  ! are not optional: the module procedures pass local variables (gfortran 12 crashes when an
  ! optional dummy is passed on to a character(len=*) argument of a bind(c) interface).
  interface
    subroutine c_open_mpi(client, comm, cfg, status, errmsg) bind(c, name='cairn_f_open_mpi')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(inout) :: client
      integer(c_int), intent(in) :: comm
      character(len=*, kind=c_char), intent(in) :: cfg
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out) :: errmsg
    end subroutine c_open_mpi
    subroutine c_close(client, drain, status, errmsg) bind(c, name='cairn_f_close')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(inout) :: client
      integer(c_int), intent(in) :: drain
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out) :: errmsg
    end subroutine c_close
    subroutine c_protect_ptr(client, id, ptr, bytes, status, group, errmsg) &
        bind(c, name='cairn_f_protect_ptr')
      import :: cairn_client, c_int, c_ptr, c_long_long, c_char
      type(cairn_client), intent(in) :: client
      integer(c_int), intent(in) :: id
      type(c_ptr), value :: ptr
      integer(c_long_long), intent(in) :: bytes
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(in) :: group
      character(len=*, kind=c_char), intent(out) :: errmsg
    end subroutine c_protect_ptr
    subroutine c_need_checkpoint(client, flag, status, errmsg) &
        bind(c, name='cairn_f_need_checkpoint')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      integer(c_int), intent(out) :: flag
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out) :: errmsg
    end subroutine c_need_checkpoint
    subroutine c_should_exit(client, flag, status, errmsg) bind(c, name='cairn_f_should_exit')
      import :: cairn_client, c_int, c_char
      type(cairn_client), intent(in) :: client
      integer(c_int), intent(out) :: flag
      integer(c_int), intent(out) :: status
      character(len=*, kind=c_char), intent(out) :: errmsg
    end subroutine c_should_exit
    type(c_ptr) function c_last_error(client) bind(c, name='cairn_f_last_error')
      import :: cairn_client, c_ptr
      type(cairn_client), intent(in), optional :: client
    end function c_last_error
    type(c_ptr) function c_status_string(status) bind(c, name='cairn_status_string')
      import :: c_ptr, c_int
      integer(c_int), value :: status
    end function c_status_string
    type(c_ptr) function c_version() bind(c, name='cairn_version')
      import :: c_ptr
    end function c_version
    integer(c_size_t) function c_strlen(s) bind(c, name='strlen')
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
    end function c_strlen
  end interface

contains

  subroutine open_mpi_int(client, comm, cfg, status, errmsg)
    type(cairn_client), intent(inout) :: client
    integer, intent(in) :: comm
    character(len=*), intent(in) :: cfg
    integer, intent(out) :: status
    character(len=*), intent(out), optional :: errmsg
    character(len=ERRMSG_LEN) :: msg
    call c_open_mpi(client, int(comm, c_int), cfg, status, msg)
    if (present(errmsg)) errmsg = msg
  end subroutine open_mpi_int

  subroutine open_mpi_f08(client, comm, cfg, status, errmsg)
    type(cairn_client), intent(inout) :: client
    type(MPI_Comm), intent(in) :: comm
    character(len=*), intent(in) :: cfg
    integer, intent(out) :: status
    character(len=*), intent(out), optional :: errmsg
    character(len=ERRMSG_LEN) :: msg
    call c_open_mpi(client, int(comm%MPI_VAL, c_int), cfg, status, msg)
    if (present(errmsg)) errmsg = msg
  end subroutine open_mpi_f08

  !> Closes the client (no-op on a client that is not open). drain (default .true.) waits for
  !> pending asynchronous work and reports its result; .false. abandons it. The client is
  !> closed even when status is an error. Collective in MPI mode.
  subroutine cairn_close(client, status, drain, errmsg)
    type(cairn_client), intent(inout) :: client
    integer, intent(out) :: status
    logical, intent(in), optional :: drain
    character(len=*), intent(out), optional :: errmsg
    integer(c_int) :: d
    character(len=ERRMSG_LEN) :: msg
    d = 1
    if (present(drain)) then
      if (.not. drain) d = 0
    end if
    call c_close(client, d, status, msg)
    if (present(errmsg)) errmsg = msg
  end subroutine cairn_close

  pure logical function cairn_is_open(client)
    type(cairn_client), intent(in) :: client
    cairn_is_open = c_associated(client%handle)
  end function cairn_is_open

  subroutine protect_ptr4(client, id, ptr, bytes, status, group, errmsg)
    type(cairn_client), intent(in) :: client
    integer, intent(in) :: id
    type(c_ptr), intent(in) :: ptr
    integer(4), intent(in) :: bytes
    integer, intent(out) :: status
    character(len=*), intent(in), optional :: group
    character(len=*), intent(out), optional :: errmsg
    call protect_ptr(client, id, ptr, int(bytes, c_long_long), status, group, errmsg)
  end subroutine protect_ptr4

  subroutine protect_ptr8(client, id, ptr, bytes, status, group, errmsg)
    type(cairn_client), intent(in) :: client
    integer, intent(in) :: id
    type(c_ptr), intent(in) :: ptr
    integer(8), intent(in) :: bytes
    integer, intent(out) :: status
    character(len=*), intent(in), optional :: group
    character(len=*), intent(out), optional :: errmsg
    call protect_ptr(client, id, ptr, int(bytes, c_long_long), status, group, errmsg)
  end subroutine protect_ptr8

  subroutine protect_ptr(client, id, ptr, bytes, status, group, errmsg)
    type(cairn_client), intent(in) :: client
    integer, intent(in) :: id
    type(c_ptr), intent(in) :: ptr
    integer(c_long_long), intent(in) :: bytes
    integer, intent(out) :: status
    character(len=*), intent(in), optional :: group
    character(len=*), intent(out), optional :: errmsg
    character(len=:), allocatable :: g
    character(len=ERRMSG_LEN) :: msg
    g = ''
    if (present(group)) g = group
    call c_protect_ptr(client, id, ptr, bytes, status, g, msg)
    if (present(errmsg)) errmsg = msg
  end subroutine protect_ptr

  !> flag = .true. when a checkpoint should be taken now (cairn_need_checkpoint in cairn.h).
  !> Collective in MPI mode.
  subroutine cairn_need_checkpoint(client, flag, status, errmsg)
    type(cairn_client), intent(in) :: client
    logical, intent(out) :: flag
    integer, intent(out) :: status
    character(len=*), intent(out), optional :: errmsg
    integer(c_int) :: f
    character(len=ERRMSG_LEN) :: msg
    f = 0
    call c_need_checkpoint(client, f, status, msg)
    flag = f /= 0
    if (present(errmsg)) errmsg = msg
  end subroutine cairn_need_checkpoint

  !> flag = .true. once a final checkpoint is committed: close the client and end with
  !> status 0. Collective in MPI mode.
  subroutine cairn_should_exit(client, flag, status, errmsg)
    type(cairn_client), intent(in) :: client
    logical, intent(out) :: flag
    integer, intent(out) :: status
    character(len=*), intent(out), optional :: errmsg
    integer(c_int) :: f
    character(len=ERRMSG_LEN) :: msg
    f = 0
    call c_should_exit(client, f, status, msg)
    flag = f /= 0
    if (present(errmsg)) errmsg = msg
  end subroutine cairn_should_exit

  !> The message of the last failed call on `client` in this thread ("" when none). Without
  !> `client` (or with a client that is not open): of the last failed open / close.
  function cairn_last_error(client) result(msg)
    type(cairn_client), intent(in), optional :: client
    character(len=:), allocatable :: msg
    msg = from_c(c_last_error(client))
  end function cairn_last_error

  !> A short description of a status ("OK", "invalid argument", ...).
  function cairn_status_string(status) result(msg)
    integer, intent(in) :: status
    character(len=:), allocatable :: msg
    msg = from_c(c_status_string(int(status, c_int)))
  end function cairn_status_string

  !> The version of libcairn ("0.1.0").
  function cairn_version() result(msg)
    character(len=:), allocatable :: msg
    msg = from_c(c_version())
  end function cairn_version

  ! A copy of the NUL-terminated C string at p ("" for a null pointer).
  function from_c(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: n, i
    if (.not. c_associated(p)) then
      s = ''
      return
    end if
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate (character(len=n) :: s)
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function from_c

end module cairn
