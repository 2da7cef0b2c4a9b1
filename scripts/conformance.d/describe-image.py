#!/usr/bin/env python3
"""Describes a saved image for scripts/conformance: its config and its final filesystem.

Usage: describe-image.py ARCHIVE|- INSPECT.json OUTPUT.json

ARCHIVE is a docker-archive tar (docker save, kiln save --format docker), or - for an image with
no layers. INSPECT.json is `docker image inspect` output, whose Config holds the runtime
defaults. The filesystem is the layers applied in order, with whiteouts and opaque markers, and
each entry described by kind, mode, owner, size, link target and SHA-256 (modification times
are left out: no two builds share them).
"""
import hashlib
import json
import sys
import tarfile

CONFIG_FIELDS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts", "Volumes",
                 "StopSignal", "Healthcheck", "Shell", "OnBuild"]


def apply_layer(files, layer):
    for member in layer.getmembers():
        name = member.name.lstrip("./").rstrip("/") if member.name not in (".", "./") else ""
        if not name:
            continue
        parent, _, base = name.rpartition("/")
        if base == ".wh..wh..opq":
            prefix = parent + "/" if parent else ""
            for path in [p for p in files if p.startswith(prefix) and p != parent]:
                del files[path]
            continue
        if base.startswith(".wh."):
            target = (parent + "/" if parent else "") + base[4:]
            for path in [p for p in files if p == target or p.startswith(target + "/")]:
                del files[path]
            continue
        if name in files and not (member.isdir() and files[name]["kind"] == "dir"):
            for path in [p for p in files if p == name or p.startswith(name + "/")]:
                del files[path]
        entry = {"mode": format(member.mode & 0o7777, "04o"), "uid": member.uid, "gid": member.gid}
        if member.isdir():
            entry["kind"] = "dir"
        elif member.issym():
            entry.update(kind="symlink", target=member.linkname)
        elif member.islnk():
            source = files.get(member.linkname.lstrip("./"), {})
            entry.update(kind="file", size=source.get("size"), sha256=source.get("sha256"))
        elif member.isfile():
            data = layer.extractfile(member).read()
            entry.update(kind="file", size=len(data), sha256=hashlib.sha256(data).hexdigest())
        else:
            entry.update(kind="node", device=f"{member.devmajor}:{member.devminor}")
        files[name] = entry


def main():
    archive, inspect_path, output = sys.argv[1:4]
    inspect = json.load(open(inspect_path))
    if isinstance(inspect, list):
        inspect = inspect[0]
    config = inspect.get("Config") or {}
    described = {"config": {field: config.get(field) or None for field in CONFIG_FIELDS}, "files": {}}
    if archive != "-":
        with tarfile.open(archive) as outer:
            manifest = json.load(outer.extractfile("manifest.json"))[0]
            for path in manifest["Layers"]:
                with tarfile.open(fileobj=outer.extractfile(path)) as layer:
                    apply_layer(described["files"], layer)
    json.dump(described, open(output, "w"), indent=1, sort_keys=True)


main()
