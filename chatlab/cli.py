"""The `chatlab` command: serve, connect, demo, grade, bench, notebooks, release and gradescope."""
from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from chatlab import demo, release
from chatlab.addresses import EVERYWHERE, addresses_to_share, bind_problem, ipv6_refusal
from chatlab.catalog import DEFAULT_TARGET, KIT_ROOT, LABS, TARGET_HELP, find_lab, load_module, target_dir, whose_code
from chatlab.i18n import LANGUAGES, N_, _, choose, translate_argparse, use

DEFAULT_PORT = 5050  # not 5000: macOS's AirPlay receiver listens there
# Help texts made at import time, translated where they are shown (the language is chosen in main()).
GRADE_HELP = N_("grade the labs (your code in labs/ by default): runs the grader's scenarios with pytest")
LAB_HELP = N_("the lab: {labs} (or its number or full name)")
LANG_HELP = N_("language of what it prints (default: the locale's: Russian for ru_*, else English)")
# The commands whose parsers take --lang: `chatlab --lang ru COMMAND` hands them the flag. Not bench (its parser
# has none: the language chosen here is its current one).
TAKES_LANG = ("serve", "connect", "demo", "grade", "grade-all", "gradescope", "notebooks")


def lab_help(default: str = "") -> str:
    """LAB's help, in the chosen language, with its `default` ("all labs", "lab3") if it has one."""
    text = _(LAB_HELP).format(labs=", ".join(f"lab{lab.number}" for lab in LABS))
    return text + (_("; default: {lab}").format(lab=default) if default else "")


def lab_argument(text: str):
    try:
        return find_lab(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def announce(doing: str, target, what: str) -> None:
    """Say, as the command's first line, whose code it runs: "chatlab: running your code in labs/ (...)".

    On stderr, so that stdout's first line stays what scripts read: `serve` prints
    `listening on HOST:PORT` there, and `connect` only what the server sent.
    """
    try:
        whose = whose_code(target)
    except ValueError as error:
        sys.exit(f"chatlab: {error}")
    print(f"chatlab: {_(doing)} {whose} ({what})", file=sys.stderr, flush=True)


def load(lab, role, target):
    """Import a lab file, turning an error in it into a short message instead of a traceback."""
    try:
        return load_module(lab, role, target)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"chatlab: {error}")
    except Exception as error:
        sys.exit("chatlab: " + _("{file} from {target} could not be loaded: {error}").format(
            file=f"{lab.stem}/{role}.py", target=target, error=f"{type(error).__name__}: {error}"))


def serve(args) -> int:
    """Run a lab's server in the foreground until Ctrl+C."""
    announce(N_("running"), args.target, f"{args.lab.stem}/server.py")
    module = load(args.lab, "server", args.target)
    options = {"idle_timeout": args.idle_timeout} if args.idle_timeout is not None else {}
    try:
        server = getattr(module, args.lab.server_class)(args.host, args.port, **options)
    except OSError as error:
        sys.exit(bind_problem(error, args.host, args.port))
    print("listening on %s:%d" % tuple(server.address), flush=True)  # for scripts, as PROTOCOL's lines: not translated
    if args.host in EVERYWHERE:
        print(_("others connect to: {addresses}").format(
            addresses=", ".join(addresses_to_share(args.host, server.address[1]))), flush=True)
    failure = []

    def run():
        try:
            server.serve_forever()
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.5)  # a timeout, so Ctrl+C is noticed on Windows too
    except KeyboardInterrupt:
        print(_("stopping"), flush=True)
    server.shutdown()
    thread.join(1.0)
    if failure:
        print(_("the server stopped with an error: {error}").format(error=f"{type(failure[0]).__name__}: {failure[0]}"),
              file=sys.stderr)
        return 1
    return 0


