! Fortran: allocatable arrays (allocated, grown with move_alloc and deallocated every few
! steps), a module array, a derived type with an allocatable component, and formatted file
! I/O: WORKDIR/fortran.txt written one line per step (its record count checked by re-reading
! every 20 steps) and an unformatted direct-access file updated record by record. Sleeps call
! usleep through a C binding. Prints only at the end.
module mx_state
  implicit none
  real(8), allocatable :: field(:,:)
  type :: bag
    integer, allocatable :: items(:)
    integer :: n = 0
  end type
end module

program fortran_arrays
  use mx_state
  use iso_c_binding
  implicit none
  interface
    integer(c_int) function usleep(us) bind(c, name='usleep')
      import :: c_int
      integer(c_int), value :: us
    end function
  end interface
  integer, parameter :: steps = 200, n = 300
  character(len=4096) :: dir
  integer :: s, i, j, k, ios, lines, rc
  real(8), allocatable :: tmp(:)
  real(8), allocatable :: grow(:)
  real(8) :: total, expect
  type(bag) :: b
  integer :: rec(16)

  call get_command_argument(1, dir)
  if (len_trim(dir) == 0) call fail('usage: fortran_arrays WORKDIR', 0)
  allocate(field(n, n))
  do j = 1, n
    do i = 1, n
      field(i, j) = real(i + j, 8)
    end do
  end do
  allocate(grow(10))
  grow = 1.0d0
  open(unit=10, file=trim(dir)//'/fortran.txt', status='replace', action='write', &
       form='formatted')
  open(unit=11, file=trim(dir)//'/fortran.dat', status='replace', action='readwrite', &
       form='unformatted', access='direct', recl=64)
  do k = 1, 32
    rec = k
    write(11, rec=k) rec
  end do
  total = 0
  do s = 1, steps
    ! field: every element +1; check a diagonal
    field = field + 1.0d0
    do i = 1, n, 7
      if (field(i, i) /= real(2 * i + s, 8)) call fail('field lost', s)
    end do
    ! grow: move_alloc doubles the array every 20 steps, contents kept
    if (mod(s, 20) == 0) then
      allocate(tmp(2 * size(grow)))
      tmp = 0
      tmp(1:size(grow)) = grow
      tmp(size(grow) + 1:) = real(s, 8)
      call move_alloc(tmp, grow)
    end if
    if (grow(1) /= 1.0d0 .or. allocated(tmp)) call fail('grow lost', s)
    ! bag: allocate/deallocate the component
    if (allocated(b%items)) deallocate(b%items)
    allocate(b%items(mod(s, 13) + 1))
    b%items = s
    b%n = b%n + size(b%items)
    ! formatted output, one line per step
    write(10, '(a,i4,a,f16.2)') 'step ', s, ' sum ', sum(field(:, s))
    flush(10)
    ! direct access: update one record, read another back
    rec = s
    write(11, rec=mod(s, 32) + 1) rec
    read(11, rec=mod(s + 16, 32) + 1) rec
    if (s > 16) then
      if (rec(1) /= s - 16 .or. rec(16) /= s - 16) call fail('direct-access record lost', s)
    end if
    if (mod(s, 20) == 0) then
      open(unit=12, file=trim(dir)//'/fortran.txt', status='old', action='read')
      lines = 0
      do
        read(12, *, iostat=ios)
        if (ios /= 0) exit
        lines = lines + 1
      end do
      close(12)
      if (lines /= s) call fail('fortran.txt line count', s)
    end if
    total = total + sum(grow) + sum(b%items)
    rc = usleep(15000_c_int)
  end do
  close(10)
  close(11)
  expect = 0
  do j = 1, n
    do i = 1, n
      expect = expect + real(i + j + steps, 8)
    end do
  end do
  if (sum(field) /= expect) call fail('final field sum', steps)
  print '(a,i6,a,i8,a,f20.1)', 'fortran grow ', size(grow), ' bag ', b%n, ' total ', total
  print '(a,f20.1)', 'field sum ', sum(field)

contains
  subroutine fail(msg, step)
    character(len=*), intent(in) :: msg
    integer, intent(in) :: step
    write(0, '(a,a,a,i0)') 'fortran_arrays: check failed: ', msg, ' at step ', step
    call exit(3)
  end subroutine
end program
