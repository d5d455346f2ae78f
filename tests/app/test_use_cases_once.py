"""Each use case exists once, in :mod:`claude_code_oauth.app`: the CLI's commands and
Code Puppy's slash commands run it, and reach the layers below only through it."""

from __future__ import annotations

from test_import_graph import import_graph

PACKAGE = "claude_code_oauth"

#: CLI command module → the use case it runs.
CLI_USE_CASES = {
    "login": "sign_in",
    "logout": "sign_out",
    "switch": "switch",
    "status": "status",
    "usage": "usage",
    "doctor": "doctor",
    "profiles": "profiles",
    "models": "models",
    "storage": "move_storage",
}
#: What a command module may import besides its use case: argument definitions and checks.
ARGUMENTS = {f"{PACKAGE}.{name}" for name in ("command_options", "config_rules", "errors")}


def test_each_cli_command_runs_its_use_case_and_nothing_below_it() -> None:
    graph = import_graph()
    for command, use_case in CLI_USE_CASES.items():
        imports = graph[f"{PACKAGE}.cli.{command}"]
        assert f"{PACKAGE}.app.{use_case}" in imports, command
        beyond = {
            name
            for name in imports - ARGUMENTS
            if not name.startswith((f"{PACKAGE}.app.", f"{PACKAGE}.cli"))
        }
        assert not beyond, f"cli.{command} imports {sorted(beyond)} besides its use case"


def test_code_puppy_runs_the_same_use_cases() -> None:
    imports = import_graph()[f"{PACKAGE}.hosts.code_puppy.commands"]
    shared = set(CLI_USE_CASES.values()) - {"models"}  # no slash command lists the models
    assert {f"{PACKAGE}.app.{name}" for name in shared} <= imports
    # Only what is Code Puppy's own comes from below the use cases: the token variable
    # its session reads, and fast mode (a per-model setting of this host).
    below = {
        name
        for name in imports - ARGUMENTS
        if not name.startswith((f"{PACKAGE}.app.", f"{PACKAGE}.hosts"))
    }
    assert below == {f"{PACKAGE}.profiles.token_source", f"{PACKAGE}.models.capabilities"}
