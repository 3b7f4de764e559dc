! The 2-D heat-diffusion kernel shared by heat_cairn.F90 and heat_veloc.F90 (the Fortran
! counterpart of examples/heat/heat_kernel.c).
!
! Explicit (Jacobi) 5-point stencil on an NX x NY grid with fixed boundary values. The grid
! is stored column-major, u(1:nx, 1:ny), and distributed by blocks of columns over the ranks;
! each rank holds its columns plus one halo column on each side, u(:, 0:ncols+1), exchanged
! with MPI_Sendrecv every iteration. Every cell's update is the same arithmetic whatever the
! decomposition, so the result is bit-for-bit independent of the number of ranks.
!
! The state to checkpoint is the owned columns, u(:, 1:ncols) (a contiguous section whose
! address never changes), and the iteration counter kept by the front end.
module heat_kernel
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: int64, error_unit
  use mpi_f08
  implicit none
  private
  public :: heat_options, heat_t, heat_parse_args, heat_setup, heat_step, heat_print_result
  public :: heat_sleep_ms

  type :: heat_options
    character(len=1024) :: config = ''   ! checkpoint configuration file (first argument)
    integer :: nx = 256, ny = 256, iters = 200, ckpt_every = 20, sleep_ms = 0
  end type heat_options

  type :: heat_t
    integer :: nx = 0, ny = 0, rank = 0, size = 1
    integer :: col0 = 0            ! global index (1-based) of the first owned column, minus 1
    integer :: ncols = 0           ! owned columns (may be 0 with more ranks than columns)
    real(8), allocatable :: u(:, :), unew(:, :)
    type(MPI_Comm) :: comm
  end type heat_t

  real(8), parameter :: TOP = 100d0, BOTTOM = 0d0, LEFT = 75d0, RIGHT = 25d0, SPOT = 50d0
  real(8), parameter :: ALPHA = 0.2d0

  interface
    integer(c_int) function c_usleep(us) bind(c, name='usleep')
      import :: c_int
      integer(c_int), value :: us
    end function c_usleep
  end interface

