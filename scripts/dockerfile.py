"""Reads the parts of the Dockerfile that scripts/prove-runtime-image.sh replays, so the proof
and the image cannot drift apart. Usage: dockerfile.py FIELD [STAGE]

  stage-packages STAGE   packages of the stage's `apt-get install` lines, one per line
  build-command          the `swift build` command of the build stage
  runtime-json           everything the runtime stage does, as JSON
  stage-json STAGE       the same for another stage; COPY from the build context is allowed there
"""
import json
import re
import shlex
import sys
from pathlib import Path


def instructions(path):
    """(keyword, argument) pairs with line continuations joined and comments dropped."""
    lines, current = [], ""
    for raw in Path(path).read_text().splitlines():
        if not current and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        keyword, _, argument = current.strip().partition(" ")
        lines.append((keyword.upper(), argument.strip()))
        current = ""
    return lines


def stages(path):
    result, name = {}, None
    for keyword, argument in instructions(path):
        if keyword == "FROM":
            parts = argument.split()
            name = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else parts[0]
            result[name] = {"from": parts[0], "steps": []}
        elif name:
            result[name]["steps"].append((keyword, argument))
    return result


def apt_packages(command):
    packages = []
    for part in command.split("&&"):
        words = shlex.split(part)
        if words[:2] == ["apt-get", "install"]:
            packages += [w for w in words[2:] if not w.startswith("-")]
    return packages


def main():
    path = Path(__file__).resolve().parents[1] / "Dockerfile"
    field = sys.argv[1]
    all_stages = stages(path)
    if field == "stage-packages":
        for keyword, argument in all_stages[sys.argv[2]]["steps"]:
            if keyword == "RUN":
                print("\n".join(apt_packages(argument)))
    elif field == "build-command":
        for keyword, argument in all_stages["build"]["steps"]:
            if keyword == "RUN" and "swift build" in argument:
                print(argument.split("&&")[0].strip())
                return
        sys.exit("no swift build in the build stage")
    elif field in ("runtime-json", "stage-json"):
        name = "runtime" if field == "runtime-json" else sys.argv[2]
        runtime = all_stages[name]
        out = {"from": runtime["from"], "run": [], "copy": [], "env": {}, "workdir": "/", "user": "root",
               "healthcheck": None, "entrypoint": [], "cmd": []}
        for keyword, argument in runtime["steps"]:
            if keyword == "RUN":
                out["run"].append(argument)
            elif keyword == "COPY":
                words = argument.split()
                if words[0].startswith("--from=build"):
                    out["copy"].append(words[1:])
                elif name != "runtime":
                    out.setdefault("context_copy", []).append(words)
                else:
                    sys.exit(f"COPY without --from=build is not replayed: {argument}")
            elif keyword == "ENV":
                for pair in shlex.split(argument):
                    key, _, value = pair.partition("=")
                    out["env"][key] = value
            elif keyword == "WORKDIR":
                out["workdir"] = argument
            elif keyword == "USER":
                out["user"] = argument
            elif keyword == "HEALTHCHECK":
                out["healthcheck"] = json.loads(re.search(r"CMD (\[.*\])", argument).group(1))
            elif keyword == "ENTRYPOINT":
                out["entrypoint"] = json.loads(argument)
            elif keyword == "CMD":
                out["cmd"] = json.loads(argument)
        print(json.dumps(out))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
