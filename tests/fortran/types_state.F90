! State of types_test.F90: variables of many types, kinds and ranks, filled from a seed and
! checked against it. fill(seed) sets every variable; verify(seed, ok) compares each one.
module types_state
  use, intrinsic :: iso_c_binding
  implicit none
  public

  type, bind(c) :: particle
    real(c_double) :: x, y
    integer(c_int) :: k
  end type particle

  integer(1), target :: i1(3, 4)
  integer(2), target :: i2(5)
  integer(4), target :: i4
  integer(8), target :: i8(2, 2, 2)
  real(4), target :: r4(7)
  real(8), target :: r8_0, r8_1(3), r8_2(2, 3), r8_3(2, 3, 2), r8_4(2, 1, 3, 2)
  real(8), target :: r8_5(2, 2, 1, 2, 3), r8_6(1, 2, 2, 2, 1, 3), r8_7(2, 2, 2, 2, 2, 2, 2)
#ifdef CAIRN_TEST_REAL16
  real(16), target :: r16(2, 3)
#endif
  complex(4), target :: c4(2, 3)
  complex(8), target :: c8(4)
  logical, target :: l4(6)
  logical(1), target :: l1(3, 1)
  character(len=5), target :: s5(3)
  character(len=12), target :: s12
  type(particle), target :: parts(3)
  real(8), allocatable, target :: alloc(:, :)
  integer, pointer :: ptr(:) => null()
  real(8), target :: big(4, 6)      ! only big(:, 2:4) is protected

contains

  ! n values derived from seed.
  pure function seq(seed, n) result(v)
    integer, intent(in) :: seed, n
    real(8) :: v(n)
    integer :: k
    v = [(dble(seed) * 1000d0 + dble(k) * 1.25d0, k = 1, n)]
  end function seq

  subroutine fill(seed)
    integer, intent(in) :: seed
    integer :: k
    if (.not. allocated(alloc)) allocate (alloc(3, 5))
    if (.not. associated(ptr)) allocate (ptr(9))
    i1 = reshape(int(mod(int(seq(seed, 12)), 127), 1), shape(i1))
    i2 = int(mod(int(seq(seed + 1, 5)), 30000), 2)
    i4 = seed * 7 + 1
    i8 = reshape(int(seq(seed, 8), 8) * 1000000007_8, shape(i8))
    r4 = real(seq(seed + 2, 7), 4)
    r8_0 = seed + 0.5d0
    r8_1 = seq(seed + 1, size(r8_1))
    r8_2 = reshape(seq(seed + 2, size(r8_2)), shape(r8_2))
    r8_3 = reshape(seq(seed + 3, size(r8_3)), shape(r8_3))
    r8_4 = reshape(seq(seed + 4, size(r8_4)), shape(r8_4))
    r8_5 = reshape(seq(seed + 5, size(r8_5)), shape(r8_5))
    r8_6 = reshape(seq(seed + 6, size(r8_6)), shape(r8_6))
    r8_7 = reshape(seq(seed + 7, size(r8_7)), shape(r8_7))
#ifdef CAIRN_TEST_REAL16
    r16 = reshape(real(seq(seed, 6), 16) / 3, shape(r16))
