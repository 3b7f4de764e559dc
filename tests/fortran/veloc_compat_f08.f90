! VeloC's Fortran interface with `use mpi_f08`: VELOC_Init takes type(MPI_Comm); TARGET
! variables of several types, kinds and ranks are protected directly; the one-call
! VELOC_Checkpoint / VELOC_Restart, a routed file, and cairn's extensions
! (VELOC_Need_checkpoint, VELOC_Should_exit, VELOC_Recover_size).
!
!   mpirun -np 2 veloc_compat_f08 CONFIG first | second
!
! Rank 0 prints "PASS"; a failed check prints "FAIL: ..." and ends with a non-zero status.
program veloc_compat_f08
  use mpi_f08
  use veloc
  implicit none

  integer :: rank, err, v, nbytes, u, ios
  integer(8), target :: counter
  complex(8), target :: z(3, 3)
  character(len=10), target :: tag(2)
  logical, target :: flags(4)
  character(len=1024) :: cfg, routed
  character(len=16) :: mode, line
  logical :: need, quit

  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call get_command_argument(1, cfg)
  call get_command_argument(2, mode)
  call VELOC_Init(MPI_COMM_WORLD, cfg, err)
  call check(err == VELOC_SUCCESS, 'VELOC_Init with type(MPI_Comm)')
  call VELOC_Mem_protect(10, counter, err)
  call check(err == VELOC_SUCCESS, 'protect integer(8) scalar')
  call VELOC_Mem_protect(11, z, err)
  call check(err == VELOC_SUCCESS, 'protect complex(8) rank 2')
  call VELOC_Mem_protect(12, tag, err)
  call check(err == VELOC_SUCCESS, 'protect character(10) rank 1')
  call VELOC_Mem_protect(13, flags, err)
  call check(err == VELOC_SUCCESS, 'protect logical rank 1')

  if (mode == 'first') then
    call VELOC_Restart_test('f08', 0, v)
    call check(v == VELOC_FAILURE, 'nothing to restart at first')
    call fill(rank)
    call VELOC_Checkpoint('f08', 3, err)
    call check(err == VELOC_SUCCESS, 'VELOC_Checkpoint')
    ! A checkpoint with a routed file.
    call VELOC_Checkpoint_begin('f08', 4, err)
    call VELOC_Route_file('side.txt', routed, err)
    call check(err == VELOC_SUCCESS .and. len_trim(routed) > 0, 'VELOC_Route_file')
    open (newunit=u, file=trim(routed), status='replace', action='write')
    write (u, '(a, i0)') 'side ', rank
    close (u)
    call VELOC_Checkpoint_mem(err)
    call VELOC_Checkpoint_end(1, err)
    call check(err == VELOC_SUCCESS, 'checkpoint 4 with a routed file')
    call VELOC_Need_checkpoint(need, err)
    call check(err == VELOC_SUCCESS, 'VELOC_Need_checkpoint')
    call VELOC_Should_exit(quit, err)
    call check(err == VELOC_SUCCESS .and. .not. quit, 'VELOC_Should_exit')
  else
    call VELOC_Restart_test('f08', 0, v)
    call check(v == 4, 'VELOC_Restart_test finds version 4')
    call fill(-1)
    call VELOC_Restart('f08', 3, err)
    call check(err == VELOC_SUCCESS, 'VELOC_Restart of version 3')
    call verify(rank)
    call fill(-1)
    call VELOC_Restart_begin('f08', 4, err)
    call VELOC_Recover_size(11, nbytes)
    call check(nbytes == 9 * 16, 'VELOC_Recover_size of z')
    call VELOC_Route_file('side.txt', routed, err)
    call check(err == VELOC_SUCCESS, 'VELOC_Route_file at restart')
    open (newunit=u, file=trim(routed), status='old', action='read', iostat=ios)
    call check(ios == 0, 'the routed file is there')
    read (u, '(a)') line
    close (u)
    call check(trim(line) == 'side ' // achar(48 + rank), 'the routed file holds what was written')
    call VELOC_Recover_mem(err)
    call VELOC_Restart_end(1, err)
    call check(err == VELOC_SUCCESS, 'restart of version 4')
    call verify(rank)
  end if
  call VELOC_Finalize(1, err)
  call check(err == VELOC_SUCCESS, 'VELOC_Finalize')
  call MPI_Finalize()
  if (rank == 0) print '(a)', 'PASS'

contains

  subroutine fill(seed)
    integer, intent(in) :: seed
    integer :: k
    counter = 5000000000_8 + seed
    z = reshape([(cmplx(k + seed, -k, 8), k = 1, 9)], [3, 3])
    tag = ['rank ' // achar(48 + mod(abs(seed), 10)) // '    ', 'second    ']
    flags = [(mod(k + seed, 2) == 0, k = 1, 4)]
  end subroutine fill

  subroutine verify(seed)
    integer, intent(in) :: seed
    integer :: k
    call check(counter == 5000000000_8 + seed, 'integer(8) restored')
    call check(all(z == reshape([(cmplx(k + seed, -k, 8), k = 1, 9)], [3, 3])), 'complex restored')
    call check(tag(1) == 'rank ' // achar(48 + mod(abs(seed), 10)) .and. tag(2) == 'second', &
               'character restored')
    call check(all(flags .eqv. [(mod(k + seed, 2) == 0, k = 1, 4)]), 'logical restored')
  end subroutine verify

  subroutine check(cond, what)
    logical, intent(in) :: cond
    character(len=*), intent(in) :: what
    if (.not. cond) then
      print '(a, i0, a)', 'FAIL: rank ', rank, ': ' // what
      call MPI_Abort(MPI_COMM_WORLD, 1)
    end if
  end subroutine check

end program veloc_compat_f08
