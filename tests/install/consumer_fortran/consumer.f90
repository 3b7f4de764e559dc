! A downstream Fortran program on an installed cairn: module cairn (independent mode:
! protect, checkpoint, scribble, restart, check) and module veloc (init / finalize).
! Usage: consumer_f CONFIG_FILE. Prints "fortran consumer OK", or a FAIL line and status 1.
program consumer_f
  use cairn
  use veloc
  implicit none
  type(cairn_client) :: c
  integer, target :: a(4, 3)
  integer :: st, v, err
  character(len=1024) :: cfg, msg

  call get_command_argument(1, cfg)
  call cairn_open_single(c, 0, cfg, st, msg)
  if (st /= CAIRN_OK) call fail('cairn_open_single: ' // msg)
  a = reshape([(v * 3, v = 1, 12)], shape(a))
  call cairn_protect(c, 0, a, st, errmsg=msg)
  if (st == CAIRN_OK) call cairn_checkpoint(c, 'consumer', 1, st, msg)
  if (st /= CAIRN_OK) call fail('checkpoint: ' // msg)
  a = -1
  call cairn_restart_latest(c, 'consumer', v, st, errmsg=msg)
  if (st /= CAIRN_OK .or. v /= 1) call fail('restart: ' // msg)
  if (any(a /= reshape([(v * 3, v = 1, 12)], shape(a)))) call fail('values not restored')
  call cairn_close(c, st)
  if (st /= CAIRN_OK) call fail('close: ' // cairn_last_error())
  call VELOC_Init_single(0, cfg, err)
  if (err /= VELOC_SUCCESS) call fail('VELOC_Init_single')
  call VELOC_Finalize(1, err)
  if (err /= VELOC_SUCCESS) call fail('VELOC_Finalize')
  print '(a)', 'fortran consumer OK'

contains

  subroutine fail(what)
    character(len=*), intent(in) :: what
    print '(a)', 'FAIL: ' // trim(what)
    error stop 1
  end subroutine fail

end program consumer_f
