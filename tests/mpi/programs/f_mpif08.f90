! Fortran with the `use mpi_f08` module (typed handles: type(MPI_Comm), type(MPI_Datatype),
! type(MPI_Request), type(MPI_Status)): a ring exchange with MPI_Sendrecv on MPI_COMM_WORLD,
! MPI_Isend / MPI_Irecv + MPI_Waitall and MPI_Allreduce (integer sum, double max) on a
! communicator made by MPI_Comm_dup, and a derived type (MPI_Type_vector, every third element)
! sent and received as contiguous integers; ierror left out (optional in mpi_f08). Same
! contract as the C programs (tests/mpi/programs/mt.h): f_mpif08 [STEPS [STEP_MS]].
module f_mpif08_util
  use iso_c_binding
  use mpi_f08
  implicit none
  interface
    integer(c_int) function usleep(us) bind(c, name='usleep')
      import :: c_int
      integer(c_int), value :: us
    end function
  end interface
  integer :: rank = -1
contains
  subroutine fail(msg, step)
    character(len=*), intent(in) :: msg
    integer, intent(in) :: step
    write(*, '(A,I0,A,A,A,I0)') 'FAIL f_mpif08 rank ', rank, ': ', msg, ' at step ', step
    flush(6)
    call MPI_Abort(MPI_COMM_WORLD, 1)
    stop 1
  end subroutine
  integer function val(s, r, i)
    integer, intent(in) :: s, r, i
    val = int(mod(int(s, 8) * 7919_8 + int(r, 8) * 104729_8 + int(i, 8) * 31_8 + &
                  int(s, 8) * int(r, 8) * int(i, 8), 1000003_8))
  end function
  subroutine mix(h, v)
    integer(8), intent(inout) :: h
    integer, intent(in) :: v
    h = mod(h * 31_8 + int(v, 8) + 1000003_8, 2147483647_8)
  end subroutine
end module

program f_mpif08
  use f_mpif08_util
  implicit none
  integer :: ierr, nproc, steps, step_ms, s, i, right, left, rc, every, q, cnt
  type(MPI_Comm) :: dup
  type(MPI_Datatype) :: vec
  type(MPI_Status) :: status, statuses(2)
  type(MPI_Request) :: reqs(2)
  integer :: out(8), in(8), a(12), got(4), isum, iwant, mine, result
  double precision :: dout(5), din(5), dmax, dwant
  integer(8) :: h, total
  integer(8), allocatable :: all(:)
  character(len=32) :: arg

  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call MPI_Comm_size(MPI_COMM_WORLD, nproc)
  steps = 150
  step_ms = 40
  if (command_argument_count() >= 1) then
    call get_command_argument(1, arg)
    read(arg, *) steps
  end if
  if (command_argument_count() >= 2) then
    call get_command_argument(2, arg)
    read(arg, *) step_ms
  end if
  right = mod(rank + 1, nproc)
  left = mod(rank + nproc - 1, nproc)
  call MPI_Comm_dup(MPI_COMM_WORLD, dup, ierr)
  if (ierr /= MPI_SUCCESS) call fail('MPI_Comm_dup', -1)
  call MPI_Comm_compare(MPI_COMM_WORLD, dup, result)
  if (result /= MPI_CONGRUENT) call fail('MPI_Comm_compare', -1)
  call MPI_Type_vector(4, 1, 3, MPI_INTEGER, vec)
  call MPI_Type_commit(vec, ierr)
  if (ierr /= MPI_SUCCESS) call fail('MPI_Type_commit', -1)
  h = 17
  every = max(1, steps / 20)

  do s = 0, steps - 1
    if (rank == 0 .and. (mod(s, every) == 0 .or. s == steps - 1)) then
      write(0, '(A,I0,A,I0)') 'PROGRESS f_mpif08 ', s + 1, ' ', steps
      flush(0)
    end if
    ! ring on MPI_COMM_WORLD
    do i = 1, 8
      out(i) = val(s, rank, i)
    end do
    in = -1
    call MPI_Sendrecv(out, 8, MPI_INTEGER, right, 1, in, 8, MPI_INTEGER, left, 1, &
                      MPI_COMM_WORLD, status, ierr)
    if (ierr /= MPI_SUCCESS) call fail('MPI_Sendrecv', s)
    call MPI_Get_count(status, MPI_INTEGER, cnt)
    if (cnt /= 8 .or. status%MPI_SOURCE /= left) call fail('sendrecv status', s)
    do i = 1, 8
      if (in(i) /= val(s, left, i)) call fail('sendrecv data', s)
      call mix(h, in(i))
    end do
    ! nonblocking on the dup
    do i = 1, 5
      dout(i) = dble(val(s, rank, 10 + i)) * 0.5d0
    end do
    call MPI_Irecv(din, 5, MPI_DOUBLE_PRECISION, left, 2, dup, reqs(1))
    call MPI_Isend(dout, 5, MPI_DOUBLE_PRECISION, right, 2, dup, reqs(2))
    call MPI_Waitall(2, reqs, statuses, ierr)
    if (ierr /= MPI_SUCCESS) call fail('MPI_Waitall', s)
    do i = 1, 5
      if (din(i) /= dble(val(s, left, 10 + i)) * 0.5d0) call fail('isend/irecv data', s)
    end do
    ! allreduce on the dup
    mine = val(s, rank, 0)
    call MPI_Allreduce(mine, isum, 1, MPI_INTEGER, MPI_SUM, dup)
    call MPI_Allreduce(din(1), dmax, 1, MPI_DOUBLE_PRECISION, MPI_MAX, dup)
    iwant = 0
    dwant = -1d0
    do q = 0, nproc - 1
      iwant = iwant + val(s, q, 0)
      dwant = max(dwant, dble(val(s, q, 11)) * 0.5d0)
    end do
    if (isum /= iwant .or. dmax /= dwant) call fail('allreduce', s)
    call mix(h, isum)
    ! derived type: every third element of a(12) -> 4 contiguous integers
    do i = 1, 12
      a(i) = val(s, rank, 100 + i)
    end do
    got = -1
    call MPI_Sendrecv(a, 1, vec, right, 3, got, 4, MPI_INTEGER, left, 3, MPI_COMM_WORLD, &
                      status)
    do i = 1, 4
      if (got(i) /= val(s, left, 100 + 3 * (i - 1) + 1)) call fail('vector type data', s)
      call mix(h, got(i))
    end do
    rc = usleep(int(step_ms * 1000, c_int))
  end do

  allocate(all(nproc))
  call MPI_Gather(h, 1, MPI_INTEGER8, all, 1, MPI_INTEGER8, 0, MPI_COMM_WORLD)
  if (rank == 0) then
    total = int(steps, 8)
    do q = 1, nproc
      total = mod(total * 1000003_8 + all(q), 2147483647_8)
    end do
    write(*, '(A,I0)') 'RESULT f_mpif08 ', total
    write(*, '(A)') 'OK'
    flush(6)
  end if
  call MPI_Type_free(vec)
  call MPI_Comm_free(dup)
  call MPI_Finalize()
end program
