! A program written for VeloC's Fortran interface, the way its users write it (`use VELOC`,
! `use MPI`, an integer communicator, the state protected through pointers, the checkpoint and
! restart protocol spelled out), built unchanged against cairn's module veloc.
!
!   mpirun -np 2 veloc_compat_mpi CONFIG first    ! fresh: checkpoints version 7
!   mpirun -np 2 veloc_compat_mpi CONFIG second   ! restarts version 7 and checks every value
!
! Rank 0 prints "PASS"; a failed check prints "FAIL: ..." and ends with a non-zero status.
program veloc_compat_mpi
  use VELOC
  use MPI
  use, intrinsic :: iso_c_binding, only: c_loc
  implicit none

  integer, target :: comm, i, err
  integer :: rank, nbProcs, restart_iter, ckpt_success, restart_success
  integer, pointer :: ptriter
  real(8), pointer :: g(:, :), h(:, :)
  integer(2), target :: raw(10)
  character(len=1024) :: cfg
  character(len=16) :: mode
  logical :: second

  call MPI_Init(err)
  call MPI_Comm_size(MPI_COMM_WORLD, nbProcs, err)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, err)
  call get_command_argument(1, cfg)
  call get_command_argument(2, mode)
  second = mode == 'second'
  comm = MPI_COMM_WORLD
  call VELOC_Init(comm, cfg, err)
  call check(err == VELOC_SCES, 'VELOC_Init')

  allocate (g(6, 5))
  allocate (h(6, 5))
  ptriter => i
  call VELOC_Mem_protect(0, ptriter, err)
  call check(err == VELOC_SCES, 'protect the iteration (integer pointer)')
  call VELOC_Mem_protect(1, h, err)
  call check(err == VELOC_SCES, 'protect h (real(8) pointer, rank 2)')
  call VELOC_Mem_protect(2, g, err)
  call check(err == VELOC_SCES, 'protect g (real(8) pointer, rank 2)')
  call VELOC_Mem_protect(3, c_loc(raw), size(raw), VELOC_INTEGER2, err)
  call check(err == VELOC_SCES, 'protect raw memory (c_loc, count, base size)')
  ckpt_success = 1
  restart_success = 1

  call VELOC_Restart_test("fcompat", 0, restart_iter)
  if (.not. second) then
    call check(restart_iter == VELOC_NSCS, 'no checkpoint before the first run')
    i = 7
    call fill(rank)
    call VELOC_Checkpoint_wait(err)
    call VELOC_Checkpoint_begin("fcompat", i, err)
    call check(err == VELOC_SCES, 'VELOC_Checkpoint_begin')
    call VELOC_Checkpoint_mem(err)
    call check(err == VELOC_SCES, 'VELOC_Checkpoint_mem')
    call VELOC_Checkpoint_end(ckpt_success, err)
    call check(err == VELOC_SCES, 'VELOC_Checkpoint_end')
    ! Errors: a status, a logged reason, and the program goes on.
    call VELOC_Mem_protect(4, g(1:6:2, :), err)
    call check(err == VELOC_NSCS, 'a non-contiguous section is refused')
    call VELOC_Checkpoint("bad name!", 8, err)
    call check(err == VELOC_NSCS, 'a bad checkpoint name is refused')
    call VELOC_Mem_unprotect(99, err)
    call check(err == VELOC_NSCS, 'unprotect of an unknown id')
  else
    call check(restart_iter == 7, 'VELOC_Restart_test finds version 7')
    i = -1
    call fill(-100)
    call VELOC_Restart_begin("fcompat", restart_iter, err)
    call check(err == VELOC_SCES, 'VELOC_Restart_begin')
    call VELOC_Recover_mem(err)
    call check(err == VELOC_SCES, 'VELOC_Recover_mem')
    call VELOC_Restart_end(restart_success, err)
    call check(err == VELOC_SCES, 'VELOC_Restart_end')
    call check(i == 7, 'the iteration is restored')
    call verify(rank)
  end if

  call VELOC_Finalize(0, err)
  call check(err == VELOC_SCES, 'VELOC_Finalize')
  call MPI_Finalize(err)
  if (rank == 0) print '(a)', 'PASS'

contains

  subroutine fill(seed)
    integer, intent(in) :: seed
    integer :: r, c
    do c = 1, 5
      do r = 1, 6
        g(r, c) = seed * 100 + r + c * 0.5d0
        h(r, c) = -seed * 100 - r * c * 0.25d0
      end do
    end do
    raw = int([(seed * 10 + r, r = 1, 10)], 2)
  end subroutine fill

  subroutine verify(seed)
    integer, intent(in) :: seed
    integer :: r, c
    do c = 1, 5
      do r = 1, 6
        call check(g(r, c) == seed * 100 + r + c * 0.5d0, 'g restored')
        call check(h(r, c) == -seed * 100 - r * c * 0.25d0, 'h restored')
      end do
    end do
    call check(all(raw == int([(seed * 10 + r, r = 1, 10)], 2)), 'raw memory restored')
  end subroutine verify

  subroutine check(cond, what)
    logical, intent(in) :: cond
    character(len=*), intent(in) :: what
    if (.not. cond) then
      print '(a, i0, a)', 'FAIL: rank ', rank, ': ' // what
      call MPI_Abort(MPI_COMM_WORLD, 1, err)
    end if
  end subroutine check

end program veloc_compat_mpi
