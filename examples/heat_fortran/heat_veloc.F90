! heat_veloc: the heat-diffusion example in Fortran on VeloC's Fortran interface (module
! `veloc`, with the `mpi` module and an integer communicator), written as a VeloC user
! writes it: the protected state is given through pointers, the restart is found with
! VELOC_Restart_test and done with VELOC_Restart_begin / Recover_mem / Restart_end.
!
!   mpirun -np 4 heat_veloc_f heat.cfg --iters 200 --ckpt-every 20
!
! Same output as heat_cairn.F90: "RESTARTED_FROM <v>" or "FRESH", then "RESULT <sum> <hash>".
program heat_veloc
  use, intrinsic :: iso_fortran_env, only: error_unit
  use mpi
  use veloc
  use heat_kernel
  implicit none

  type(heat_options) :: opt
  type(heat_t), target :: h
  integer, target :: iter, grid(2)
  integer, pointer :: piter, pgrid(:)
  real(8), pointer :: cols(:, :)
  integer :: rank, err, v, failures, success
  logical :: ok

  call MPI_Init(err)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, err)
  call heat_parse_args(opt, rank, ok)
  if (.not. ok) then
    call MPI_Finalize(err)
    stop 2
  end if
  call VELOC_Init(MPI_COMM_WORLD, opt%config, err)
  if (err /= VELOC_SCES) call die('VELOC_Init')
  call heat_setup(h, MPI_COMM_WORLD, opt%nx, opt%ny, ok)
  if (.not. ok) call die('heat_setup (more ranks than grid columns)')

  iter = 0
  grid = [opt%nx, opt%ny]
  piter => iter
  pgrid => grid
  cols => h%u(:, 1:h%ncols)
  call VELOC_Mem_protect(0, piter, err)
  if (err == VELOC_SCES) call VELOC_Mem_protect(1, cols, err)
  if (err == VELOC_SCES) call VELOC_Mem_protect(2, pgrid, err)
  if (err /= VELOC_SCES) call die('VELOC_Mem_protect')

  call VELOC_Restart_test('heat', 0, v)
  if (v > 0) then
    success = 1
    call VELOC_Restart_begin('heat', v, err)
    if (err == VELOC_SCES) call VELOC_Recover_mem(err)
    if (err /= VELOC_SCES) success = 0
    call VELOC_Restart_end(success, err)
    if (err /= VELOC_SCES .or. success == 0) call die('restart')
    if (grid(1) /= opt%nx .or. grid(2) /= opt%ny .or. iter /= v) call die('restart: other grid')
    if (rank == 0) print '(a, i0)', 'RESTARTED_FROM ', v
  else
    if (rank == 0) print '(a)', 'FRESH'
  end if
  flush (6)

  failures = 0
  do while (iter < opt%iters)
    call heat_step(h)
    iter = iter + 1
    if (opt%ckpt_every > 0) then
      if (mod(iter, opt%ckpt_every) == 0) then
        call VELOC_Checkpoint('heat', iter, err)
        if (err /= VELOC_SCES) then
          write (error_unit, '(a, i0, a, i0, a)') 'heat_veloc[', rank, &
            ']: checkpoint at iteration ', iter, ' failed'
          failures = failures + 1
        end if
      end if
    end if
    call heat_sleep_ms(opt%sleep_ms)
  end do

  call heat_print_result(h)
  call VELOC_Finalize(1, err)
  if (err /= VELOC_SCES) failures = failures + 1
  call MPI_Finalize(err)
  if (failures /= 0) stop 3

contains

  subroutine die(what)
    character(len=*), intent(in) :: what
    write (error_unit, '(a, i0, a)') 'heat_veloc[', rank, ']: ' // what // ' failed (see the log)'
    call MPI_Abort(MPI_COMM_WORLD, 1, err)
  end subroutine die

end program heat_veloc
