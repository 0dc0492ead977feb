"""Compare two pytest runs from their JUnit XML (`pytest --junitxml=...`): totals, and the
tests that exist in both (same file::name), each timed at setup + call + teardown.

    .venv/bin/python bench/suite_compare.py before.xml after.xml [--walls 240.1 363.3]
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET


def timings(path: str) -> dict[str, tuple[float, str]]:
    """test id -> (seconds, outcome: passed / skipped / failed)."""
    result = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                outcome = "skipped" if child.tag == "skipped" else "failed"
        result[test_id] = (float(case.get("time") or 0.0), outcome)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--walls", nargs=2, type=float, help="wall seconds of each run")
    args = parser.parse_args()
    runs = {"before": timings(args.before), "after": timings(args.after)}
    for index, (name, run) in enumerate(runs.items()):
        ran = [t for t, outcome in run.values() if outcome != "skipped"]
        wall = args.walls[index] if args.walls else sum(ran)
        print(
            f"{name:6}: {len(ran)} tests run ({len(run) - len(ran)} skipped), "
            f"wall {wall:.1f} s, {wall / len(ran):.3f} s per test, "
            f"sum of test times {sum(ran):.1f} s"
        )
    common = [
        test_id
        for test_id, (_, outcome) in runs["before"].items()
        if outcome == "passed" and runs["after"].get(test_id, (0, ""))[1] == "passed"
    ]
    before = sum(runs["before"][t][0] for t in common)
    after = sum(runs["after"][t][0] for t in common)
    print(
        f"the {len(common)} tests passed in both: before {before:.1f} s, after {after:.1f} s "
        f"({before / len(common):.3f} vs {after / len(common):.3f} s per test), "
        f"speed-up {before / after:.2f}x"
    )


if __name__ == "__main__":
    main()
