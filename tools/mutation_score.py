"""The mutation score of the last ``mutmut run``, per module, and every mutant that lived.

Run from the project's root after ``mutmut run`` (``make mutate`` does both). Reads
mutmut's results under ``mutants/`` and prints, per module of the mutated packages, how
many mutants were made and how many the tests killed; then every mutant that was not
killed (it survived, or no fast test reaches its function), each as the line
``docs/mutation.md`` lists it: the module, the function, the line and the mutation.

A mutant counts as killed when a test failed on it, when it made the tests run past
mutmut's time limit (a hang), or when mutmut's type check refused it. The score is
killed / (all − skipped). A survivor is *explained* when ``docs/mutation.md`` has a line,
under the module's heading, holding its mutation exactly as printed here
(```old`` → ``new```); explained or not, every survivor counts against the score.

Exit status: 0 when the score is at least ``--min`` percent and every survivor is
explained; 1 otherwise (the unexplained ones are printed first, ready to be pasted into
``docs/mutation.md`` with the reason added); 2 when there are no results to read.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout", "caught by type check"}
PACKAGE = "claude_code_oauth"
DOC = Path("docs/mutation.md")


def _statuses() -> dict[int | None, str]:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code


def _function_lines(source: str) -> dict[str, int]:
    """``name`` / ``Class.name`` → the line its ``def`` is on."""
    lines: dict[str, int] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines[node.name] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines[f"{node.name}.{item.name}"] = item.lineno
    return lines


def _function_of(mutant: str) -> str:
    """``pkg.mod.xǁClassǁname__mutmut_3`` → ``Class.name``; ``pkg.mod.x_name__mutmut_3`` →
    ``name``."""
    key = mutant.rpartition(".")[2].rpartition("__mutmut_")[0]
    if key.startswith("xǁ"):
        _, cls, name = key.split("ǁ")
        return f"{cls}.{name}"
    return key.removeprefix("x_")


def _mutation(mutant: str, path: Path) -> tuple[str, str, str]:
    """(the first changed line as it stands in the source, old code, new code)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(mutant, path=path).splitlines()
    old = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    new = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    first = old[0] if old else ""
    return first, " ".join(x.strip() for x in old), " ".join(x.strip() for x in new)


def _line_of(code: str, lines: list[str], start: int) -> int:
    """The number of the first line from ``start`` on (1-based) that reads ``code``."""
    for number in range(max(start - 1, 0), len(lines)):
        if lines[number] == code:
            return number + 1
    return start


def _explained(doc: str) -> dict[str, str]:
    """Module heading (``account/unified_limits.py``) → the text listed under it."""
    sections: dict[str, str] = defaultdict(str)
    current = ""
    for line in doc.splitlines():
        heading = re.match(r"#+\s+`?([\w/]+\.py)`?\s*$", line)
        if heading:
            current = heading.group(1)
        elif current:
            sections[current] += line + "\n"
    return sections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min", type=float, default=95.0, help="the lowest score accepted")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help='print the table as docs/mutation.md\'s "The score" holds it',
    )
    parser.add_argument(
        "only", nargs="*", help="modules to report (path prefixes such as account/ or net/http)"
    )
    args = parser.parse_args(argv)

    statuses = _statuses()
    metas = sorted(Path("mutants/src").rglob("*.py.meta"))
    if not metas:
        print("No mutation results under mutants/: run `make mutate` first.")
        return 2
    sections = _explained(DOC.read_text(encoding="utf-8")) if DOC.exists() else {}
    counts: dict[str, Counter[str]] = {}
    survivors: list[tuple[str, str, str]] = []  # (module, entry, status)
    unexplained: list[tuple[str, str]] = []
    unchecked = 0
    for meta in metas:
        source = Path(str(meta)[len("mutants/") : -len(".meta")])
        results = json.loads(meta.read_text())["exit_code_by_key"]
        if not results:
            continue
        module = str(source.relative_to(Path("src") / PACKAGE))
        if args.only and not module.startswith(tuple(args.only)):
            continue
        tally: Counter[str] = Counter()
        text = source.read_text(encoding="utf-8")
        def_lines = _function_lines(text)
        source_lines = [line.strip() for line in text.splitlines()]
        for mutant, code in sorted(results.items()):
            status = statuses[code]
            tally[status] += 1
            if status in KILLED or status == "skipped":
                continue
            if status == "not checked":  # the run was cut short: no verdict to explain
                unchecked += 1
                continue
            function = _function_of(mutant)
            first, old, new = _mutation(mutant, source)
            line = _line_of(first.strip(), source_lines, def_lines.get(function, 1))
            change = f"`{old}` → `{new}`"
            entry = f"- `{function}` line {line}: {change}"
            survivors.append((module, entry, status))
            if change not in sections.get(module, ""):
                unexplained.append((module, f"{entry} ({status})"))
        counts[module] = tally

    total = Counter[str]()
    row = _markdown_row if args.markdown else _row
    if args.markdown:
        print("| module | mutants | killed | lived | score |\n|---|---:|---:|---:|---:|")
    else:
        print(f"{'module':<34} {'mutants':>7} {'killed':>7} {'lived':>6} {'score':>7}")
    for module, tally in counts.items():
        total.update(tally)
        print(row(module, tally))
    print(row("all", total))
    score = _score(total)

    if unexplained:
        print(f"\n{len(unexplained)} mutants lived that {DOC} does not explain:")
        last = ""
        for module, entry in unexplained:
            if module != last:
                print(f"\n### {module}\n")
                last = module
            print(entry)
    if unchecked:
        print(f"\n{unchecked} mutants were not checked: the run did not finish.")
    ok = score >= args.min and not unexplained and not unchecked
    verdict = "at least" if score >= args.min else "BELOW"
    print(
        f"\nMutation score {score:.1f} % ({verdict} {args.min:g} %); "
        f"{len(survivors)} lived, {len(unexplained)} of them unexplained."
    )
    return 0 if ok else 1


def _score(tally: Counter[str]) -> float:
    tested = sum(tally.values()) - tally["skipped"]
    killed = sum(tally[s] for s in KILLED)
    return 100.0 * killed / tested if tested else 100.0


def _counts(tally: Counter[str]) -> tuple[int, int, int]:
    """(mutants made, killed, lived — every one not killed nor skipped)."""
    made = sum(tally.values())
    killed = sum(tally[s] for s in KILLED)
    return made, killed, made - killed - tally["skipped"]


def _row(module: str, tally: Counter[str]) -> str:
    made, killed, lived = _counts(tally)
    return f"{module:<34} {made:>7} {killed:>7} {lived:>6} {_score(tally):>6.1f}%"


def _markdown_row(module: str, tally: Counter[str]) -> str:
    made, killed, lived = _counts(tally)
    name = f"**{module}**" if module == "all" else f"`{module}`"
    return f"| {name} | {made} | {killed} | {lived} | {_score(tally):.1f} % |"


if __name__ == "__main__":
    sys.exit(main())
