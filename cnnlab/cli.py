"""`cnnlab`: a thin command line. Each command lives in cnnlab/commands/<name>.py with
`register(subparsers)`, which adds its parser and sets `func`; the work is done by library
functions that the tests call directly. Command modules import heavy packages (torch, otter,
matplotlib) inside their functions, so `cnnlab costs` does not pay for otter."""
from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import threading


def _drop_script_folder() -> None:
    """The grader never imports from the folder of the `cnnlab` script (the venv's bin/,
    which Python puts first on sys.path): a module planted there would replace ours. Run
    before any import of ours beyond this one."""
    if sys.flags.safe_path or not sys.argv or not sys.argv[0]:
        return
    folder = os.path.dirname(os.path.realpath(sys.argv[0]))
    if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == folder \
            and os.path.basename(sys.argv[0]) != "__main__.py":
        del sys.path[0]


_drop_script_folder()

COMMANDS = ["costs", "build", "grade", "quiz", "mutants", "demo", "doctor", "report"]


class UserError(Exception):
    """A bad input a person can fix: printed as one line, never a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnlab",
        description="Auto-graded assignments and randomized quizzes for the "
                    "'CNN Architectures' unit.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"cnnlab.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except UserError as err:
        print(f"cnnlab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`cnnlab grade --json ... | head`): nothing more to say, and
        # Python must not complain while flushing stdout at exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def run() -> None:
    """The `cnnlab` command (and `python -m cnnlab`): main(), then its exit status.

    Once torch is imported, Python's own exit spends 0.3 to 0.7 s tearing down torch's
    modules and freeing what they hold, after the last line is printed (measured: a
    `cnnlab grade` of one submission, 0.7 s from main's return to the process's end).
    Here the exit does what Python's does first (joins the threads, runs the atexit
    functions, flushes the output) and leaves the rest to the kernel. Every command closes
    the files it writes before it returns, so nothing is lost."""
    code = main()
    if "torch" in sys.modules:
        quick_exit(code)
    sys.exit(code)


def quick_exit(code: int) -> None:
    """End the process with `code` after Python's exit work, but without its teardown."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone, or a stream already closed
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
