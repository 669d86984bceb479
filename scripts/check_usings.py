"""The one house rule the build's analyzers do not check: each C# file's using directives are in the
order `dotnet format` puts them (.editorconfig: dotnet_sort_system_directives_first) — global ones
first, then plain ones with System and System.* before the rest, then `using static`, then aliases;
each group sorted by name, ignoring case first. `dotnet format --verify-no-changes` checks the same
but costs minutes of CPU (it analyses the whole solution again after the build already has).
Prints each file out of order with the order it should have; exits 1 if there is one."""
import os
import re
import sys

USING = re.compile(r"^(global\s+)?using\s+(static\s+)?(?:(\w+)\s*=\s*)?([\w.:<>, ]+?)\s*;\s*$")


def key(line):
    m = USING.match(line)
    is_global, is_static, alias, name = bool(m.group(1)), bool(m.group(2)), m.group(3), m.group(4)
    group = 0 if not is_static and alias is None else (1 if is_static else 2)
    sorted_name = alias if alias is not None else name
    system = 0 if group == 0 and (name == "System" or name.startswith("System.")) else 1
    return (0 if is_global else 1, group, system, sorted_name.lower(), sorted_name)


def check(path):
    usings = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            stripped = line.strip()
            if USING.match(stripped):
                usings.append(stripped)
            elif stripped and not stripped.startswith("//") and not stripped.startswith("#"):
                break  # the directives end where the code (namespace, attributes, types) begins
    expected = sorted(usings, key=key)
    return None if usings == expected else expected


def main(root):
    bad = 0
    for folder in ("src", "tests", "bench"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
            dirnames[:] = [d for d in dirnames if d not in ("bin", "obj", "node_modules")]
            for name in sorted(filenames):
                if name.endswith(".cs"):
                    path = os.path.join(dirpath, name)
                    expected = check(path)
                    if expected is not None:
                        bad += 1
                        print(f"{os.path.relpath(path, root)}: usings out of order; dotnet format would write:\n  " + "\n  ".join(expected))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
