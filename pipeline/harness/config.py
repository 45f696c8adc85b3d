"""Recipe options: dataclass fields become flags, a YAML file can set them, flags given win."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import sys
from pathlib import Path
from typing import Callable

import yaml
from transformers import HfArgumentParser

from .errors import UsageError, check_finite


def parse_options(types: tuple, description: str, argv: list[str] | None = None, *,
                  defaults: dict | None = None) -> tuple[list, dict]:
    """Instances of each dataclass in `types`, and the flat config dict that a run records.

    `defaults` replaces field defaults for one recipe (e.g. a student's learning rate); YAML and flags win.
    """
    parser = _OptionsParser(types, description=description,
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.set_defaults(**(defaults or {}))
    parser.add_argument("--config", default=None, help="A YAML file of options (flags given here override it).")
    for action in parser._actions:
        if action.nargs == "+":  # list options: `--teacher a --teacher b` means both
            action.__class__ = _Repeatable
    argv = sys.argv[1:] if argv is None else argv
    known, _ = parser.parse_known_args(argv)
    if known.config:
        parser.set_defaults(**_read_yaml(Path(known.config), parser))
    values, unknown = parser.parse_known_args(argv)
    if unknown:
        raise UsageError(unknown_option(unknown, parser))
    check_finite(vars(values))  # before the dataclasses check ranges: inf passes "must be positive"
    # The extra namespace that comes back holds only --config; the dataclasses hold everything else.
    instances = [i for i in parser.parse_args_into_dataclasses(args=argv) if dataclasses.is_dataclass(i)]
    return instances, flat_config(instances)


def unknown_option(remaining: list[str], parser: argparse.ArgumentParser) -> str:
    """One line naming the first argument no option takes, and the known options closest to it."""
    given = next((a for a in remaining if a.startswith("-")), remaining[0])
    name = given.split("=", 1)[0]
    if not name.startswith("-"):
        return f"unexpected argument {given!r}; options take the form --name value (see --help)"
    # HfArgumentParser takes --a_b and --a-b alike; suggest the spelling the help shows.
    known = list(dict.fromkeys("--" + o[2:].replace("-", "_") for action in parser._actions
                               for o in action.option_strings if o.startswith("--")))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; see --help for the options"
    return f"unknown option {name}{hint}"


class _OptionsParser(HfArgumentParser):
    """A value argparse cannot read (`--epochs two`) is one `error:` line, as every other bad input."""

    def error(self, message: str):
        raise UsageError(message)


class RecipeParser(argparse.ArgumentParser):
    """argparse for recipes without options dataclasses (reports, run_all): the same one-line errors, the
    closest options named for a mistyped one, numbers checked finite."""

    def parse_args(self, args=None, namespace=None):
        values, unknown = self.parse_known_args(args, namespace)
        if unknown:
            raise UsageError(unknown_option(unknown, self))
        check_finite(vars(values))
        return values

    def error(self, message: str):
        raise UsageError(message)


class Renamed(argparse.Action):
    """An option's old spelling, kept for one release: it still works, with a one-line notice."""

    def __init__(self, option_strings, dest, *, new: str, **kwargs):
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"note: {option_string} is now {self.new}; the old spelling goes in the next release", file=sys.stderr)
        setattr(namespace, self.dest, values)


def flat_config(instances: list) -> dict:
    """The config a run records and hashes: every option of every dataclass, in one flat dict."""
    return {k: v for instance in instances for k, v in dataclasses.asdict(instance).items()}


class _Repeatable(argparse.Action):
    """Like nargs='+', but a repeated flag adds to the list instead of replacing it."""

    def __call__(self, parser, namespace, values, option_string=None):
        current = getattr(namespace, self.dest, None)
        given = getattr(namespace, f"_{self.dest}_given", False)
        setattr(namespace, self.dest, (list(current) if given else []) + list(values))
        setattr(namespace, f"_{self.dest}_given", True)


def _read_yaml(path: Path, parser: argparse.ArgumentParser) -> dict:
    if not path.is_file():
        raise UsageError(f"config file '{path}' does not exist")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UsageError(f"config file '{path}' is not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(values, dict):
        raise UsageError(f"config file '{path}' must be a mapping of option: value")
    known = {action.dest for action in parser._actions}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"config file '{path}' sets unknown options {unknown}; see --help")
    return values


def run_script(script: Path, args: list[str]) -> None:
    """Run a recipe's main() in this process, as `python script args` would run it: the libraries are imported
    once for many runs (a search's trials, the whole road's steps). Its Accelerator, a process-wide
    singleton, is forgotten afterwards, so the next run builds its own."""
    import runpy

    from accelerate.state import AcceleratorState

    argv = sys.argv
    sys.argv = [str(script), *args]
    try:
        runpy.run_path(str(script), run_name="run_script")["main"]()
    finally:
        sys.argv = argv
        AcceleratorState._reset_state(True)


def run_cli(main: Callable[[], None]) -> None:
    """Run a recipe's main: a UsageError becomes one line on stderr and exit status 2."""
    try:
        main()
    except UsageError as error:
        if int(os.environ.get("RANK", "0")) == 0:
            print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
