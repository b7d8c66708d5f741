"""``materia-tui completion bash|zsh|fish``: a shell completion script.

The script is generated from the argparse parser itself (``build_parser()``),
so it always lists the subcommands and options this version has. Install::

    bash:  materia-tui completion bash > ~/.local/share/bash-completion/completions/materia-tui
    zsh:   materia-tui completion zsh > "${fpath[1]}/_materia-tui"
           (or, in ~/.zshrc: source <(materia-tui completion zsh))
    fish:  materia-tui completion fish > ~/.config/fish/completions/materia-tui.fish
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from materia_tui.cli.main import Subparsers, add_command

PROG = "materia-tui"
SHELLS = ("bash", "zsh", "fish")
# Option metavars and destinations that name files, so the shell offers file names.
_FILE_METAVARS = frozenset({"FILE", "PATH", "DIR"})
_FILE_DESTS = frozenset({"file", "output", "path", "token_file", "ca_bundle", "record"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Completable:
    """What a shell needs to complete one argument's value."""

    help: str
    choices: tuple[str, ...] = ()
    is_file: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Option(Completable):
    flags: tuple[str, ...]
    takes_value: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Positional(Completable):
    name: str


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...] = ()
    positionals: tuple[Positional, ...] = ()


@dataclass(frozen=True, slots=True)
class CliShape:
    """What a completion script needs to know about the parser."""

    options: tuple[Option, ...]
    commands: tuple[Command, ...] = field(default_factory=tuple)


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "completion",
        (
            "Print a completion script for bash, zsh or fish. Install with e.g.\n"
            "  materia-tui completion bash > ~/.local/share/bash-completion/completions/materia-tui\n"
            '  materia-tui completion zsh > "${fpath[1]}/_materia-tui"\n'
            "  materia-tui completion fish > ~/.config/fish/completions/materia-tui.fish"
        ),
        run,
        raw=True,
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete for")


def run(args: argparse.Namespace) -> int:
    from materia_tui.cli.main import build_parser

    print(completion_script(args.shell, build_parser()), end="")
    return 0


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    shape = describe(parser)
    generators: dict[str, Callable[[CliShape], str]] = {
        "bash": bash_script,
        "zsh": zsh_script,
        "fish": fish_script,
    }
    return generators[shell](shape)


# ----- reading the parser ---------------------------------------------------------


def describe(parser: argparse.ArgumentParser) -> CliShape:
    options = tuple(_option(a) for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS)
    commands: list[Command] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        for name, sub in action.choices.items():
            commands.append(_command(name, _text(helps.get(name, "")), sub))
    return CliShape(options, tuple(commands))


def _command(name: str, help_text: str, parser: argparse.ArgumentParser) -> Command:
    options: list[Option] = []
    positionals: list[Positional] = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            options.append(_option(action))
        else:
            positionals.append(
                Positional(
                    name=str(action.metavar or action.dest),
                    help=_text(action.help or ""),
                    choices=_choices(action),
                    is_file=_is_file(action),
                )
            )
    return Command(name, help_text, tuple(options), tuple(positionals))


def _option(action: argparse.Action) -> Option:
    return Option(
        flags=tuple(action.option_strings),
        help=_text(action.help or ""),
        takes_value=action.nargs != 0,
        choices=_choices(action),
        is_file=_is_file(action),
    )


def _choices(action: argparse.Action) -> tuple[str, ...]:
    return tuple(str(c) for c in action.choices) if action.choices else ()


def _is_file(action: argparse.Action) -> bool:
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    return metavar in _FILE_METAVARS or action.dest in _FILE_DESTS


def _text(help_text: str) -> str:
    """Help as one short plain line: argparse's %(...)s placeholders dropped."""
    text = re.sub(r"%\([a-z_]+\)[sdr]", "", help_text).replace("%%", "%")
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:69] + "…"


# ----- bash ---------------------------------------------------------------------------


def bash_script(shape: CliShape) -> str:
    top_words = [c.name for c in shape.commands] + [f for o in shape.options for f in o.flags]
    cases: list[str] = []
    for command in shape.commands:
        cases.append(f"        {shlex.quote(command.name)})")
        cases.append(f"            opts={shlex.quote(' '.join(f for o in command.options for f in o.flags))}")
        value_cases = _bash_value_cases(command.options)
        if value_cases:
            cases.append('            case "$prev" in')
            cases.extend(value_cases)
            cases.append("            esac")
        choices = [c for p in command.positionals for c in p.choices]
        if choices:
            cases.append(f"            positional={shlex.quote(' '.join(choices))}")
        if any(p.is_file for p in command.positionals):
            cases.append("            files=1")
        cases.append("            ;;")
    body = "\n".join(cases)
    return f"""# bash completion for {PROG} (generated by `{PROG} completion bash`)
_materia_tui() {{
    local cur prev cmd i opts="" positional="" files=0
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            -*) ;;
            *) cmd="${{COMP_WORDS[i]}}"; break ;;
        esac
    done
    if [[ -z "$cmd" ]]; then
        COMPREPLY=($(compgen -W {shlex.quote(" ".join(top_words))} -- "$cur"))
        return 0
    fi
    case "$cmd" in
{body}
        *) return 0 ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ -n "$positional" ]]; then
        COMPREPLY=($(compgen -W "$positional" -- "$cur"))
    elif [[ "$files" -eq 1 ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
    return 0
}}
complete -F _materia_tui {PROG}
"""


