"""The daemons an e2e check starts (nsd, unbound, the agent). Each logs to TMP/NAME.log, and its
pid goes to TMP/pids, which the shell script's exit trap kills whatever becomes of the check."""
import subprocess


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