def connect(args) -> int:
    """Run a lab's client interactively."""
    from chatlab.terminal import Terminal

    announce(N_("running"), args.target, f"{args.lab.stem}/client.py")
    module = load(args.lab, "client", args.target)
    if not sys.stdin.isatty():  # a pipe (a script, the grader): UTF-8 whatever the locale says
        sys.stdin.reconfigure(encoding="utf-8")
        sys.stdout.reconfigure(encoding="utf-8")
    term = Terminal()
    options = {"name": args.name} if args.lab.has_nicknames else {}
    if args.lab.has_nicknames and not args.name:
        sys.exit("chatlab: " + _("{lab} needs --name NICK").format(lab=args.lab.stem))
    try:
        module.run_client(args.host, args.port, read_line=term.read_line, show=term.show, **options)
    except KeyboardInterrupt:
        pass
    except ConnectionRefusedError:
        sys.exit("chatlab: " + _("nothing listens on {address}; start a server first: {command}").format(
            address=f"{args.host}:{args.port}", command=f"chatlab serve {args.lab.stem} --port {args.port}"
            + ("" if args.target == DEFAULT_TARGET else f" --target {args.target}")))
    print(_("* disconnected"))
    return 0


def grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatlab grade", description=_(GRADE_HELP),
        epilog=_("Any other arguments go to pytest as they are, e.g. -x (stop at the first failure) or -v "
               "(one line per test). Exit code: 0 all passed, 1 some failed."))
    parser.add_argument("lab", nargs="?", type=lab_argument, metavar="LAB", help=lab_help(_("all labs")))
    parser.add_argument("--target", default=DEFAULT_TARGET, help=_(TARGET_HELP))
    parser.add_argument("--lang", choices=LANGUAGES,
                        help=_("language of the reports (default: the locale's: Russian for ru_*, else English)"))
    parser.add_argument("--score-json", metavar="FILE",
                        help=_("also write the results in Gradescope's results.json format"))
    parser.add_argument("--rubric", metavar="FILE", help=_("the rubric, a TOML file like chatlab/grading/rubric.toml "
                                                         "(weights, best or sum, bonus); default: that file"))
    parser.add_argument("-k", metavar="EXPRESSION", dest="keyword",
                        help=_("only the tests whose names match, as with pytest -k (within LAB, if given)"))
    return parser


def grade(argv) -> int:
    """`pytest grader/` with the kit's options; pytest's exit code (0 all passed, 1 some failed)."""
    import pytest  # only the grader needs it: serve and connect start faster without

    args, pytest_args = grade_parser().parse_known_args(argv)
    try:
        target_dir(args.target)
    except ValueError as error:
        sys.exit(f"chatlab: {error}")
    if args.rubric:
        from chatlab.grading import rubric
        try:
            rubric.use(Path(args.rubric).expanduser())
        except rubric.RubricError as error:
            sys.exit(f"chatlab: {error}")
    announce(N_("grading"), args.target, args.lab.stem if args.lab else _("all labs"))
    target = args.target if args.target in ("labs", "solutions") else str(Path(args.target).expanduser().resolve())
    command = [str(KIT_ROOT / "grader"), "--target", target, "--lang", choose(args.lang),
               "-p", "no:cacheprovider"]  # grading a read-only or a student's folder leaves no .pytest_cache behind
    keywords = [f"({expression})" for expression in (args.lab and args.lab.stem, args.keyword) if expression]
    if keywords:
        command += ["-k", " and ".join(keywords)]
    if args.score_json:
        command += ["--score-json", str(Path(args.score_json).expanduser().resolve())]
    # Nor __pycache__ folders in the graded folder: not here, not in the processes the grader starts.
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    # The grader needs no other pytest plugins, and whatever else is installed (pytest-benchmark
    # leaves a .benchmarks folder, pytest-randomly shuffles) must not change a grade.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return int(pytest.main(command + pytest_args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatlab", description=_("Socket programming labs with threads."))
    parser.add_argument("--lang", choices=LANGUAGES, help=_(LANG_HELP))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def lab_command(name, help_text):
        command = commands.add_parser(name, help=_(help_text), description=_(help_text))
        command.add_argument("lab", type=lab_argument, metavar="LAB", help=lab_help())
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=DEFAULT_PORT)
        command.add_argument("--target", default=DEFAULT_TARGET, help=_(TARGET_HELP))
        command.add_argument("--lang", choices=LANGUAGES, help=_(LANG_HELP))
        return command

    served = lab_command("serve", N_("run a lab's server; stdout's first line is 'listening on HOST:PORT' "
                                     "(--port 0: any free port)"))
    served.add_argument("--idle-timeout", type=float, help=_("lab 4: seconds of silence before a member is forgotten"))
    connected = lab_command("connect", N_("chat (or echo) interactively with a running server"))
    connected.add_argument("--name", help=_("your nickname (labs 2-4)"))

    demo_help = _("watch scripted clients use a lab's server, in one terminal (--target solutions: the reference)")
    shown = commands.add_parser("demo", help=demo_help, description=demo_help)
    shown.add_argument("lab", nargs="?", type=lab_argument, default="lab3", metavar="LAB",
                       help=lab_help("lab3"))
    shown.add_argument("--target", default=DEFAULT_TARGET, help=_(TARGET_HELP))
    shown.add_argument("--lang", choices=LANGUAGES, help=_(LANG_HELP))

    # Listed for --help only: main() hands these to parsers of their own.
    commands.add_parser("grade", help=_(GRADE_HELP))
    commands.add_parser("grade-all", help=_("grade a class: one folder per student, into a CSV gradebook"))
    commands.add_parser("bench", help=_("measure a chat server side by side with an asyncio peer"))
    commands.add_parser("notebooks", help=_("execute the notebooks headless; --html DIR writes executed copies; "
                                          "--lang ru runs the Russian ones"))
    commands.add_parser("release", help=_("regenerate labs/ from solutions/, or --check it, or write a "
                                        "--student-kit (maintainers)"))
    commands.add_parser("gradescope", help=_("build a Gradescope autograder for one lab (instructors)"))
    return parser