def _bash_value_cases(options: tuple[Option, ...]) -> list[str]:
    lines: list[str] = []
    for option in options:
        if not option.takes_value:
            continue
        pattern = "|".join(shlex.quote(f) for f in option.flags)
        if option.choices:
            words = shlex.quote(" ".join(option.choices))
            action = f'COMPREPLY=($(compgen -W {words} -- "$cur")); return 0'
        elif option.is_file:
            action = 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return 0'
        else:
            action = "return 0"  # a free value (URL, token, number): nothing to offer
        lines.append(f"                {pattern}) {action} ;;")
    return lines


# ----- zsh ----------------------------------------------------------------------------


def zsh_script(shape: CliShape) -> str:
    top_specs = [spec for o in shape.options for spec in _zsh_option_specs(o, exclusive=True)]
    described = "\n".join(f"        {_zsh_quote(f'{c.name}:{_zsh_help(c.help)}')}" for c in shape.commands)
    cases: list[str] = []
    for command in shape.commands:
        specs = [spec for o in command.options for spec in _zsh_option_specs(o)]
        specs += [_zsh_positional(p) for p in command.positionals]
        joined = " \\\n                ".join(specs) if specs else "'*: :'"
        cases.append(f"            {command.name})\n                _arguments {joined}\n                ;;")
    top = " \\\n        ".join(top_specs)
    return f"""#compdef {PROG}
# zsh completion for {PROG} (generated by `{PROG} completion zsh`)
_materia_tui() {{
    local curcontext="$curcontext" state line
    typeset -A opt_args
    _arguments -C \\
        {top} \\
        '1: :->command' \\
        '*:: :->args'
    case $state in
    command)
        local -a commands
        commands=(
{described}
        )
        _describe -t commands '{PROG} command' commands
        ;;
    args)
        case $line[1] in
{chr(10).join(cases)}
        esac
        ;;
    esac
}}
if [[ "${{funcstack[1]}}" == "_materia_tui" ]]; then
    _materia_tui "$@"
else
    compdef _materia_tui {PROG}
fi
"""


def _zsh_option_specs(option: Option, *, exclusive: bool = False) -> list[str]:
    help_text = _zsh_help(option.help)
    value = ""
    if option.takes_value:
        label = _zsh_help(option.flags[-1].lstrip("-"))
        if option.choices:
            value = f":{label}:({' '.join(option.choices)})"
        elif option.is_file:
            value = f":{label}:_files"
        else:
            value = f":{label}: "
    exclusion = "(- *)" if exclusive else ""
    specs = []
    for flag in option.flags:
        name = f"{flag}=" if option.takes_value and flag.startswith("--") else flag
        specs.append(_zsh_quote(f"{exclusion}{name}[{help_text}]{value}"))
    return specs


def _zsh_positional(positional: Positional) -> str:
    label = _zsh_help(positional.name.lower())
    if positional.choices:
        return _zsh_quote(f":{label}:({' '.join(positional.choices)})")
    if positional.is_file:
        return _zsh_quote(f":{label}:_files")
    return _zsh_quote(f":{label}: ")


def _zsh_help(text: str) -> str:
    # [ ] : and backslashes are _arguments syntax; a description must not contain them.
    return re.sub(r"[\[\]:\\]", " ", text).replace("  ", " ").strip()


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# ----- fish ---------------------------------------------------------------------------


def fish_script(shape: CliShape) -> str:
    lines = [
        f"# fish completion for {PROG} (generated by `{PROG} completion fish`)",
        f"complete -c {PROG} -f",
    ]
    top = "__fish_use_subcommand"
    for option in shape.options:
        lines.append(_fish_option(top, option))
    for command in shape.commands:
        lines.append(f"complete -c {PROG} -n {top} -a {command.name} -d {_fish_quote(command.help)}")
    for command in shape.commands:
        condition = _fish_quote(f"__fish_seen_subcommand_from {command.name}")
        for option in command.options:
            lines.append(_fish_option(condition, option))
        for positional in command.positionals:
            if positional.choices:
                words = _fish_quote(" ".join(positional.choices))
                described = _fish_quote(positional.help)
                lines.append(f"complete -c {PROG} -n {condition} -a {words} -d {described}")
            elif positional.is_file:
                lines.append(f"complete -c {PROG} -n {condition} -F")
    return "\n".join(lines) + "\n"


def _fish_option(condition: str, option: Option) -> str:
    parts = [f"complete -c {PROG} -n {condition}"]
    for flag in option.flags:
        if flag.startswith("--"):
            parts.append(f"-l {flag[2:]}")
        elif len(flag) == 2:
            parts.append(f"-s {flag[1]}")
        else:
            parts.append(f"-o {flag[1:]}")
    if option.takes_value:
        if option.choices:
            parts.append(f"-x -a {_fish_quote(' '.join(option.choices))}")
        elif option.is_file:
            parts.append("-r -F")
        else:
            parts.append("-x")
    parts.append(f"-d {_fish_quote(option.help)}")
    return " ".join(parts)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
