! heat_cairn: the heat-diffusion example in Fortran on module `cairn` (with mpi_f08).
!
!   mpirun -np 4 heat_cairn_f heat.cfg --iters 200 --ckpt-every 20
!
! Protects the iteration counter, the owned columns and the grid's shape; restarts from the
! newest restorable checkpoint when there is one (prints "RESTARTED_FROM <v>", else "FRESH"),
! checkpoints every K iterations and prints "RESULT <sum> <hash>" (heat_kernel.F90). Errors
! are reported with cairn's message (status codes, never a stop inside cairn).
program heat_cairn
  use, intrinsic :: iso_fortran_env, only: error_unit
  use mpi_f08
  use cairn
  use heat_kernel
  implicit none

  type(cairn_client) :: c
  type(heat_options) :: opt
  type(heat_t), target :: h
  integer, target :: iter, grid(2)
  integer :: rank, st, v, failures
  logical :: ok
  character(len=1024) :: msg

  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call heat_parse_args(opt, rank, ok)
  if (.not. ok) then
    call MPI_Finalize()
    stop 2
  end if
  call cairn_open(c, MPI_COMM_WORLD, opt%config, st, msg)
  if (st /= CAIRN_OK) call die('cairn_open')
  call heat_setup(h, MPI_COMM_WORLD%MPI_VAL, opt%nx, opt%ny, ok)
  if (.not. ok) then
    msg = 'more ranks than grid columns'
    call die('heat_setup')
  end if

  iter = 0
  grid = [opt%nx, opt%ny]
  call cairn_protect(c, 0, iter, st, errmsg=msg)
  if (st == CAIRN_OK) call cairn_protect(c, 1, h%u(:, 1:h%ncols), st, errmsg=msg)
  if (st == CAIRN_OK) call cairn_protect(c, 2, grid, st, errmsg=msg)
  if (st /= CAIRN_OK) call die('cairn_protect')

  call cairn_restart_latest(c, 'heat', v, st, errmsg=msg)
  if (st == CAIRN_OK) then
    if (grid(1) /= opt%nx .or. grid(2) /= opt%ny .or. iter /= v) then
      write (msg, '(a, i0, a, i0, a, i0)') 'the checkpoint holds a ', grid(1), ' x ', grid(2), &
        ' grid at iteration ', iter
      call die('restart')
    end if
    if (rank == 0) print '(a, i0)', 'RESTARTED_FROM ', v
  else if (st == CAIRN_E_NOT_FOUND) then
    if (rank == 0) print '(a)', 'FRESH'
  else
    call die('cairn_restart_latest')
  end if
  flush (6)

  failures = 0
  do while (iter < opt%iters)
    call heat_step(h)
    iter = iter + 1
    if (opt%ckpt_every > 0) then
      if (mod(iter, opt%ckpt_every) == 0) then
        call cairn_checkpoint(c, 'heat', iter, st, msg)
        if (st /= CAIRN_OK) then
          write (error_unit, '(a, i0, a, i0, a)') 'heat_cairn[', rank, &
            ']: checkpoint at iteration ', iter, ' failed: ' // trim(msg)
          failures = failures + 1
        end if
      end if
    end if
    call heat_sleep_ms(opt%sleep_ms)
  end do

  call heat_print_result(h)
  call cairn_close(c, st, errmsg=msg)
  if (st /= CAIRN_OK) then
    write (error_unit, '(a, i0, a)') 'heat_cairn[', rank, ']: cairn_close: ' // trim(msg)
    failures = failures + 1
  end if
  call MPI_Finalize()
  if (failures /= 0) stop 3

contains

  subroutine die(what)
    character(len=*), intent(in) :: what
    write (error_unit, '(a, i0, a)') 'heat_cairn[', rank, ']: ' // what // ': ' // &
      cairn_status_string(st) // ': ' // trim(msg)
    call MPI_Abort(MPI_COMM_WORLD, 1)
  end subroutine die

end program heat_cairn
