"""Run every process of the Procfile under supervisord: one that dies is started again, the others
keep running. `make run` runs `python scripts/supervise.py Procfile`.

Each Procfile line becomes a supervisord program running `honcho start -f Procfile <name>`, the
command docker-compose runs for that service, so the Procfile stays the one definition of each
process and a new line there is a new supervised process. Everything goes to the terminal: honcho
prefixes each line with the time and the process name, supervisord says when a process exited and
when it was started again. Ctrl-C (SIGINT) or SIGTERM stops them all and exits.

Each honcho writes every line it relays in one write (`relay`), so that supervisord, reading all
the processes' pipes at once, never puts one process's line inside another's.

A process that keeps dying within START_S of its start (a missing model file, say) is tried
START_RETRIES times, then given up on with a FATAL line, and the others keep running.
"""

import shlex
import sys
import tempfile
from pathlib import Path

from honcho import command as honcho_command
from honcho.environ import parse_procfile
from supervisor import supervisord

START_S = 5  # up this long: started; a death later is a crash, restarted at once
START_RETRIES = 10  # deaths within START_S in a row (after 1, 2, ... s) before giving up
GROUP = "chexweb"
RELAY = "--relay"  # the command of each program: `supervise.py --relay PROCFILE NAME`
STOP_WAIT_S = 15  # after SIGTERM; honcho itself kills its process 5 s after passing SIGTERM on


def procfile_names(procfile: Path) -> list[str]:
    names = list(parse_procfile(procfile.read_text()).processes)
    if not names:
        raise SystemExit(f"{procfile}: no processes (lines `name: command`)")
    return names


def supervisord_config(procfile: Path, run_dir: Path) -> str:
    """supervisord's configuration: one program per Procfile line, its output on our stdout."""
    procfile = procfile.resolve()
    # Every writer opens stdout anew in append mode (silent: not through supervisord's own
    # descriptor too), so no line overwrites another when stdout is a file.
    sections = [_section("supervisord", nodaemon="true", silent="true", logfile="/dev/stdout",
                         logfile_maxbytes=0, pidfile=run_dir / "supervisord.pid")]
    names = procfile_names(procfile)
    # One group: Ctrl-C stops every process at once, not one after another.
    sections.append(_section(f"group:{GROUP}", programs=",".join(names)))
    for name in names:
        command = shlex.join([sys.executable, str(Path(__file__).resolve()), RELAY, str(procfile),
                              name])
        sections.append(_section(
            f"program:{name}", command=command, directory=procfile.parent,
            autorestart="true", startsecs=START_S, startretries=START_RETRIES,
            stopsignal="TERM", stopwaitsecs=STOP_WAIT_S, killasgroup="true",
            redirect_stderr="true", stdout_logfile="/dev/stdout", stdout_logfile_maxbytes=0,
        ))
    return "\n".join(sections)


def _section(name: str, **values) -> str:
    # supervisord expands %(name)s in values: a literal % is written %%.
    lines = [f"{key}={str(value).replace('%', '%%')}" for key, value in values.items()]
    return "\n".join([f"[{name}]", *lines, ""])


def relay(procfile: Path, name: str) -> None:
    """`honcho start -f PROCFILE NAME`, each prefixed line written whole. With PYTHONUNBUFFERED
    (which the product's processes under honcho want) print() writes a line and its newline in
    two writes, and supervisord wrote another process's line between them."""
    sys.stdout.reconfigure(line_buffering=True, write_through=False)
    honcho_command.main(["start", "-f", str(procfile), name])


def main(argv: list[str]) -> None:
    if argv[:1] == [RELAY]:
        relay(Path(argv[1]), argv[2])
        return
    procfile = Path(argv[0] if argv else "Procfile")
    with tempfile.TemporaryDirectory(prefix="chexweb-supervise-") as run_dir:
        config = Path(run_dir) / "supervisord.conf"
        config.write_text(supervisord_config(procfile, Path(run_dir)))
        supervisord.main(["--nodaemon", "--configuration", str(config)])


if __name__ == "__main__":
    main(sys.argv[1:])