#endif
    c4 = reshape(cmplx(seq(seed, 6), -seq(seed + 1, 6), 4), shape(c4))
    c8 = cmplx(seq(seed, 4), seq(seed + 9, 4), 8)
    l4 = mod(int(seq(seed, 6)) + [(k, k = 1, 6)], 2) == 0
    l1 = reshape(logical(mod(int(seq(seed, 3)) + [1, 2, 3], 3) == 0, 1), shape(l1))
    do k = 1, 3
      s5(k) = repeat(achar(65 + mod(seed + k, 26)), 5)
    end do
    s12 = 'seed ' // achar(97 + mod(seed, 26)) // '-' // achar(48 + mod(seed, 10)) // '.end'
    do k = 1, 3
      parts(k) = particle(seed + k * 0.5d0, -seed - k * 0.25d0, seed * 10 + k)
    end do
    alloc = reshape(seq(seed + 11, 15), shape(alloc))
    ptr = int(seq(seed + 12, 9))
    big = reshape(seq(seed + 13, 24), shape(big))
  end subroutine fill

  ! ok = .false. (and a line on stdout) for every variable that does not hold seed's values.
  ! big's columns 1, 5 and 6 (not protected) must hold those of `outside`.
  subroutine verify(seed, outside, ok)
    integer, intent(in) :: seed, outside
    logical, intent(inout) :: ok
    integer :: k
    real(8) :: b(4, 6), o(4, 6)
    call expect(all(i1 == reshape(int(mod(int(seq(seed, 12)), 127), 1), shape(i1))), 'integer(1) rank 2')
    call expect(all(i2 == int(mod(int(seq(seed + 1, 5)), 30000), 2)), 'integer(2) rank 1')
    call expect(i4 == seed * 7 + 1, 'integer(4) scalar')
    call expect(all(i8 == reshape(int(seq(seed, 8), 8) * 1000000007_8, shape(i8))), 'integer(8) rank 3')
    call expect(all(r4 == real(seq(seed + 2, 7), 4)), 'real(4) rank 1')
    call expect(r8_0 == seed + 0.5d0, 'real(8) rank 0')
    call expect(all(r8_1 == seq(seed + 1, size(r8_1))), 'real(8) rank 1')
    call expect(all(r8_2 == reshape(seq(seed + 2, size(r8_2)), shape(r8_2))), 'real(8) rank 2')
    call expect(all(r8_3 == reshape(seq(seed + 3, size(r8_3)), shape(r8_3))), 'real(8) rank 3')
    call expect(all(r8_4 == reshape(seq(seed + 4, size(r8_4)), shape(r8_4))), 'real(8) rank 4')
    call expect(all(r8_5 == reshape(seq(seed + 5, size(r8_5)), shape(r8_5))), 'real(8) rank 5')
    call expect(all(r8_6 == reshape(seq(seed + 6, size(r8_6)), shape(r8_6))), 'real(8) rank 6')
    call expect(all(r8_7 == reshape(seq(seed + 7, size(r8_7)), shape(r8_7))), 'real(8) rank 7')
#ifdef CAIRN_TEST_REAL16
    call expect(all(r16 == reshape(real(seq(seed, 6), 16) / 3, shape(r16))), 'real(16) rank 2')
#endif
    call expect(all(c4 == reshape(cmplx(seq(seed, 6), -seq(seed + 1, 6), 4), shape(c4))), 'complex(4) rank 2')
    call expect(all(c8 == cmplx(seq(seed, 4), seq(seed + 9, 4), 8)), 'complex(8) rank 1')
    call expect(all(l4 .eqv. (mod(int(seq(seed, 6)) + [(k, k = 1, 6)], 2) == 0)), 'logical rank 1')
    call expect(logical(all(l1 .eqv. reshape(logical(mod(int(seq(seed, 3)) + [1, 2, 3], 3) == 0, 1), &
                                              shape(l1)))), 'logical(1) rank 2')
    do k = 1, 3
      call expect(s5(k) == repeat(achar(65 + mod(seed + k, 26)), 5), 'character(5) rank 1')
      call expect(parts(k)%x == seed + k * 0.5d0 .and. parts(k)%y == -seed - k * 0.25d0 .and. &
                  parts(k)%k == seed * 10 + k, 'derived type rank 1')
    end do
    call expect(s12 == 'seed ' // achar(97 + mod(seed, 26)) // '-' // achar(48 + mod(seed, 10)) // '.end', &
                'character(12) scalar')
    call expect(all(alloc == reshape(seq(seed + 11, 15), shape(alloc))), 'allocatable real(8) rank 2')
    call expect(all(ptr == int(seq(seed + 12, 9))), 'pointer integer rank 1')
    b = reshape(seq(seed + 13, 24), shape(big))
    o = reshape(seq(outside + 13, 24), shape(big))
    call expect(all(big(:, 2:4) == b(:, 2:4)), 'contiguous section big(:, 2:4)')
    call expect(all(big(:, 1) == o(:, 1)) .and. all(big(:, 5:6) == o(:, 5:6)), &
                'memory outside the protected section untouched')
  contains
    subroutine expect(cond, what)
      logical, intent(in) :: cond
      character(len=*), intent(in) :: what
      if (.not. cond) then
        print '(a, i0, a)', 'FAIL: seed ', seed, ': ' // what
        ok = .false.
      end if
    end subroutine expect
  end subroutine verify

end module types_state
