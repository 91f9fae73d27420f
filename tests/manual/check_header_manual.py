#!/usr/bin/python3
"""The header is the manual: every DS_API function of include/dsmooth.h is governed by a
comment that says since which version it exists ("Since X.Y"; a sub-section rule
"/* ---- ... since X.Y ---- */" on its own dates the functions under it), and every function that returns a
ds_status by one that lists its errors ("Errors"). The governing comment is the nearest
comment above the declaration with only declarations (of a group documented together) and
#defines in between.
Lifetimes: a constructor (ds_*_create*, ds_*_load) that is given another handle (a context,
model, smoother, denoiser or trainer) says what it does with it: keeps a pointer, which
must "outlive" the new handle, or holds a counted "reference" (contexts). One given an
options or configuration object says that it "copies" it (or that it "may be freed right
after"). A setter (ds_*_set_*) given a callback (a ds_*_fn) says how long the callback and
its user pointer must stay "valid".

    check_header_manual.py include/dsmooth.h
"""
import re
import sys


def items(text):
    """[(kind, text)] in order: 'comment' blocks and 'decl' statements, 'blank' lines and
    'other' lines (#define, typedef, enum bodies...)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.index("*/", i) + 2
            out.append(("comment", text[i:j]))
            i = j
        elif text.startswith("DS_API", i):
            j = text.index(";", i) + 1
            out.append(("decl", text[i:j]))
            i = j
        elif text[i] == "\n":
            # a blank line ends a group: the next declaration needs its own comment
            if i + 1 < n and text[i + 1] == "\n":
                out.append(("blank", ""))
            i += 1
        else:
            j = text.find("\n", i)
            j = n if j < 0 else j
            line = text[i:j]
            if "/*" in line:  # a comment after code on the same line belongs to that code
                k = line.index("/*")
                out.append(("other", line[:k]))
                i += k
                continue
            if line.strip():
                out.append(("other", line))
            i = j
    return out


SINCE = r"\bsince \d+\.\d+"


def section_since(seq, idx):
    """A sub-section rule "/* ---- ... since X.Y ... */" standing alone (a blank line after
    it) above the declaration, within its section (up to the last "/* ====" rule), dates
    every function under it."""
    for back in range(idx - 1, -1, -1):
        k, b = seq[back]
        if k == "comment" and b.startswith("/* ===="):
            return False
        standalone = back + 1 < len(seq) and seq[back + 1][0] == "blank"
        if k == "comment" and b.startswith("/* ----") and standalone and re.search(SINCE, b, re.I):
            return True
    return False


HANDLE_PARAM = r"\bds_(context|model|smoother|denoiser|trainer)\s*\*\s*\w+\s*[,)]"
OBJECT_PARAM = r"\bds_\w+_(config|options)\s*\*\s*\w+\s*[,)]"


def lifetime_problems(name, body, comment):
    """A constructor's comment states what happens to the handles and objects it is given."""
    if not re.match(r"ds_\w+_(create\w*|load)$", name):
        return []
    out = []
    if re.search(HANDLE_PARAM, body) and not re.search(r"\boutlive\b|\breference\b", comment):
        out.append("%s: takes another handle but does not say it must outlive the new one "
                   "(a kept pointer) or that it holds a reference to it" % name)
    if re.search(OBJECT_PARAM, body) and not re.search(r"\bcop(y|ies)\b|freed right after",
                                                       comment):
        out.append("%s: takes an options/configuration object but does not say it copies it"
                   % name)
    return out


def callback_problems(name, body, comment):
    """A setter that stores a callback says how long it (and its user pointer) must live."""
    if "_set_" in name and re.search(r"\bds_\w+_fn\s+\w+", body) and \
            not re.search(r"\bvalid\b", comment):
        return ["%s: keeps a callback but does not say how long it must stay valid" % name]
    return []


def main(path):
    text = open(path, encoding="utf-8").read()
    problems, count = [], 0
    seq = items(text)
    for idx, (kind, body) in enumerate(seq):
        if kind != "decl":
            continue
        count += 1
        name = re.search(r"\b(ds_\w+)\s*\(", body).group(1)
        comment = None
        for back in range(idx - 1, -1, -1):
            k, b = seq[back]
            if k == "comment":
                comment = b
                break
            if k == "decl" or (k == "other" and b.lstrip().startswith("#define")):
                continue
            break
        if comment is None:
            problems.append("%s: no comment above it" % name)
            continue
        if not re.search(SINCE, comment, re.I) and not section_since(seq, idx):
            problems.append("%s: its comment does not say since which version (Since X.Y)" % name)
        if re.match(r"DS_API\s+ds_status\b", body) and not re.search(r"\bErrors\b", comment):
            problems.append("%s: returns ds_status but its comment lists no Errors" % name)
        problems += lifetime_problems(name, body, comment)
        problems += callback_problems(name, body, comment)
    if count < 60:
        problems.append("only %d DS_API declarations found in %s" % (count, path))
    for p in problems:
        print(p)
    print("%d functions, %d problems" % (count, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
