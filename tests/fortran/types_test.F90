! Module cairn in independent mode: protects variables of many types, kinds and ranks
! (types_state.F90), checkpoints, scribbles, restarts and checks every value; then the error
! paths (status codes and messages, never a stop). Prints "PASS" and ends with status 0, or
! prints a "FAIL:" line per problem and ends with status 1.
!
!   types_test CONFIG_FILE
program types_test
  use, intrinsic :: iso_c_binding
  use cairn
  use types_state
  implicit none

  type(cairn_client) :: c, other
  integer :: st, v
  integer(8) :: v8
  logical :: ok, flag
  character(len=256) :: cfg
  character(len=2000) :: msg
  character(len=:), allocatable :: last

  ok = .true.
  if (command_argument_count() /= 1) then
    print '(a)', 'usage: types_test CONFIG_FILE'
    error stop 2
  end if
  call get_command_argument(1, cfg)

  ! --- open, protect everything
  call check(.not. cairn_is_open(c), 'a new client is not open')
  call cairn_open_single(c, 0, cfg, st, msg)
  call require(st == CAIRN_OK, 'cairn_open_single: ' // trim(msg))
  call check(cairn_is_open(c) .and. cairn_rank(c) == 0 .and. cairn_size(c) == 1, 'rank and size')
  call fill(1)
  call cairn_protect(c, 1, i1, st); call ck(1)
  call cairn_protect(c, 2, i2, st); call ck(2)
  call cairn_protect(c, 3, i4, st); call ck(3)
  call cairn_protect(c, 4, i8, st); call ck(4)
  call cairn_protect(c, 5, r4, st); call ck(5)
  call cairn_protect(c, 10, r8_0, st); call ck(10)
  call cairn_protect(c, 11, r8_1, st); call ck(11)
  call cairn_protect(c, 12, r8_2, st); call ck(12)
  call cairn_protect(c, 13, r8_3, st); call ck(13)
  call cairn_protect(c, 14, r8_4, st); call ck(14)
  call cairn_protect(c, 15, r8_5, st); call ck(15)
  call cairn_protect(c, 16, r8_6, st); call ck(16)
  call cairn_protect(c, 17, r8_7, st); call ck(17)
#ifdef CAIRN_TEST_REAL16
  call cairn_protect(c, 18, r16, st); call ck(18)
#endif
  call cairn_protect(c, 20, c4, st); call ck(20)
  call cairn_protect(c, 21, c8, st); call ck(21)
  call cairn_protect(c, 22, l4, st); call ck(22)
  call cairn_protect(c, 23, l1, st); call ck(23)
  call cairn_protect(c, 24, s5, st); call ck(24)
  call cairn_protect(c, 25, s12, st); call ck(25)
  call cairn_protect(c, 26, parts, st); call ck(26)
  call cairn_protect(c, 27, alloc, st); call ck(27)
  call cairn_protect(c, 28, ptr, st); call ck(28)
  call cairn_protect(c, 29, big(:, 2:4), st, group=' '); call ck(29)
  ! The same memory through its C address (cairn_protect_ptr), default and integer(8) sizes.
  call cairn_protect_ptr(c, 100, c_loc(i4), 4, st)
  call check(st == CAIRN_OK, 'cairn_protect_ptr (default integer size)')
  call cairn_protect_ptr(c, 101, c_loc(r8_1), int(storage_size(r8_1) / 8 * size(r8_1), 8), st)
  call check(st == CAIRN_OK, 'cairn_protect_ptr (integer(8) size)')

  ! --- checkpoint 1 (seed 1), scribble, restart the newest: seed 1 again
  call cairn_checkpoint(c, 'types', 1, st, msg)
  call require(st == CAIRN_OK, 'checkpoint 1: ' // trim(msg))
  call cairn_wait(c, st)
  call check(st == CAIRN_OK, 'cairn_wait')
  call fill(2)
  call cairn_restart_test(c, 'types', v, st)
  call check(st == CAIRN_OK .and. v == 1, 'restart_test finds version 1')
  call verify(2, 2, ok)                ! restart_test restores nothing
  call cairn_restart_latest(c, 'types', v, st, errmsg=msg)
  call require(st == CAIRN_OK, 'restart_latest: ' // trim(msg))
  call check(v == 1, 'restart_latest restored version 1')
  call verify(1, 2, ok)

  ! --- checkpoint 2 (seed 3, integer(8) version); exact restarts of 1 and 2
  call fill(3)
  call cairn_checkpoint(c, 'types', 2_8, st)
  call require(st == CAIRN_OK, 'checkpoint 2')
  call fill(4)
  call cairn_restart(c, 'types', 1, st)
  call check(st == CAIRN_OK, 'restart version 1')
  call verify(1, 4, ok)
  call cairn_restart(c, 'types', 2_8, st)
  call check(st == CAIRN_OK, 'restart version 2')
  call verify(3, 4, ok)
  call fill(5)
  call cairn_restart_latest(c, 'types', v8, st, max_version=1_8)
  call check(st == CAIRN_OK .and. v8 == 1, 'restart_latest with max_version 1 (integer(8))')
  call verify(1, 5, ok)
  call cairn_restart_latest(c, 'types', v, st, max_version=CAIRN_ANY_VERSION)
  call check(st == CAIRN_OK .and. v == 2, 'restart_latest: newest is 2')
  call verify(3, 5, ok)

  ! --- error paths: a status and a message, the program goes on
  call cairn_protect(c, 50, big(1:4:2, :), st, errmsg=msg)
  call check_error(CAIRN_E_INVALID, 'contiguous', 'non-contiguous section')
  call cairn_protect(c, 51, parts%x, st, errmsg=msg)
  call check_error(CAIRN_E_INVALID, 'contiguous', 'component of an array of derived type')
  call cairn_protect_ptr(c, 52, c_loc(i4), -1, st, errmsg=msg)
  call check_error(CAIRN_E_INVALID, 'negative', 'negative size')
  call cairn_checkpoint(c, 'bad/name', 3, st, msg)
  call check_error(CAIRN_E_INVALID, '', 'bad checkpoint name')
  call cairn_checkpoint(c, 'nul' // c_null_char // 'x', 3, st, msg)
  call check_error(CAIRN_E_INVALID, 'NUL', 'NUL in a checkpoint name')
  call cairn_restart_latest(c, 'nothing_here', v, st, errmsg=msg)
  call check_error(CAIRN_E_NOT_FOUND, '', 'restart of an unknown checkpoint')
  call cairn_restart(c, 'types', 99, st, msg)
  call check(st /= CAIRN_OK .and. len_trim(msg) > 0, 'restart of a missing version')
  call cairn_unprotect(c, 77, st, errmsg=msg)
  call check_error(CAIRN_E_NOT_FOUND, '', 'unprotect of an unknown id')
  call cairn_unprotect(c, 100, st)
  call check(st == CAIRN_OK, 'unprotect')
  call cairn_open_single(c, 0, cfg, st, msg)
  call check_error(CAIRN_E_INVALID, 'already open', 'open of an open client')
  call cairn_need_checkpoint(c, flag, st)
  call check(st == CAIRN_OK, 'need_checkpoint')
  call cairn_should_exit(c, flag, st)
  call check(st == CAIRN_OK .and. .not. flag, 'should_exit is false')
  ! A version that does not fit a default integer.
  call cairn_checkpoint(c, 'types', 3000000000_8, st)
  call check(st == CAIRN_OK, 'checkpoint with an integer(8) version')
  call cairn_restart_test(c, 'types', v, st, errmsg=msg)
  call check_error(CAIRN_E_INVALID, 'integer(8)', 'version too large for a default integer')
  call cairn_restart_test(c, 'types', v8, st)
  call check(st == CAIRN_OK .and. v8 == 3000000000_8, 'restart_test (integer(8))')

  call check(cairn_status_string(CAIRN_E_NOT_FOUND) == 'not found', 'cairn_status_string')
  call check(len(cairn_version()) > 0, 'cairn_version')

  ! --- close; calls on a closed client fail with a message
  call cairn_close(c, st, errmsg=msg)
  call check(st == CAIRN_OK .and. .not. cairn_is_open(c), 'close: ' // trim(msg))
  call cairn_close(c, st)
  call check(st == CAIRN_OK, 'close of a closed client is a no-op')
  call cairn_checkpoint(c, 'types', 4, st, msg)
  call check_error(CAIRN_E_INVALID, 'not open', 'checkpoint on a closed client')
  call cairn_open_single(other, -1, cfg, st, msg)
  call check_error(CAIRN_E_INVALID, 'rank', 'negative rank')
  call cairn_open_single(other, 0, '/nonexistent/dir/no.cfg', st, msg)
  call check(st /= CAIRN_OK .and. len_trim(msg) > 0 .and. .not. cairn_is_open(other), &
             'open with a missing configuration file')
  last = cairn_last_error()
  call check(len(last) > 0 .and. trim(msg) == last, 'cairn_last_error() after a failed open')

  if (ok) then
    print '(a)', 'PASS'
  else
    error stop 1
  end if

contains

  ! The protection of id must have succeeded.
  subroutine ck(id)
    integer, intent(in) :: id
    if (st /= CAIRN_OK) then
      print '(a, i0, a)', 'FAIL: protect id ', id, ': ' // cairn_last_error(c)
      ok = .false.
    end if
  end subroutine ck

  subroutine check(cond, what)
    logical, intent(in) :: cond
    character(len=*), intent(in) :: what
    if (.not. cond) then
      print '(a)', 'FAIL: ' // what
      ok = .false.
    end if
  end subroutine check

  subroutine require(cond, what)
    logical, intent(in) :: cond
    character(len=*), intent(in) :: what
    if (.not. cond) then
      print '(a)', 'FAIL: ' // what
      error stop 1
    end if
  end subroutine require

  ! st must be `want`; msg and cairn_last_error(c) must be non-empty, equal, and contain
  ! `word` (when not blank).
  subroutine check_error(want, word, what)
    integer, intent(in) :: want
    character(len=*), intent(in) :: word, what
    character(len=:), allocatable :: m
    m = cairn_last_error(c)
    if (st /= want) then
      print '(a, i0, a, i0, a)', 'FAIL: ' // what // ': status ', st, ' (expected ', want, &
        '): ' // trim(msg)
      ok = .false.
    else if (len_trim(msg) == 0 .or. trim(msg) /= m) then
      print '(a)', 'FAIL: ' // what // ': errmsg "' // trim(msg) // '" vs cairn_last_error "' // m // '"'
      ok = .false.
    else if (len_trim(word) > 0 .and. index(msg, trim(word)) == 0) then
      print '(a)', 'FAIL: ' // what // ': message without "' // trim(word) // '": ' // trim(msg)
      ok = .false.
    end if
  end subroutine check_error

end program types_test
