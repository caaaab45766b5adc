! The C API from Fortran through the lats_f module: a Burgers model steps a Fortran array in
! place on 1 or 2 ranks; status and an error message come back; the host's own step function
! (lats_session_set_host_step) is the session's "classical" stepper. Usage: test_fortran MODEL_DIR
module host_decay
  use, intrinsic :: iso_c_binding
  implicit none
contains
  ! The host's step: u <- u exp(-dt) on the context's number of values.
  integer(c_int) function decay(context, time, dt, values) bind(C)
    type(c_ptr), value :: context
    real(c_double), value :: time, dt
    type(c_ptr), intent(in) :: values(*)
    integer(c_int), pointer :: m
    real(c_double), pointer :: v(:)
    call c_f_pointer(context, m)
    call c_f_pointer(values(1), v, [m])
    v = v * exp(-dt)
    decay = 0
  end function
end module

program test_fortran
  use, intrinsic :: iso_c_binding
  use mpi
  use lats_f
  use host_decay
  implicit none
  integer, parameter :: n = 32
  type(c_ptr) :: s
  integer :: ierr, rank, size, first, last, i, failures
  character(len=64) :: path
  real(c_double), allocatable, target :: x(:), u(:), u0(:), expected(:)
  integer(c_int), target :: nlocal
  real(c_double) :: taken, t
  integer(c_int64_t) :: steps
  integer(c_int) :: status
  character(len=1024) :: model

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, size, ierr)
  failures = 0
  call get_command_argument(1, model)
  first = rank * n / size
  last = (rank + 1) * n / size
  allocate (x(last - first), u(last - first), u0(last - first))
  do i = 1, last - first
    x(i) = (first + i - 1 + 0.5d0) / n
    u(i) = sin(2 * acos(-1.0d0) * x(i)) + 0.5d0
  end do
  u0 = u
  call check(lats_initialize(c_null_ptr, c_null_ptr) == LATS_OK, "initialize")
  call check(lats_session_create_f(MPI_COMM_WORLD, "-lats_model "//trim(model)// &
             " -lats_surrogate_parameters nu=0.02"//c_null_char, s) == LATS_OK, "create")
  call check(lats_session_set_points(s, 1_c_int, int(last - first, c_int64_t), x) == LATS_OK, "points")
  call check(lats_session_add_field(s, "burgers"//c_null_char, 1_c_int, u) == LATS_OK, "field")
  call check(lats_session_setup(s, "surrogate"//c_null_char) == LATS_OK, "setup: "//lats_message(s))
  ! One file per rank count (a finished dataset is never overwritten); rank 0 removes an old one.
  write(path, '(a,i0,a)') "fortran_record_np", size, ".h5"
  if (rank == 0) then
    open(newunit=i, file=trim(path), status="unknown")
    close(i, status="delete")
  end if
  call MPI_Barrier(MPI_COMM_WORLD, ierr)
  call check(lats_session_record(s, trim(path)//c_null_char, 0_c_int) == LATS_ERR_INVALID_VALUE, &
             "record every 0 is refused")
  call check(lats_session_record(s, trim(path)//c_null_char, 1_c_int) == LATS_OK, "record: "//lats_message(s))
  do i = 1, 3
    call check(lats_session_step(s, 0.05d0, taken) == LATS_OK, "step")
    call check(abs(taken - 0.05d0) < 1d-15, "dt taken")
  end do
  call check(lats_session_status(s, t, steps, status) == LATS_OK, "status")
  call check(abs(t - 0.15d0) < 1d-14 .and. steps == 3 .and. status == 0, "time, steps, status")
  call check(maxval(abs(u - u0)) > 1d-3, "the surrogate wrote into the Fortran array")
  call check(lats_session_record_finish(s) == LATS_OK, "record finish: "//lats_message(s))
  call check(lats_session_record_finish(s) == LATS_OK, "a second finish does nothing")
  call check(lats_session_step(s, 0.01d0, taken) == LATS_ERR_STEP_FAILED, "a too small step fails")
  call check(index(lats_message(s), "model's time step") > 0, "message: "//lats_message(s))
  call check(lats_session_destroy(s) == LATS_OK, "destroy")
  call check(.not. c_associated(s), "destroy sets the handle to NULL")
  ! The host's own step from Fortran: two steps of "classical" = two decays, exactly.
  u = u0
  expected = u0 * exp(-0.05d0)
  expected = expected * exp(-0.05d0)
  nlocal = int(last - first, c_int)
  call check(lats_session_create_f(MPI_COMM_WORLD, ""//c_null_char, s) == LATS_OK, "create (host step)")
  call check(lats_session_set_points(s, 1_c_int, int(last - first, c_int64_t), x) == LATS_OK, "points")
  call check(lats_session_add_field(s, "u"//c_null_char, 1_c_int, u) == LATS_OK, "field")
  call check(lats_session_set_host_step(s, c_funloc(decay), c_loc(nlocal)) == LATS_OK, "host step")
  call check(lats_session_setup(s, "classical"//c_null_char) == LATS_OK, "setup classical: "//lats_message(s))
  do i = 1, 2
    call check(lats_session_step(s, 0.05d0, taken) == LATS_OK, "host step "//lats_message(s))
  end do
  call check(all(u == expected) .and. maxval(abs(u - u0)) > 1d-3, "two host steps through LaTS = two decays")
  call check(lats_session_destroy(s) == LATS_OK, "destroy (host step)")
  call check(lats_finalize() == LATS_OK, "finalize")
  if (rank == 0) print '(a,i0,a)', "[fortran] ", failures, " failure(s)"
  call MPI_Finalize(ierr)
  if (failures > 0) stop 1

contains

  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (.not. ok) then
      failures = failures + 1
      print '(a,a)', "test_fortran: failed: ", what
    end if
  end subroutine

end program
