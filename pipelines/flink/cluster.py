"""A real Flink session cluster on this machine: one JobManager and N TaskManagers.

For users without Docker, and for the tests: `roadchief flink up` starts Flink's own
entry points from its jars (`make flink`) with `conf/config.yaml`, on free ports, and
waits until the REST API reports every TaskManager and its slots. The cluster's folder
holds what it needs and what it leaves: `cluster.json` (ports and pids), `log/`,
`checkpoints/`, `savepoints/` and each process's `tmp/`. Every process is stopped by its
pid (`down`); a TaskManager can be added or killed while a job runs, as a failover would.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from pipelines.flink.tools import CONF, FLINK_HOME, JAVA17_OPENS, missing

STATE = "cluster.json"
_UTILS = "org.apache.flink.runtime.util.bash.BashJavaUtils"
_RESULT = "BASH_JAVA_UTILS_EXEC_RESULT:"


class FlinkClusterError(RuntimeError):
    """The cluster could not be started, reached or stopped; the message says where to look."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FlinkCluster:
    """The session cluster whose state lives in `folder`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()
        self._state_file = self.folder / STATE
        self.state = json.loads(self._state_file.read_text()) if self._state_file.exists() else {}

    @property
    def rest_port(self) -> int:
        return self.state["rest_port"]

    @property
    def master(self) -> str:
        """What `--flink_master` takes."""
        return f"localhost:{self.rest_port}"

    @property
    def web_ui(self) -> str:
        return f"http://localhost:{self.rest_port}/"

    def up(self, taskmanagers: int = 1, rest_port: int = 0, timeout_s: float = 180.0) -> dict:
        """Start the JobManager and `taskmanagers` TaskManagers; returns the REST overview."""
        problem = missing(FLINK_HOME / "lib")
        if problem:
            raise FlinkClusterError(problem)
        if self.state and self._alive(self.state.get("jobmanager")):
            raise FlinkClusterError(f"a cluster from {self.folder} is already up at {self.web_ui}")
        for sub in ("log", "checkpoints", "savepoints"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.state = {"rest_port": rest_port or free_port(), "rpc_port": free_port(), "taskmanagers": {}}
        self.state["jobmanager"] = self._start("jobmanager", "GET_JM_RESOURCE_PARAMS",
                                               "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint")
        self._save()
        for _ in range(taskmanagers):
            self.add_taskmanager(wait=False)
        return self.wait(taskmanagers, timeout_s)

    def add_taskmanager(self, wait: bool = True, timeout_s: float = 120.0) -> str:
        """Start one more TaskManager; returns its id (tm1, tm2, ...)."""
        number = 1 + max((int(name[2:]) for name in self.state["taskmanagers"]), default=0)
        name = f"tm{number}"
        self.state["taskmanagers"][name] = self._start(
            name, "GET_TM_RESOURCE_PARAMS", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
            "-D", f"taskmanager.resource-id={name}", "-D", "taskmanager.rpc.port=0",
            "-D", "taskmanager.data.port=0")
        self._save()
        if wait:
            self.wait(len(self._running_taskmanagers()), timeout_s)
        return name

    def kill_taskmanager(self, name: str) -> None:
        """SIGKILL one TaskManager, as a crashed machine would stop it."""
        pid = self.state["taskmanagers"].pop(name)
        _stop(pid, signal.SIGKILL)
        self._save()

    def wait(self, taskmanagers: int, timeout_s: float = 180.0) -> dict:
        """Until the REST API reports `taskmanagers` TaskManagers and all their slots."""
        deadline = time.monotonic() + timeout_s
        overview = {}
        while time.monotonic() < deadline:
            if not self._alive(self.state["jobmanager"]):
                raise FlinkClusterError(f"the JobManager stopped; see {self.folder / 'log' / 'jobmanager.log'}")
            try:
                overview = self.overview()
                if overview.get("taskmanagers", 0) >= taskmanagers and overview.get("slots-total", 0) > 0:
                    return overview
            except OSError:
                pass
            time.sleep(0.5)
        raise FlinkClusterError(f"no {taskmanagers} TaskManager(s) after {timeout_s:.0f} s (last: {overview}); "
                                f"see {self.folder / 'log'}")

    def overview(self) -> dict:
        return self._get("/overview")

    def jobs(self) -> list[dict]:
        return self._get("/jobs/overview")["jobs"]

    def checkpoints(self, job_id: str) -> dict:
        return self._get(f"/jobs/{job_id}/checkpoints")

    def cancel_running_jobs(self) -> list[str]:
        """Cancel every running job (a live job runs until cancelled); returns their ids."""
        cancelled = []
        for job in self.jobs():
            if job["state"] in ("RUNNING", "RESTARTING", "CREATED"):
                request = urllib.request.Request(f"http://localhost:{self.rest_port}/jobs/{job['jid']}?mode=cancel",
                                                 method="PATCH")
                urllib.request.urlopen(request, timeout=10).close()
                cancelled.append(job["jid"])
        return cancelled

    def down(self) -> list[str]:
        """Stop every process of the cluster by its pid; returns what was stopped."""
        stopped = []
        for name, pid in [*self.state.get("taskmanagers", {}).items(), ("jobmanager", self.state.get("jobmanager"))]:
            if pid and self._alive(pid):
                _stop(pid, signal.SIGTERM)
                stopped.append(f"{name} (pid {pid})")
        for tmp in self.folder.glob("tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)  # each job leaves a copy of its jars there
        self._state_file.unlink(missing_ok=True)
        self.state = {}
        return stopped

    def _running_taskmanagers(self) -> list[str]:
        return [name for name, pid in self.state["taskmanagers"].items() if self._alive(pid)]

    def _start(self, name: str, utility: str, entry_point: str, *extra: str) -> int:
        tmp = self.folder / f"tmp-{name}"
        tmp.mkdir(parents=True, exist_ok=True)
        dynamic = ["-D", f"rest.port={self.state['rest_port']}", "-D", f"jobmanager.rpc.port={self.state['rpc_port']}",
                   "-D", f"state.checkpoints.dir=file://{self.folder / 'checkpoints'}",
                   "-D", f"state.savepoints.dir=file://{self.folder / 'savepoints'}",
                   "-D", f"io.tmp.dirs={tmp}", *extra]
        jvm, resources = _resource_flags(utility, dynamic)
        log = self.folder / "log" / f"{name}.log"
        with open(log.with_suffix(".out"), "ab") as out:
            process = subprocess.Popen(
                ["java", *jvm, *JAVA17_OPENS, f"-Dlog.file={log}",
                 f"-Dlog4j.configurationFile=file:{CONF / 'log4j2.properties'}",
                 "-cp", f"{FLINK_HOME / 'lib'}/*", entry_point, "--configDir", str(CONF), *dynamic, *resources],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return process.pid

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://localhost:{self.rest_port}{path}", timeout=5) as reply:
            return json.load(reply)

    def _save(self) -> None:
        self._state_file.write_text(json.dumps(self.state, indent=2) + "\n")

    @staticmethod
    def _alive(pid) -> bool:
        if not pid:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:  # a child that died but was not reaped is a zombie: not alive
            return os.waitpid(pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return True


def _resource_flags(utility: str, dynamic: list[str]) -> tuple[list[str], list[str]]:
    """The JVM flags and the derived memory settings of a JobManager or TaskManager, as
    Flink's scripts get them from BashJavaUtils."""
    done = subprocess.run(
        ["java", "-cp", f"{FLINK_HOME / 'bin' / 'bash-java-utils.jar'}:{FLINK_HOME / 'lib'}/*", _UTILS,
         utility, "--configDir", str(CONF), *dynamic], capture_output=True, text=True, timeout=120)
    results = [line[len(_RESULT):] for line in done.stdout.splitlines() if line.startswith(_RESULT)]
    if done.returncode != 0 or len(results) < 2:
        raise FlinkClusterError(f"Flink refused its memory configuration: {(done.stdout + done.stderr)[-800:]}")
    return results[0].split(), results[1].split()


def _stop(pid: int, first: int) -> None:
    try:
        os.kill(pid, first)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not FlinkCluster._alive(pid):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
