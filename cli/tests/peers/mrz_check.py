"""PyPI mrz 0.6.2 as an independent MRZ checker and generator for khil's MRZs.

Reads JSON lines on stdin, one MRZ each:
  {"id", "format": "TD1"|"TD2"|"TD3"|"MRV-A"|"MRV-B", "lines": [...],
   "fields": {"code", "state", "number", "nationality", "birth", "sex", "expiry", "optional", "optional2",
              "surname", "given", "raw_surname", "raw_given"}   (absent for corrupted MRZs)}
and writes one JSON line each:
  {"id", "ok": bool (mrz's checker: every hash and field), "falses": [the checks it found false],
   "warnings": [its warnings, e.g. "possible truncating" for a name field that ends in a letter],
   "parsed": {surname, name, document_number, optional_data, ...} (its reading of the fields),
   "generated": [lines] or null, "generate_error": str or null      (from khil's typed fields, names as the MRZ
                                                                      holds them)
   "generated_raw": [lines] or null, "generate_raw_error": str or null (names as printed on the data page)}
Nothing here decides pass or fail: the Rust test does, and says why where mrz and 9303 part ways.
"""

import json
import sys

from mrz.checker.mrva import MRVACodeChecker
from mrz.checker.mrvb import MRVBCodeChecker
from mrz.checker.td1 import TD1CodeChecker
from mrz.checker.td2 import TD2CodeChecker
from mrz.checker.td3 import TD3CodeChecker
from mrz.generator.mrva import MRVACodeGenerator
from mrz.generator.mrvb import MRVBCodeGenerator
from mrz.generator.td1 import TD1CodeGenerator
from mrz.generator.td2 import TD2CodeGenerator
from mrz.generator.td3 import TD3CodeGenerator

CHECKERS = {"TD1": TD1CodeChecker, "TD2": TD2CodeChecker, "TD3": TD3CodeChecker,
            "MRV-A": MRVACodeChecker, "MRV-B": MRVBCodeChecker}


def generate(fmt, f, surname, given):
    """mrz's lines for khil's fields, or the error it raises."""
    try:
        if fmt == "TD1":
            code = TD1CodeGenerator(f["code"], f["state"], f["number"], f["birth"], f["sex"], f["expiry"],
                                    f["nationality"], surname, given, f["optional"], f["optional2"])
        else:
            cls = {"TD2": TD2CodeGenerator, "TD3": TD3CodeGenerator,
                   "MRV-A": MRVACodeGenerator, "MRV-B": MRVBCodeGenerator}[fmt]
            code = cls(f["code"], f["state"], surname, given, f["number"], f["nationality"], f["birth"], f["sex"],
                       f["expiry"], f["optional"])
        return str(code).split("\n"), None
    except Exception as e:  # mrz raises its own error types and ValueError; the test reads the name
        return None, "%s: %s" % (type(e).__name__, e)


def main():
    for line in sys.stdin:
        item = json.loads(line)
        fmt = item["format"]
        out = {"id": item["id"]}
        try:
            checker = CHECKERS[fmt]("\n".join(item["lines"]))
            out["ok"] = bool(checker)
            out["falses"] = [name for name, ok in checker.report.falses]
            out["warnings"] = list(checker.report.warnings)
            out["parsed"] = checker.fields()._asdict()
        except Exception as e:
            out["ok"] = False
            out["falses"] = ["raised %s: %s" % (type(e).__name__, e)]
        fields = item.get("fields")
        if fields is not None:
            out["generated"], out["generate_error"] = generate(fmt, fields, fields["surname"], fields["given"])
            out["generated_raw"], out["generate_raw_error"] = generate(
                fmt, fields, fields["raw_surname"], fields["raw_given"])
        print(json.dumps(out))


if __name__ == "__main__":
    main()
