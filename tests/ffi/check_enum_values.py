#!/usr/bin/env python3
"""Every enumerator of every public enum in include/dsmooth.h, by VALUE, in each binding:

  Python  examples/python/dsmooth/__init__.py (IntEnum classes, module constants) and
          examples/python/dsmooth/distributed.py (reduction and collective constants)
  Rust    examples/rust/dsmooth-sys/src/lib.rs (`c_consts!`: i32 constants, complete) and the
          safe crate's enums in examples/rust/src/lib.rs (`c_enum!`, `Status`)
  Julia   examples/julia/dsmooth.jl (`const DS_* = Int32(...)`, complete)

The files are parsed, not imported, so the check needs no built library. A new enum in the
header fails here until the ENUMS table below says where each binding declares it.

  check_enum_values.py REPO            check; exit 1 listing every missing or wrong value
  check_enum_values.py REPO --selftest also show that a wrong value in any binding fails
"""
import ast
import os
import re
import sys

# header enum -> (Python: module, IntEnum class or None; Rust safe crate: type or None).
# Python looks an enumerator up as the class member without the enum's common prefix, else
# as a module constant named without "DS_", without the prefix, or "_" + without it.
ENUMS = {
    "ds_status": ("__init__", "Status", "Status"),
    "ds_log_level": ("__init__", "LogLevel", None),
    "ds_noise": ("__init__", "Noise", "Noise"),
    "ds_arch": ("__init__", "Arch", "Arch"),
    "ds_head": ("__init__", "Head", "Head"),
    "ds_cond_layout": ("__init__", "CondLayout", "CondLayout"),
    "ds_activation": ("__init__", "Activation", "Activation"),
    "ds_model_option": ("__init__", "ModelOption", "ModelOption"),
    "ds_model_float_option": ("__init__", "ModelFloatOption", "ModelFloatOption"),
    "ds_score_kind": ("__init__", "ScoreKind", "ScoreKind"),
    "ds_sample_method": ("__init__", "SampleMethod", "SampleMethod"),
    "ds_lr_schedule": ("__init__", "LRSchedule", "LrSchedule"),
    "ds_trainer_option": ("__init__", "TrainerOption", "TrainerOption"),
    "ds_trainer_float_option": ("__init__", "TrainerFloatOption", "TrainerFloatOption"),
    "ds_reduction": ("distributed", None, None),
    "ds_collective_op": ("distributed", None, None),
    "ds_conditional_output": ("__init__", "ConditionalOutput", "ConditionalOutput"),
}
# Safe-crate enums that leave enumerators out on purpose (the -sys crate has them all).
RUST_SAFE_SKIPS = {
    "DS_OK": "a status of 0 is Ok(..), not an error",
    "DS_SAMPLE_NAIVE": "a flag OR-ed into the method, not a method",
}

PY = ("examples", "python", "dsmooth")
RUST_SYS = ("examples", "rust", "dsmooth-sys", "src", "lib.rs")
RUST_SAFE = ("examples", "rust", "src", "lib.rs")
JULIA = ("examples", "julia", "dsmooth.jl")


def header_enums(text):
    """{enum name: [(DS_NAME, value)]} of every `typedef enum name { ... } name;`."""
    out = {}
    for name, body in re.findall(r"typedef enum (\w+) \{(.*?)\} \1;", text, re.S):
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        items = [(n, int(v, 0)) for n, v in
                 re.findall(r"\b(DS_[A-Z0-9_]+)\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+))", body)]
        if not items:
            raise SystemExit("header: enum %s has no enumerators with explicit values" % name)
        out[name] = items
    if len(out) < 10:
        raise SystemExit("header: found only %d enums; is this include/dsmooth.h?" % len(out))
    return out


def common_prefix(names):
    p = os.path.commonprefix(names)
    return p[:p.rfind("_") + 1]


def python_values(text):
    """(classes {class: {member: value}}, constants {name: value}) of a module's source."""
    classes, consts = {}, {}
    tree = ast.parse(text)

    def assign(targets, value, into):
        if isinstance(targets, ast.Name):
            v = value
            if isinstance(v, ast.Constant) and isinstance(v.value, int):
                into[targets.id] = v.value
        elif isinstance(targets, ast.Tuple) and isinstance(value, ast.Tuple):
            for t, v in zip(targets.elts, value.elts):
                assign(t, v, into)

    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = classes.setdefault(node.name, {})
            for stmt in node.body:
                if isinstance(stmt, ast.Assign):
                    for t in stmt.targets:
                        assign(t, stmt.value, members)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                assign(t, node.value, consts)
    return classes, consts


def rust_sys_values(text):
    """{DS_NAME: value} of the `c_consts!("ds_enum": DS_NAME = value, ...)` invocations."""
    out = {}
    for body in re.findall(r"c_consts!\(\s*\"\w+\"\s*:(.*?)\);", text, re.S):
        out.update((n, int(v, 0)) for n, v in
                   re.findall(r"\b(DS_\w+)\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+))", body))
    return out


def rust_safe_values(text):
    """{type: {variant: value}} of the c_enum! invocations and of Status::from_code."""
    out = {}
    for name, body in re.findall(r"c_enum!\(\s*(?:///[^\n]*\n\s*)*(\w+)\s*\{([^}]*)\}", text):
        out[name] = {v: int(x, 0) for v, x in
                     re.findall(r"(\w+)\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+))", body)}
    m = re.search(r"fn from_code\(code: i32\) -> Status \{(.*?)\n    \}", text, re.S)
    if m:
        out["Status"] = {v: int(x) for x, v in re.findall(r"(-?\d+)\s*=>\s*Status::(\w+)",
                                                          m.group(1))}
        code = re.search(r"fn code\(self\) -> i32 \{(.*?)\n    \}", text, re.S)
        back = {v: int(x) for v, x in re.findall(r"Status::(\w+)\s*=>\s*(-?\d+)",
                                                  code.group(1) if code else "")}
        if back != out["Status"]:
            out["Status.code"] = back  # reported as a disagreement below
    return out