def language_of(argv: list[str]) -> str:
    """The language a command prints in: its last valid --lang (--lang ru, --lang=ru), as argparse reads it,
    else the locale's."""
    flags = [argv[index + 1] if word == "--lang" and index + 1 < len(argv) else word.partition("=")[2]
             for index, word in enumerate(argv) if word.startswith("--lang")]
    return choose(next((value for value in reversed(flags) if value in LANGUAGES), None))


def global_language(argv: list[str]) -> tuple[str | None, list[str]]:
    """`chatlab --lang ru COMMAND ...`: (the flag's value, the rest); (None, argv) without a valid one
    (an invalid one is left to the parser, which says so)."""
    if argv[:1] == ["--lang"] and argv[1:2] and argv[1] in LANGUAGES:
        return argv[1], argv[2:]
    if argv[:1] and argv[0].startswith("--lang=") and argv[0].partition("=")[2] in LANGUAGES:
        return argv[0].partition("=")[2], argv[1:]
    return None, argv


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    lang, argv = global_language(argv)
    if lang and argv[:1] and argv[0] in TAKES_LANG:
        argv[1:1] = ["--lang", lang]  # before the command's own arguments: a --lang of its own, later, wins
    use(language_of(["--lang", lang, *argv] if lang else argv))
    translate_argparse()  # argparse's own words ("usage:", "options") follow the language too
    if argv[:1] in (["serve"], ["connect"]):
        refusal = ipv6_refusal(build_parser().parse_args(argv).host)
        if refusal:
            sys.exit(refusal)
    if argv[:1] == ["grade"]:
        return grade(argv[1:])
    if argv[:1] == ["grade-all"]:
        from chatlab.classroom import grade_all
        return grade_all.main(argv[1:])
    if argv[:1] == ["release"]:
        return release.main(argv[1:])
    if argv[:1] == ["gradescope"]:
        from chatlab.classroom import gradescope
        return gradescope.main(argv[1:])
    if argv[:1] == ["bench"]:
        from chatlab.harness.session import ReferenceMissing
        try:
            from chatlab.bench import runner  # imports matplotlib: only this command pays for it
        except ReferenceMissing as missing:  # a student kit
            sys.exit(f"chatlab: {missing}")
        return runner.main(argv[1:])
    if argv[:1] == ["notebooks"]:
        from chatlab.notebook import runner  # imports nbclient: only this command pays for it
        return runner.main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "connect":
        return connect(args)
    if args.command == "demo":
        announce(N_("running"), args.target, f"{args.lab.stem}/server.py, " + _("with the demo's scripted clients"))
        load(args.lab, "server", args.target)  # a file that does not load: one line, before the demo starts
        return demo.main(args.lab, args.target)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
