#!/usr/bin/env python3
"""Compares two image descriptions from describe-image.py and prints each difference on a line:

    config.Env: kiln [...] reference [...]
    files: /path: kiln {...} reference {...}

Entries that only one side has because its builder leaves mount points in RUN layers (dev,
proc, sys, run, and the generated /etc files, as empty directories or files) are not
differences: BuildKit and buildah leave some of them, kiln removes them.
"""
import json
import sys

MOUNT_POINTS = {"dev", "proc", "sys", "run", "etc/hosts", "etc/resolv.conf", "etc/hostname"}


def is_mount_point_leftover(path, entry):
    return path in MOUNT_POINTS and (entry["kind"] == "dir" or entry.get("size") == 0)


def main():
    kiln = json.load(open(sys.argv[1]))
    reference = json.load(open(sys.argv[2]))
    for field, value in kiln["config"].items():
        other = reference["config"].get(field)
        if value != other:
            print(f"config.{field}: kiln {json.dumps(value)} reference {json.dumps(other)}")
    paths = sorted(set(kiln["files"]) | set(reference["files"]))
    for path in paths:
        ours, theirs = kiln["files"].get(path), reference["files"].get(path)
        if ours == theirs:
            continue
        if ours is None and is_mount_point_leftover(path, theirs):
            continue
        if theirs is None and is_mount_point_leftover(path, ours):
            continue
        print(f"files: /{path}: kiln {json.dumps(ours, sort_keys=True)} reference {json.dumps(theirs, sort_keys=True)}")


main()
