! Fortran interface to the C API (lats.h) through bind(C): compile this module with your
! code (e.g. `mpif90 -c lats_f.F90`) and link liblats (`pkg-config --libs lats`).
! Strings passed to LaTS must end with c_null_char; lats_message() turns the C error
! message into a Fortran string.
module lats_f
  use, intrinsic :: iso_c_binding
  implicit none
  private
  public :: lats_initialize, lats_finalize, lats_session_create_f, lats_session_set_points, &
            lats_session_add_field, lats_session_setup, lats_session_step, lats_session_advance, &
            lats_session_host_step, lats_session_synchronize, lats_session_status, lats_session_destroy, &
            lats_session_add_observations, lats_session_record, lats_session_record_finish, &
            lats_session_set_host_step, lats_message
  integer(c_int), parameter, public :: LATS_OK = 0, LATS_ERR_GENERIC = 1, LATS_ERR_CONFIGURATION = 2, &
    LATS_ERR_DIMENSION_MISMATCH = 3, LATS_ERR_FILE_FORMAT = 4, LATS_ERR_MODEL_MISMATCH = 5, &
    LATS_ERR_INVALID_VALUE = 6, LATS_ERR_STEP_FAILED = 7

  interface
    integer(c_int) function lats_initialize(argc, argv) bind(C, name="lats_initialize")
      import :: c_int, c_ptr
      type(c_ptr), value :: argc, argv
    end function
    integer(c_int) function lats_finalize() bind(C, name="lats_finalize")
      import :: c_int
    end function
    integer(c_int) function lats_session_create_f(comm, options, session) bind(C, name="lats_session_create_f")
      import :: c_int, c_char, c_ptr
      integer(c_int), value :: comm
      character(kind=c_char), dimension(*) :: options
      type(c_ptr) :: session
    end function
    integer(c_int) function lats_session_set_points(session, dim, n, xyz) bind(C, name="lats_session_set_points")
      import :: c_int, c_int64_t, c_double, c_ptr
      type(c_ptr), value :: session
      integer(c_int), value :: dim
      integer(c_int64_t), value :: n
      real(c_double), dimension(*) :: xyz
    end function
    integer(c_int) function lats_session_add_field(session, name, components, values) &
        bind(C, name="lats_session_add_field")
      import :: c_int, c_char, c_double, c_ptr
      type(c_ptr), value :: session
      character(kind=c_char), dimension(*) :: name
      integer(c_int), value :: components
      real(c_double), dimension(*) :: values
    end function
    ! step: c_funloc of an integer(c_int) function (context, time, dt, values) bind(C) with
    ! type(c_ptr), value :: context; real(c_double), value :: time, dt; type(c_ptr) :: values(*)
    ! (values(f) is the c_loc of field f's array, in the order the fields were added).
    integer(c_int) function lats_session_set_host_step(session, step, context) &
        bind(C, name="lats_session_set_host_step")
      import :: c_int, c_ptr, c_funptr
      type(c_ptr), value :: session
      type(c_funptr), value :: step
      type(c_ptr), value :: context
    end function
    integer(c_int) function lats_session_setup(session, stepper) bind(C, name="lats_session_setup")
      import :: c_int, c_char, c_ptr
      type(c_ptr), value :: session
      character(kind=c_char), dimension(*) :: stepper
    end function
    integer(c_int) function lats_session_step(session, dt, dt_taken) bind(C, name="lats_session_step")
      import :: c_int, c_double, c_ptr
      type(c_ptr), value :: session
      real(c_double), value :: dt
      real(c_double) :: dt_taken
    end function
    integer(c_int) function lats_session_advance(session, to_time, dt) bind(C, name="lats_session_advance")
      import :: c_int, c_double, c_ptr
      type(c_ptr), value :: session
      real(c_double), value :: to_time, dt
    end function
    integer(c_int) function lats_session_host_step(session, dt) bind(C, name="lats_session_host_step")
      import :: c_int, c_double, c_ptr
      type(c_ptr), value :: session
      real(c_double), value :: dt
    end function
    integer(c_int) function lats_session_synchronize(session) bind(C, name="lats_session_synchronize")
      import :: c_int, c_ptr
      type(c_ptr), value :: session
    end function
    integer(c_int) function lats_session_add_observations(session, time, n, xyz, component, values, noise_std) &
        bind(C, name="lats_session_add_observations")
      import :: c_int, c_int64_t, c_double, c_ptr, c_char
      type(c_ptr), value :: session
      real(c_double), value :: time
      integer(c_int64_t), value :: n
      real(c_double), intent(in) :: xyz(*), values(*), noise_std(*)
      character(kind=c_char), intent(in) :: component(*)  ! NUL-terminated: trim(name)//c_null_char
    end function
    integer(c_int) function lats_session_record(session, path, every) bind(C, name="lats_session_record")
      import :: c_int, c_ptr, c_char
      type(c_ptr), value :: session
      character(kind=c_char), intent(in) :: path(*)  ! NUL-terminated
      integer(c_int), value :: every
    end function
    integer(c_int) function lats_session_record_finish(session) bind(C, name="lats_session_record_finish")
      import :: c_int, c_ptr
      type(c_ptr), value :: session
    end function
    integer(c_int) function lats_session_status(session, time, steps, last_step_status) &
        bind(C, name="lats_session_status")
      import :: c_int, c_int64_t, c_double, c_ptr
      type(c_ptr), value :: session
      real(c_double) :: time
      integer(c_int64_t) :: steps
      integer(c_int) :: last_step_status
    end function
    integer(c_int) function lats_session_destroy(session) bind(C, name="lats_session_destroy")
      import :: c_int, c_ptr
      type(c_ptr) :: session
    end function
    type(c_ptr) function c_session_last_error(session) bind(C, name="lats_session_last_error")
      import :: c_ptr
      type(c_ptr), value :: session
    end function
    integer(c_size_t) function c_strlen(s) bind(C, name="strlen")
      import :: c_size_t, c_ptr
      type(c_ptr), value :: s
    end function
  end interface

contains

  !> The message of the session's last failure (or of the last failure without a session
  !> when `session` is c_null_ptr).
  function lats_message(session) result(message)
    type(c_ptr), value :: session
    character(len=:), allocatable :: message
    type(c_ptr) :: p
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    p = c_session_last_error(session)
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate (character(len=n) :: message)
    do i = 1, n
      message(i:i) = chars(i)
    end do
  end function

end module lats_f