contains

  !> Parses "CONFIG [--nx N --ny N --iters N --ckpt-every K --sleep-ms M]"; ok = .false.
  !> (usage on rank 0's stderr) when they are wrong.
  subroutine heat_parse_args(opt, rank, ok)
    type(heat_options), intent(out) :: opt
    integer, intent(in) :: rank
    logical, intent(out) :: ok
    character(len=1024) :: a, v
    integer :: i, n, ios, val
    ok = .true.
    n = command_argument_count()
    i = 1
    do while (i <= n)
      call get_command_argument(i, a)
      if (a(1:2) == '--') then
        if (i == n) then
          ok = .false.
          exit
        end if
        call get_command_argument(i + 1, v)
        read (v, *, iostat=ios) val
        if (ios /= 0 .or. val < 0) then
          ok = .false.
          exit
        end if
        select case (trim(a))
        case ('--nx'); opt%nx = val
        case ('--ny'); opt%ny = val
        case ('--iters'); opt%iters = val
        case ('--ckpt-every'); opt%ckpt_every = val
        case ('--sleep-ms'); opt%sleep_ms = val
        case default; ok = .false.
        end select
        i = i + 2
      else if (len_trim(opt%config) == 0) then
        opt%config = a
        i = i + 1
      else
        ok = .false.
        exit
      end if
    end do
    if (len_trim(opt%config) == 0 .or. opt%nx < 3 .or. opt%ny < 3) ok = .false.
    if (.not. ok .and. rank == 0) then
      write (error_unit, '(a)') 'usage: heat CONFIG [--nx N] [--ny N] [--iters N] ' // &
        '[--ckpt-every K] [--sleep-ms M]'
    end if
  end subroutine heat_parse_args

  pure real(8) function initial_value(nx, ny, i, j)
    integer, intent(in) :: nx, ny, i, j   ! 1-based global row i, column j
    integer :: di, dj, r
    if (j == 1) then
      initial_value = LEFT
    else if (j == ny) then
      initial_value = RIGHT
    else if (i == 1) then
      initial_value = TOP
    else if (i == nx) then
      initial_value = BOTTOM
    else
      di = i - nx / 2
      dj = j - ny / 2
      r = min(nx, ny) / 8
      initial_value = merge(SPOT, 0d0, di * di + dj * dj <= r * r)
    end if
  end function initial_value

  !> Allocates this rank's block of the grid and sets the initial condition. comm is an
  !> integer (`mpi`) communicator handle (from mpi_f08: MPI_COMM_WORLD%MPI_VAL). ok = .false.
  !> when the grid has fewer columns than there are ranks.
  subroutine heat_setup(h, comm, nx, ny, ok)
    type(heat_t), intent(inout) :: h
    integer, intent(in) :: comm
    integer, intent(in) :: nx, ny
    logical, intent(out) :: ok
    integer :: base, rem, i, j
    h%comm%MPI_VAL = comm
    call MPI_Comm_rank(h%comm, h%rank)
    call MPI_Comm_size(h%comm, h%size)
    ok = nx >= 3 .and. ny >= h%size
    if (.not. ok) return
    h%nx = nx
    h%ny = ny
    base = ny / h%size
    rem = mod(ny, h%size)
    h%ncols = base + merge(1, 0, h%rank < rem)
    h%col0 = h%rank * base + min(h%rank, rem)
    allocate (h%u(nx, 0:h%ncols + 1), h%unew(nx, 0:h%ncols + 1))
    h%u = 0d0
    h%unew = 0d0
    do j = 1, h%ncols
      do i = 1, nx
        h%u(i, j) = initial_value(nx, ny, i, h%col0 + j)
      end do
    end do
  end subroutine heat_setup

  !> One iteration: halo exchange, then the stencil on every non-boundary owned cell.
  subroutine heat_step(h)
    type(heat_t), intent(inout) :: h
    integer :: left, right, i, j, gj, n
    n = h%ncols
    left = merge(h%rank - 1, MPI_PROC_NULL, h%rank > 0)
    right = merge(h%rank + 1, MPI_PROC_NULL, h%rank < h%size - 1)
    call MPI_Sendrecv(h%u(:, 1), h%nx, MPI_DOUBLE_PRECISION, left, 1, &
                      h%u(:, n + 1), h%nx, MPI_DOUBLE_PRECISION, right, 1, h%comm, &
                      MPI_STATUS_IGNORE)
    call MPI_Sendrecv(h%u(:, n), h%nx, MPI_DOUBLE_PRECISION, right, 2, &
                      h%u(:, 0), h%nx, MPI_DOUBLE_PRECISION, left, 2, h%comm, &
                      MPI_STATUS_IGNORE)
    do j = 1, n
      gj = h%col0 + j
      if (gj == 1 .or. gj == h%ny) then
        h%unew(:, j) = h%u(:, j)
        cycle
      end if
      h%unew(1, j) = h%u(1, j)
      do i = 2, h%nx - 1
        h%unew(i, j) = h%u(i, j) + ALPHA * (h%u(i - 1, j) + h%u(i + 1, j) + h%u(i, j - 1) + &
                                            h%u(i, j + 1) - 4d0 * h%u(i, j))
      end do
      h%unew(h%nx, j) = h%u(h%nx, j)
    end do
    ! Copy back instead of swapping: the checkpointed columns keep their address.
    h%u(:, 1:n) = h%unew(:, 1:n)
  end subroutine heat_step

  !> Collective. Rank 0 prints "RESULT <sum> <hash>": the sum of all cells in global column
  !> order and a 64-bit hash of every cell's bits (hex), both independent of the decomposition.
  subroutine heat_print_result(h)
    type(heat_t), intent(in) :: h
    real(8), allocatable :: sums(:), all_sums(:)
    integer, allocatable :: counts(:), displs(:)
    integer(int64) :: local_hash, hash, bits
    integer :: i, j, r
    character(len=40) :: s, x
    allocate (sums(max(h%ncols, 1)), counts(h%size), displs(h%size), all_sums(h%ny))
    local_hash = 0
    do j = 1, h%ncols
      sums(j) = sum(h%u(:, j))
      do i = 1, h%nx
        bits = transfer(h%u(i, j), 0_int64)
        local_hash = ieor(local_hash, ieor(ishftc(bits, mod(i * 7 + (h%col0 + j) * 13, 64)), &
                                           int(h%col0 + j, int64) * 1000003_int64 + i))
      end do
    end do
    call MPI_Gather(h%ncols, 1, MPI_INTEGER, counts, 1, MPI_INTEGER, 0, h%comm)
    if (h%rank == 0) then
      displs(1) = 0
      do r = 2, h%size
        displs(r) = displs(r - 1) + counts(r - 1)
      end do
    end if
    call MPI_Gatherv(sums, h%ncols, MPI_DOUBLE_PRECISION, all_sums, counts, displs, &
                     MPI_DOUBLE_PRECISION, 0, h%comm)
    call MPI_Reduce(local_hash, hash, 1, MPI_INTEGER8, MPI_BXOR, 0, h%comm)
    if (h%rank == 0) then
      write (s, '(es18.10e2)') sum_in_order(all_sums)
      write (x, '(z16.16)') hash
      print '(a)', 'RESULT ' // lower(adjustl(s)) // ' ' // lower(x)
      flush (6)
    end if
  end subroutine heat_print_result

  ! Sum in index order (no reassociation by the compiler).
  real(8) function sum_in_order(v)
    real(8), intent(in) :: v(:)
    integer :: k
    sum_in_order = 0d0
    do k = 1, size(v)
      sum_in_order = sum_in_order + v(k)
    end do
  end function sum_in_order

  function lower(s) result(t)
    character(len=*), intent(in) :: s
    character(len=len_trim(s)) :: t
    integer :: k
    t = s(1:len(t))
    do k = 1, len(t)
      if (t(k:k) >= 'A' .and. t(k:k) <= 'Z') t(k:k) = achar(iachar(t(k:k)) + 32)
    end do
  end function lower

  !> Sleeps ms milliseconds (nothing when ms <= 0).
  subroutine heat_sleep_ms(ms)
    integer, intent(in) :: ms
    integer(c_int) :: rc
    if (ms > 0) rc = c_usleep(int(ms, c_int) * 1000_c_int)
  end subroutine heat_sleep_ms

end module heat_kernel
