"""PyPI mrz 0.6.2 (written by others) judges MRZ lines that khil's RTE driver delivered.

stdin: one MRZ a line, "FORMAT|line 1|line 2[|line 3]" (FORMAT: TD1, TD2, TD3, MRV-A, MRV-B).
stdout: one verdict a line, in the same order: "ok" when mrz's checker accepts every hash and field, else
"false:" followed by the names of the checks it found false, comma-separated.
Nothing here decides pass or fail: the Rust test does.
"""

import sys

from mrz.checker.mrva import MRVACodeChecker
from mrz.checker.mrvb import MRVBCodeChecker
from mrz.checker.td1 import TD1CodeChecker
from mrz.checker.td2 import TD2CodeChecker
from mrz.checker.td3 import TD3CodeChecker

CHECKERS = {"TD1": TD1CodeChecker, "TD2": TD2CodeChecker, "TD3": TD3CodeChecker,
            "MRV-A": MRVACodeChecker, "MRV-B": MRVBCodeChecker}


def main():
    for record in sys.stdin:
        fmt, *lines = record.rstrip("\n").split("|")
        checker = CHECKERS[fmt]("\n".join(lines))
        if bool(checker):
            print("ok")
        else:
            print("false:" + ",".join(name for name, ok in checker.report.falses))


if __name__ == "__main__":
    main()
