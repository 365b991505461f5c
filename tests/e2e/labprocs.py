"""The daemons an e2e check starts (nsd, unbound, the agent), and the agent's JSONL as it grows.
Each daemon logs to TMP/NAME.log, and its pid goes to TMP/pids, which the shell script's exit
trap kills whatever becomes of the check."""
import ctypes
import os
import signal
import subprocess
import time

PR_SET_CHILD_SUBREAPER = 36


class LineTail:
    """A file another process appends lines to, read a whole line at a time"""

    def __init__(self, path):
        self.path = path
        self.pos = 0

    def new_lines(self):
        """The lines completed since the last call (none while the file does not exist)"""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.pos += end
        return data[:end].split(b"\n")[:-1]


class Procs(dict):
    """name -> the Popen of what runs under that name now"""

    def __init__(self, tmp):
        super().__init__()
        self.tmp = tmp
        # A daemon that exits before its workers (nsd's server processes) leaves them to be
        # reaped by whoever is the subreaper: this check, which waits for them in stop_all(),
        # rather than this machine's init, which leaves them as zombies for seconds.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def start(self, name, argv):
        log = open(f"{self.tmp}/{name}.log", "a")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self[name] = p
        with open(f"{self.tmp}/pids", "a") as f:
            f.write(f"{p.pid}\n")
        return p

    def stop(self, name):
        """Terminates it, killed after 5 s; its exit status"""
        p = self.pop(name)
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        return p.returncode

    def stop_all(self):
        for name in list(self):
            self.stop(name)
        self.reap_orphans()

    @staticmethod
    def orphans():
        """pids of the processes whose parent is this one"""
        me, out = os.getpid(), []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        out.append(int(pid))
            except (OSError, IndexError, ValueError):
                pass
        return out

    def reap_orphans(self, seconds=5):
        """Waits for the workers the stopped daemons left behind, killed after seconds"""
        deadline = time.monotonic() + seconds
        while self.orphans() and time.monotonic() < deadline + seconds:
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            except ChildProcessError:
                return
            if time.monotonic() > deadline:
                for pid in self.orphans():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            time.sleep(0.05)
