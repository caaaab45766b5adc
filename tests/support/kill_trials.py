"""Shared by the SIGKILL tests (generate_dataset_test.py, record_test.py): run a command and
kill it, with everything it started, after a delay."""
import os
import signal
import subprocess
import time


def run_or_kill(command, delay, pattern, what="a resumed run"):
    """Runs `command`; after `delay` seconds kills it and every process whose command line
    holds `pattern` (MPI ranks leave mpiexec's process group) with SIGKILL. Returns True when
    it was killed, False when it finished first (SystemExit if it failed)."""
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        subprocess.run(["pkill", "-9", "-f", pattern], check=False)
        time.sleep(0.2)
        return True
    if process.returncode != 0:
        raise SystemExit(f"{what} failed with exit status {process.returncode}")
    return False