def julia_values(text):
    """{DS_NAME: value} of `const A, B = Int32(0), Int32(1)` and `const A, B = Int32.(0:1)`."""
    out = {}
    for names, rhs in re.findall(r"^const\s+(DS_\w+(?:\s*,\s*DS_\w+)*)\s*=\s*([^\n]*)", text,
                                 re.M):
        names = [n.strip() for n in names.split(",")]
        rhs = rhs.split("#")[0]
        rng = re.match(r"\s*Int32\.\(\s*(-?\d+)\s*:\s*(-?\d+)\s*\)", rhs)
        if rng:
            values = list(range(int(rng.group(1)), int(rng.group(2)) + 1))
        else:
            values = [int(v, 0) for v in re.findall(r"Int32\(\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*\)", rhs)]
        if len(values) != len(names):
            out.update({n: "unparsed (%s)" % rhs.strip() for n in names})
            continue
        out.update(zip(names, values))
    return out


def camel_key(s):
    return s.replace("_", "").lower()


def check(files):
    """Problems as strings, [] if every binding agrees with the header."""
    enums = header_enums(files["header"])
    py = {m: python_values(files["py_" + m]) for m in ("__init__", "distributed")}
    sys_consts = rust_sys_values(files["rust_sys"])
    safe = rust_safe_values(files["rust_safe"])
    jl = julia_values(files["julia"])
    problems = []
    if "Status.code" in safe:
        problems.append("rust crate: Status::code() and Status::from_code() disagree")
    for enum, items in enums.items():
        if enum not in ENUMS:
            problems.append("header enum %s is not in ENUMS of %s: say where each binding "
                            "declares it" % (enum, os.path.basename(__file__)))
            continue
        module, cls, rust_type = ENUMS[enum]
        prefix = common_prefix([n for n, _ in items])
        classes, consts = py[module]
        members = classes.get(cls, {}) if cls else {}
        if cls and cls not in classes:
            problems.append("python: class %s (%s) not found in %s.py" % (cls, enum, module))
        variants = {camel_key(k): v for k, v in safe.get(rust_type, {}).items()}
        if rust_type and rust_type not in safe:
            problems.append("rust crate: enum %s (%s) not found" % (rust_type, enum))
        for name, value in items:
            short = name[len(prefix):]
            got = members.get(short)
            for alias in (name[3:], short, "_" + short):
                if got is None:
                    got = consts.get(alias)
            if got != value:
                problems.append("python: %s = %s, header %d" % (name, got, value))
            if sys_consts.get(name) != value:
                problems.append("rust dsmooth-sys: %s = %s, header %d"
                                % (name, sys_consts.get(name), value))
            if rust_type and name not in RUST_SAFE_SKIPS:
                key = camel_key(name[len("DS_ERR_"):] if enum == "ds_status" else short)
                if variants.get(key) != value:
                    problems.append("rust crate: %s::%s = %s, header %s = %d"
                                    % (rust_type, key, variants.get(key), name, value))
            if jl.get(name) != value:
                problems.append("julia: %s = %s, header %d" % (name, jl.get(name), value))
    return problems


def read_files(repo):
    def rd(*parts):
        with open(os.path.join(repo, *parts)) as f:
            return f.read()
    return {"header": rd("include", "dsmooth.h"),
            "py___init__": rd(*PY, "__init__.py"), "py_distributed": rd(*PY, "distributed.py"),
            "rust_sys": rd(*RUST_SYS), "rust_safe": rd(*RUST_SAFE), "julia": rd(*JULIA)}


# One wrong value per binding (and one in the header): (file key, text, replacement).
MUTATIONS = [
    ("header", "DS_ERR_THREAD = 11", "DS_ERR_THREAD = 12"),
    ("py___init__", "    COND_SHARE = 3", "    COND_SHARE = 4"),
    ("py_distributed", "FAST = 1 ", "FAST = 2 "),
    ("rust_sys", "DS_MODEL_GATED = 13", "DS_MODEL_GATED = 12"),
    ("rust_safe", "EmaDecay = 8", "EmaDecay = 9"),
    ("rust_safe", "11 => Status::Thread", "12 => Status::Thread"),
    ("julia", "DS_MODEL_COND_SHARE = Int32.(0:3)", "DS_MODEL_COND_SHARE = Int32.(1:4)"),
]


def selftest(files):
    """Each mutation alone must be reported; returns the number that were not."""
    missed = 0
    for key, old, new in MUTATIONS:
        if files[key].count(old) != 1:
            print("selftest: %r not found once in %s; update MUTATIONS" % (old, key))
            missed += 1
            continue
        mutated = dict(files, **{key: files[key].replace(old, new)})
        found = check(mutated)
        print("selftest: %s with %r -> %s" % (key, new.strip(),
                                              found if found else "NOT DETECTED"))
        missed += not found
    return missed


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    files = read_files(sys.argv[1])
    problems = check(files)
    for p in problems:
        print(p)
    if problems:
        return 1
    print("%d enums, every value equal in Python, Rust (sys and safe crate) and Julia"
          % len(header_enums(files["header"])))
    if "--selftest" in sys.argv[2:]:
        return 1 if selftest(files) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
