"""Turns a build's compile commands into syntax-only checks against another LibTorch's headers.

    python3 tools/libtorch2_commands.py BUILD/compile_commands.json TORCH_INCLUDE SYSTEM_INCLUDE PCH_DIR

Prints one shell command per C++ translation unit that uses LibTorch (those given LibTorch's API include
folder), with LibTorch's headers taken from TORCH_INCLUDE, the system headers from SYSTEM_INCLUDE (the host's
/usr/include without its own LibTorch, so no header can silently come from the other version), and ATen.h
precompiled once in PCH_DIR. The first line builds that precompiled header.
"""
import json
import shlex
import sys

commands, torch_include, system_include, pch_dir = sys.argv[1:5]
api = "/usr/include/torch/csrc/api/include"
# The compiler's own and the C++ library's headers first, as the default order has them, then the other
# LibTorch, then the host's system headers.
headers = ["-nostdinc", "-isystem", "/usr/include/c++/12", "-isystem", "/usr/include/x86_64-linux-gnu/c++/12",
           "-isystem", "/usr/include/c++/12/backward", "-isystem", "/usr/lib/gcc/x86_64-linux-gnu/12/include",
           "-isystem", torch_include, "-isystem", torch_include + "/torch/csrc/api/include"]
system = ["-isystem", system_include, "-isystem", "/usr/include/x86_64-linux-gnu"]
common = ["-std=gnu++17", "-O2", "-DNDEBUG", "-w"]


def flags_of(args, file):
    """The command's -D and -I flags and its -isystem folders other than LibTorch's."""
    out = []
    it = iter(args[1:])
    for a in it:
        if a in ("-o", "-include"):
            next(it)
        elif a == "-isystem":
            folder = next(it)
            if folder != api:
                out += ["-isystem", folder]
        elif a.startswith(("-D", "-I")) and a != file:
            out.append(a)
    return out


units = {}
for entry in json.load(open(commands)):
    args = shlex.split(entry["command"])
    if entry["file"].endswith(".cpp") and api in args:
        units.setdefault(entry["file"], flags_of(args, entry["file"]))
if not units:
    sys.exit("no translation unit uses LibTorch in " + commands)


def line(words):
    return " ".join(shlex.quote(w) for w in words)


# LibTorch's own definitions (its ABI macro among them) must match between the header and its users.
torch_defs = [f for f in next(iter(units.values())) if f.startswith("-D") and "ATTNSCOPE" not in f]
print(line(["c++", "-x", "c++-header"] + headers + system + common + torch_defs +
           [pch_dir + "/ATen.h", "-o", pch_dir + "/ATen.h.gch"]))
for file, flags in sorted(units.items()):
    print(line(["c++", "-fsyntax-only", "-Winvalid-pch", "-include", pch_dir + "/ATen.h"] + headers + flags +
               system + common + [file]))
