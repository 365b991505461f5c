"""The daemons an e2e check starts (nsd, unbound, the agent), and the agent's JSONL as it grows.
Each daemon logs to TMP/NAME.log, and its pid goes to TMP/pids, which the shell script's exit
trap kills whatever becomes of the check."""
import subprocess


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
